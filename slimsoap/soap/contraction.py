"""The one contraction p_l = (X_l W1_l)^T (X_l W2_l), packed (DESIGN §2-3).

Every compression is a :class:`~slimsoap.soap.compressions.maps.ChannelMap`; this
module never looks at which one. Packing stores, per l, the entries
``p_l[rows, cols] * scale`` of the block. Gradients are computed by
:mod:`slimsoap.soap.gradients` from the plans and projections made here.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import NamedTuple, Protocol, TypeVar

import numpy as np
import scipy.sparse as sp

from slimsoap._kernels.contraction import packed_values
from slimsoap._kernels.soap import scatter_rows
from slimsoap._runtime.threads import map_ranges, run_in_threads
from slimsoap.soap.compressions.maps import ChannelMap
from slimsoap.soap.expansion import coefficient_blocks
from slimsoap.soap.gradients.plan import GradientPlan, build_plan
from slimsoap.soap.panels import value_arrays

#: Restricted maps kept per contraction (one per set of species present).
_MAX_RESTRICTED = 4096
#: Gradient plans kept per contraction (one per set of species and layout).
_MAX_GRADIENT_PLANS = 256


class CoefficientSource(Protocol):
    """Coefficients computed range by range (e.g.
    :class:`~slimsoap.soap.expansion.CoefficientStream`)."""

    def __len__(self) -> int: ...

    def ranges(self) -> np.ndarray:
        """Bounds (k+1,) of the centre ranges to compute."""

    def present(self) -> np.ndarray:
        """(n, S') bool superset of the non-zero channel slots of each centre."""

    def coefficients(self, first: int, stop: int) -> np.ndarray:
        """(stop - first, S', N, (L+1)²) coefficients of centres first:stop."""

    def blocks(self, first: int, stop: int, reuse: bool = False) -> list[np.ndarray]:
        """Per l, (stop - first, 2l+1, S'·N) C-contiguous X_l of centres first:stop (with
        ``reuse``, valid until the calling thread's next such call)."""


class Contraction:
    """Contracts coefficients c (n, S, N, (L+1)²) into packed descriptors with a ChannelMap.

    N here is ``maps.n_radial`` (the element basis, plus a second basis for ``nu1mustar1``).
    """

    def __init__(self, maps: ChannelMap, n_species: int, n_max: int, l_max: int):
        if n_max != maps.n_radial:
            raise ValueError(f"channel maps act on {maps.n_radial} radial functions, not {n_max}")
        self.maps = maps
        self.S, self.N, self.L = n_species, n_max, l_max
        self.starts = np.concatenate([[0], np.cumsum([b.size for b in maps.blocks])])
        self.n_features = int(self.starts[-1])
        self._lookup = [None] * (l_max + 1)  # per l: (K1, K2) packed column or -1, for sparse
        # built on demand, owned by this contraction (dropped with it), bounded
        self._restricted: dict[tuple[int, ...], Restricted] = {}
        self._gradient_plans: dict[tuple[tuple[int, ...], bool], GradientPlan] = {}
        #: the blocks packed for the values kernel
        self.value_arrays = value_arrays(maps.blocks, n_species * n_max)

    @staticmethod
    def _project(w: np.ndarray | None, xt: np.ndarray) -> np.ndarray:
        """(X W)^T as (..., K, 2l+1) from X^T (..., C, 2l+1)."""
        return xt if w is None else np.matmul(w.T, xt)

    def _blocks(self, c: np.ndarray | list[np.ndarray]) -> tuple[np.ndarray, ...]:
        """Per l, C-contiguous X_l (n, 2l+1, S·N) of coefficients (n, S, N, (L+1)²), or the
        blocks themselves when given as such."""
        if isinstance(c, list):
            return tuple(c)
        return coefficient_blocks(c, self.L)

    def values(
        self,
        c: np.ndarray | list[np.ndarray],
        dtype=np.float64,
        out: np.ndarray | None = None,
        split: bool = True,
    ) -> np.ndarray:
        """Packed descriptors (n, n_features) of coefficients c (n, S, N, (L+1)²), or of
        their per-l blocks X_l (n, 2l+1, S·N) (a list, as
        :meth:`~slimsoap.soap.expansion.CoefficientStream.blocks` gives them).

        Written into ``out`` (n, n_features) when given, else into a new array. With
        ``split`` the kernel's centres are shared out over the kernel threads, else it runs
        in the calling thread (inside :meth:`values_from`'s ranges).
        """
        n = len(c[0]) if isinstance(c, list) else len(c)
        if out is None:
            out = np.empty((n, self.n_features), dtype=dtype)
        args = (self._blocks(c), self.value_arrays, out)
        if split:
            run_in_threads(packed_values, args, np.arange(n + 1))
        else:
            packed_values(*args, 0, n)
        return out

    def values_from(self, source: CoefficientSource, out: np.ndarray) -> np.ndarray:
        """:meth:`values` of every centre of ``source`` into ``out`` (n, n_features), one
        range of centres at a time, ranges spread over the kernel threads: only a range's
        coefficients are held at once. The numbers do not depend on the ranges."""

        def work(first: int, stop: int) -> None:
            # the blocks are contracted before this thread expands its next range
            self.values(source.blocks(first, stop, True), out.dtype, out[first:stop], False)

        map_ranges(work, source.ranges())
        return out

    def sparse_values_from(
        self, source: CoefficientSource, slot_species: np.ndarray, dtype=np.float64
    ) -> sp.csr_matrix:
        """:meth:`sparse_values` of every centre of ``source`` (coefficients over the
        channel slots ``slot_species``), written range by range straight into the CSR
        arrays: they are sized up front from ``source.present()`` and trimmed in place
        when a block that could be non-zero turns out zero, so the peak memory is the
        output's plus one range's work. Same numbers and structure as
        :meth:`sparse_values`."""
        n = len(source)
        bound = np.zeros((n, self.S), dtype=bool)
        bound[:, slot_species] = source.present()
        keys, inverse = np.unique(bound, axis=0, return_inverse=True)
        widths = np.array([len(self._row_layout(k)[0]) for k in keys], dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(widths[inverse.ravel()])])
        index_dtype = np.int32 if max(start[-1], self.n_features) < 2**31 else np.int64
        data = np.empty(int(start[-1]), dtype=dtype)
        indices = np.empty(int(start[-1]), dtype=index_dtype)
        written = np.zeros(n, dtype=np.int64)

        def work(first: int, stop: int) -> None:
            c = source.coefficients(first, stop)
            present = np.zeros((stop - first, self.S), dtype=bool)
            present[:, slot_species] = np.any(c != 0, axis=(2, 3))
            ks, inv = np.unique(present, axis=0, return_inverse=True)
            for g, key in enumerate(ks):
                if not key.any():
                    continue
                members = np.flatnonzero(inv.ravel() == g)
                columns, positions = self._row_layout(key)
                species = np.flatnonzero(key)
                cg = c[members][:, np.searchsorted(slot_species, species)]
                starts = start[first + members]
                e0 = 0
                for values in self._restricted_blocks(cg, species):
                    scatter_rows(values, starts, positions[e0 : e0 + values.shape[1]], data)
                    e0 += values.shape[1]
                width = len(columns)
                all_columns = np.broadcast_to(columns, (len(members), width))
                scatter_rows(all_columns, starts, np.arange(width), indices)
                written[first + members] = width

        map_ranges(work, source.ranges())
        if np.any(written != np.diff(start)):  # a block that could be non-zero was zero
            k = 0
            for i in range(n):
                a, w = int(start[i]), int(written[i])
                data[k : k + w] = data[a : a + w]
                indices[k : k + w] = indices[a : a + w]
                k += w
            data.resize(k, refcheck=False)
            indices.resize(k, refcheck=False)
        indptr = np.concatenate([[0], np.cumsum(written)]).astype(index_dtype)
        return sp.csr_matrix((data, indices, indptr), shape=(n, self.n_features))

    def _row_layout(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For a set of species (bool key over S): the global packed columns (ascending)
        of its stored entries, and the position in that order of each restricted entry
        (blocks concatenated)."""
        species = tuple(np.flatnonzero(key).tolist())
        if not species:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        columns = self.restricted(species).columns
        order = np.argsort(columns, kind="stable")
        positions = np.empty_like(order)
        positions[order] = np.arange(len(order))
        return columns[order], positions

    def _restricted_blocks(self, cg: np.ndarray, species: np.ndarray):
        """Per l, (n_g, F'_l) stored entries of coefficients cg (n_g, S_env, N, (L+1)²)
        over the species ``species`` (their channels only)."""
        plan = self.restricted(tuple(species.tolist()))
        for l, b in enumerate(plan.blocks):
            # contiguous: NumPy's stacked product of a strided operand rounded an
            # environment differently with the number of environments beside it
            xt = np.ascontiguousarray(cg[..., l * l : (l + 1) ** 2].reshape(len(cg), -1, 2 * l + 1))
            y1 = self._project(b.w1, xt)
            y2 = y1 if b.symmetric else self._project(b.w2, xt)
            p = np.matmul(y1, y2.transpose(0, 2, 1))
            yield p[:, b.keep] * b.scale

    def sparse_values(
        self, parts: list[tuple[np.ndarray, np.ndarray]], dtype=np.float64
    ) -> sp.csr_matrix:
        """Packed descriptors of the rows of ``parts`` as CSR, never forming a dense row.

        Args:
            parts: (c, slot_species) per frame: coefficients (n_f, S_f, N, (L+1)²) over
                the S_f species channels ``slot_species`` (ascending species indices), e.g.
                only the species present in the frame.

        Environments are grouped by the species present (non-zero coefficient blocks). Per
        group and l, X_l keeps only the present species' columns and each map only its rows
        for them, and the channels it can reach; the small block is contracted and its
        entries scattered to their global packed columns. Work and memory per environment
        scale with the species present, not with S.
        """
        present = []
        for c, slots in parts:
            key = np.zeros((len(c), self.S), dtype=bool)
            key[:, slots] = np.any(c != 0, axis=(2, 3))
            present.append(key)
        present = np.concatenate(present)
        n = len(present)
        bounds = np.cumsum([0] + [len(c) for c, _ in parts])
        keys, inverse = np.unique(present, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        rows_out, cols_out, data_out = [], [], []
        for g, key in enumerate(keys):
            members = np.flatnonzero(inverse == g)
            species = tuple(np.flatnonzero(key).tolist())
            if len(species) == 0:
                continue
            pieces = []
            for k, (c, slots) in enumerate(parts):
                rows = members[(members >= bounds[k]) & (members < bounds[k + 1])] - bounds[k]
                if len(rows):
                    pieces.append(c[rows][:, np.searchsorted(slots, species)])
            cg = np.concatenate(pieces)  # (n_g, S_env, N, (L+1)²)
            cols = self.restricted(species).columns
            rows_out.append(np.repeat(members, len(cols)))
            cols_out.append(np.tile(cols, len(members)))
            x = np.concatenate(list(self._restricted_blocks(cg, np.array(species))), axis=1)
            data_out.append(x.astype(dtype).ravel())
        if not rows_out:
            return sp.csr_matrix((n, self.n_features), dtype=dtype)
        out = sp.coo_matrix(
            (np.concatenate(data_out), (np.concatenate(rows_out), np.concatenate(cols_out))),
            shape=(n, self.n_features),
        ).tocsr()
        out.sort_indices()
        return out

    def restricted(self, species: tuple[int, ...]) -> Restricted:
        """Maps restricted to the channels of ``species`` (ascending species indices) and
        the global packed columns of their stored entries; cached on this contraction."""
        return _cached(self._restricted, species, _MAX_RESTRICTED, lambda: self._restrict(species))

    def _restrict(self, species: tuple[int, ...]) -> Restricted:
        radial = np.arange(self.N)
        xcols = (np.array(species)[:, None] * self.N + radial[None, :]).ravel()
        blocks, cols = [], []
        for l, block in enumerate(self.maps.blocks):
            a1, w1 = _restrict(block.w1, xcols)
            if block.symmetric:
                a2, w2 = a1, w1
            else:
                a2, w2 = _restrict(block.w2, xcols)
            index, scale = self._lookup_table(l)
            sub = index[np.ix_(a1, a2)]
            keep = sub >= 0
            blocks.append(
                RestrictedBlock(w1, w2, block.symmetric, keep, scale[np.ix_(a1, a2)][keep])
            )
            cols.append(sub[keep])
        return Restricted(tuple(blocks), np.concatenate(cols))

    def _lookup_table(self, l: int) -> tuple[np.ndarray, np.ndarray]:
        """(K1, K2) global packed column of each block entry (-1: not stored) and scale."""
        if self._lookup[l] is None:
            block = self.maps.blocks[l]
            k1, k2 = block.widths()
            index = np.full((k1, k2), -1, dtype=np.int64)
            scale = np.zeros((k1, k2))
            index[block.rows, block.cols] = self.starts[l] + np.arange(block.size)
            scale[block.rows, block.cols] = block.scale
            self._lookup[l] = (index, scale)
        return self._lookup[l]

    def gradient_plan(self, species: tuple[int, ...], sparse: bool) -> GradientPlan:
        """The blocks restricted to coefficients over the channels of ``species``, with the
        tables of a dense (``sparse`` False) or species-block sparse output layout.

        ``species`` are the (ascending) species of the coefficients' channel slots: all S
        for dense output, those of one frame for block-sparse output. Restricted entry t
        (blocks concatenated over l) is global packed column ``plan.columns[t]``. Cached
        on this contraction.
        """
        key = (species, bool(sparse))

        def build():
            r = self.restricted(species)
            return build_plan(r.blocks, r.columns, len(species), self.N, bool(sparse))

        return _cached(self._gradient_plans, key, _MAX_GRADIENT_PLANS, build)

    def gradient_inputs(
        self, c: np.ndarray, plan: GradientPlan
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Descriptors over a plan's entries and the projections its gradients read.

        Args:
            c: (n, S', N, (L+1)²) coefficients over the plan's species slots.
            plan: from :meth:`gradient_plan` for those slots.

        Returns:
            values (n, F'): the descriptors over the plan's restricted entries (global
            columns ``plan.columns``); y1t (n, (L+1)², K1max) and y2t (n, (L+1)², K2max):
            (X_l W1_l)^T and (X_l W2_l)^T of every l side by side, zero past each l's width.
        """
        w1, w2 = plan.arrays.w1, plan.arrays.w2
        y1t = np.zeros((c.shape[0], (self.L + 1) ** 2, w1.shape[2]))
        y2t = np.zeros((c.shape[0], (self.L + 1) ** 2, w2.shape[2]))
        values = np.empty((c.shape[0], plan.n_entries))
        for l, block in enumerate(plan.blocks):
            xt = c[..., l * l : (l + 1) ** 2].reshape(c.shape[0], -1, 2 * l + 1)
            y1 = self._project(block.w1, xt)
            y1t[:, l * l : (l + 1) ** 2, : y1.shape[1]] = y1.transpose(0, 2, 1)
            y2 = y1 if block.symmetric else self._project(block.w2, xt)
            y2t[:, l * l : (l + 1) ** 2, : y2.shape[1]] = y2.transpose(0, 2, 1)
        args = (coefficient_blocks(c, self.L), plan.values, values)
        run_in_threads(packed_values, args, np.arange(len(c) + 1))
        return values, y1t, y2t


class RestrictedBlock(NamedTuple):
    """One l of a map pair restricted to some species' channels.

    Attributes:
        w1, w2: (S'·N, K1'), (S'·N, K2') the maps' rows for those channels and the columns
            they reach (None: identity); w2 is w1 for a symmetric block.
        symmetric: the block is (X W1)^T (X W1).
        keep: (K1', K2') bool mask of the stored entries of the small block.
        scale: (F_l,) their packing scale.
    """

    w1: np.ndarray | None
    w2: np.ndarray | None
    symmetric: bool
    keep: np.ndarray
    scale: np.ndarray


class Restricted(NamedTuple):
    """:class:`RestrictedBlock` per l and the global packed column (F',) of every stored
    entry, blocks concatenated, for one set of species."""

    blocks: tuple[RestrictedBlock, ...]
    columns: np.ndarray


_T = TypeVar("_T")


def _cached(cache: dict, key: Hashable, maxsize: int, build: Callable[[], _T]) -> _T:
    """``cache[key]``, built on a miss; the oldest entry goes when ``maxsize`` is reached.

    Safe when threads share a calculator: a value may then be built twice (the same one),
    and nothing is locked (calculators stay picklable).
    """
    value = cache.get(key)
    if value is None:
        value = build()
        if len(cache) >= maxsize:
            try:
                cache.pop(next(iter(cache)), None)
            except (StopIteration, RuntimeError):  # emptied or resized by another thread
                pass
        cache[key] = value
    return value


def _restrict(w: np.ndarray | None, xcols: np.ndarray):
    """Channels reachable from the columns ``xcols`` of X, and the map restricted to them."""
    if w is None:
        return xcols, None
    wr = w[xcols]
    active = np.flatnonzero(np.any(wr != 0, axis=0))
    return active, wr[:, active]
