"""The one contraction p_l = (X_l W1_l)^T (X_l W2_l), packed, and its gradients (DESIGN §2-3).

Every compression is a :class:`~slimsoap.channels.ChannelMap`; this module never looks at
which one. Packing stores, per l, the entries ``p_l[rows, cols] * scale`` of the block.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from slimsoap._kernels.soap import packed_entries, pair_gradients
from slimsoap._runtime.threads import run_in_threads
from slimsoap.soap.compressions.maps import ChannelMap
from slimsoap.soap.expansion import Expansion


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

    def _x(self, c: np.ndarray, l: int) -> np.ndarray:
        """X_l^T as (n, S·N, 2l+1)."""
        return c[..., l * l : (l + 1) ** 2].reshape(c.shape[0], self.S * self.N, 2 * l + 1)

    @staticmethod
    def _project(w: np.ndarray | None, xt: np.ndarray) -> np.ndarray:
        """(X W)^T as (..., K, 2l+1) from X^T (..., C, 2l+1)."""
        return xt if w is None else np.matmul(w.T, xt)

    def _projected(self, c: np.ndarray, l: int) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous (X_l W1)^T, (X_l W2)^T of every centre, (n, K1, 2l+1), (n, K2, 2l+1)."""
        block = self.maps.blocks[l]
        xt = self._x(c, l)
        y1 = np.ascontiguousarray(self._project(block.w1, xt))
        y2 = y1 if block.symmetric else np.ascontiguousarray(self._project(block.w2, xt))
        return y1, y2

    def values(self, c: np.ndarray, dtype=np.float64, out: np.ndarray | None = None) -> np.ndarray:
        """Packed descriptors (n, n_features) of coefficients c (n, S, N, (L+1)²).

        Written into ``out`` (n, n_features) when given, else into a new array.
        """
        if out is None:
            out = np.empty((c.shape[0], self.n_features), dtype=dtype)
        for l, block in enumerate(self.maps.blocks):
            y1, y2 = self._projected(c, l)
            args = (y1, y2, block.rows, block.cols, block.scale, out, int(self.starts[l]))
            run_in_threads(packed_entries, args, np.arange(len(c) + 1))
        return out

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
            gdata = []
            plan = self._plan(species)
            for l, (w1, w2, keep, scale) in enumerate(plan.blocks):
                xt = cg[..., l * l : (l + 1) ** 2].reshape(len(members), -1, 2 * l + 1)
                y1 = self._project(w1, xt)
                y2 = y1 if w2 is _SAME else self._project(w2, xt)
                p = np.matmul(y1, y2.transpose(0, 2, 1))
                gdata.append(p[:, keep] * scale)
            cols = plan.cols
            rows_out.append(np.repeat(members, len(cols)))
            cols_out.append(np.tile(cols, len(members)))
            data_out.append(np.concatenate(gdata, axis=1).astype(dtype).ravel())
        if not rows_out:
            return sp.csr_matrix((n, self.n_features), dtype=dtype)
        out = sp.coo_matrix(
            (np.concatenate(data_out), (np.concatenate(rows_out), np.concatenate(cols_out))),
            shape=(n, self.n_features),
        ).tocsr()
        out.sort_indices()
        return out

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one cache per calculator is intended)
    def _plan(self, species: tuple[int, ...]) -> _SparsePlan:
        """Restricted maps and global columns for environments holding ``species``."""
        radial = np.arange(self.N)
        xcols = (np.array(species)[:, None] * self.N + radial[None, :]).ravel()
        blocks, cols = [], []
        for l, block in enumerate(self.maps.blocks):
            a1, w1 = _restrict(block.w1, xcols)
            if block.symmetric:
                a2, w2 = a1, _SAME
            else:
                a2, w2 = _restrict(block.w2, xcols)
            index, scale = self._lookup_table(l)
            sub = index[np.ix_(a1, a2)]
            keep = sub >= 0
            blocks.append((w1, w2, keep, scale[np.ix_(a1, a2)][keep]))
            cols.append(sub[keep])
        return _SparsePlan(blocks, np.concatenate(cols))

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

    @functools.lru_cache(maxsize=256)  # noqa: B019 (one cache per calculator is intended)
    def gradient_plan(self, species: tuple[int, ...]) -> GradientPlan:
        """The blocks restricted to coefficients over the channels of ``species``, for gradients.

        ``species`` are the (ascending) species of the coefficients' channel slots: all S
        for dense output, those of one frame for block-sparse output. Restricted entry t
        (blocks concatenated over l) is global packed column ``plan.columns[t]``.
        """
        plan = self._plan(species)
        blocks, col0 = [], 0
        for w1, w2, keep, scale in plan.blocks:
            rows, cols = np.nonzero(keep)
            symmetric = w2 is _SAME
            w2 = w1 if symmetric else w2
            touch = _touched_entries(rows, cols, w1 is None, w2 is None, len(species), self.N)
            blocks.append(
                GradientBlock(
                    w1,
                    w2,
                    symmetric,
                    rows.astype(np.int64),
                    cols.astype(np.int64),
                    np.ascontiguousarray(scale, dtype=np.float64),
                    *touch,
                    col0,
                )
            )
            col0 += len(rows)
        return GradientPlan(blocks, plan.cols, len(species), self.N)

    def add_gradients(
        self, c: np.ndarray, exp: Expansion, plan: GradientPlan, layout
    ) -> np.ndarray:
        """Write ∂p_i/∂r_j of every pair (and the centres' own, and strain) into ``layout``.

        Args:
            c: (n, S', N, (L+1)²) coefficients over the plan's species slots.
            exp: the frame's expansion with gradient factors (pair slots as in ``c``).
            plan: from :meth:`gradient_plan` for those slots.
            layout: a :class:`~slimsoap.sparse_gradients.FrameLayout`; its ``out`` must be
                zero-initialised (gradients accumulate into it); ``strain``, if any, is
                overwritten.

        Returns:
            (n, F') the descriptors over the plan's restricted entries (global columns
            ``plan.columns``), from the same projections.

        The work per pair follows N (the neighbour's channels), not S·N, and, for maps that
        keep species apart, the stored entries per pair follow 1/S of the block.
        """
        nl = exp.neighbours
        units = nl.vectors / nl.distances[:, None]
        k = plan.kernel_arrays()
        y1t = np.zeros((c.shape[0], (self.L + 1) ** 2, k["w1"].shape[2]))
        y2t = np.zeros((c.shape[0], (self.L + 1) ** 2, k["w2"].shape[2]))
        values = np.empty((c.shape[0], plan.n_entries))
        for l, block in enumerate(plan.blocks):
            xt = c[..., l * l : (l + 1) ** 2].reshape(c.shape[0], -1, 2 * l + 1)
            y1 = np.ascontiguousarray(self._project(block.w1, xt))
            y1t[:, l * l : (l + 1) ** 2, : y1.shape[1]] = y1.transpose(0, 2, 1)
            y2 = y1 if block.symmetric else np.ascontiguousarray(self._project(block.w2, xt))
            y2t[:, l * l : (l + 1) ** 2, : y2.shape[1]] = y2.transpose(0, 2, 1)
            args = (y1, y2, block.rows, block.cols, block.scale, values, block.col0)
            run_in_threads(packed_entries, args, np.arange(len(c) + 1))
        lay, tab = layout, layout.tables
        args = (
            nl.offsets, exp.pair_species, units, nl.vectors, exp.radial_terms,
            exp.angular_terms, y1t, y2t, k["k1"], k["k2"], k["w1"], k["w2"],
            k["w1_id"], k["w2_id"], k["symmetric"], k["rows"], k["cols"],
            k["scale"], k["col0"], k["touch_ptr"], k["touch_idx"], k["touch_scale"],
            k["gather"], lay.pair_entry, lay.centre_entry, lay.entry_base, lay.entry_pattern,
            tab.widths, tab.local, tab.n_direct, tab.seg_ptr, tab.segments,
            lay.out, lay.strain, lay.strain_base, lay.strain.size > 0,
        )  # fmt: skip
        run_in_threads(pair_gradients, args, nl.offsets)
        return values


def _touched_entries(
    rows: np.ndarray, cols: np.ndarray, w1_id: bool, w2_id: bool, n_slots: int, n_max: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stored entries a neighbour in each channel slot can change, as CSR over slots.

    Moving a neighbour of slot β changes only X's columns of β, so through an identity
    map only the channels of β; a projected map (W ≠ I) can spread it to every channel.
    Returns (ptr (S'+1,), idx): entries of β are idx[ptr[β]:ptr[β+1]], ascending.
    """
    lists = []
    for beta in range(n_slots):
        rows_hit = (not w1_id) | (rows // n_max == beta)
        cols_hit = (not w2_id) | (cols // n_max == beta)
        lists.append(np.flatnonzero(np.broadcast_to(rows_hit | cols_hit, rows.shape)))
    ptr = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
    return ptr, np.concatenate(lists).astype(np.int64)


def _gather(block: GradientBlock, k1: int, k2: int, n_slots: int, n_max: int) -> np.ndarray:
    """(2, T) indices of a block's touched entries into the kernel's flat workspace of one
    direction; entry t is W[gather[0, t]] + W[gather[1, t]].

    Symmetric identity blocks: W = [A (N × C) | A^T (C × N) | 0], A = ∂X_β^T X over the C
    channels, so p[r, c] = A[r-c0, c] (r in β) + A^T[r, c-c0] (c in β), a missing term
    reading the zero at 2·N·C (both terms then run with unit steps along a packed row).
    Any other block: W = [M1 | M2], each (k1, k2) row-major (the widest block's widths),
    p[r, c] = M1[r, c] + M1[c, r] (symmetric) or M1[r, c] + M2[r, c].
    """
    r, c = block.rows[block.touch_idx], block.cols[block.touch_idx]
    if block.symmetric and block.w1 is None:
        width = n_slots * n_max
        nk, beta = n_max * width, np.repeat(np.arange(n_slots), np.diff(block.touch_ptr))
        c0 = beta * n_max
        first = np.where(r // n_max == beta, (r - c0) * width + c, 2 * nk)
        second = np.where(c // n_max == beta, nk + r * n_max + (c - c0), 2 * nk)
    else:
        first = r * k2 + c
        second = c * k2 + r if block.symmetric else 3 * k1 * k2 + r * k2 + c
    return np.stack([first, second]).astype(np.int64)


@dataclass
class GradientBlock:
    """One l of a :class:`GradientPlan`: maps (None = identity), stored entries (rows, cols
    of the (K1, K2) block, scale), entries touched per slot (CSR) and the block's first
    entry."""

    w1: np.ndarray | None
    w2: np.ndarray | None
    symmetric: bool
    rows: np.ndarray
    cols: np.ndarray
    scale: np.ndarray
    touch_ptr: np.ndarray
    touch_idx: np.ndarray
    col0: int


@dataclass
class GradientPlan:
    """Blocks restricted to some species' channels; ``columns`` (F',) global packed column
    of each restricted entry; ``n_slots`` species channels."""

    blocks: list[GradientBlock]
    columns: np.ndarray
    n_slots: int
    n_radial: int
    #: tables derived from the plan (kernel arrays, output layouts), by key
    derived: dict = field(default_factory=dict)

    @property
    def n_entries(self) -> int:
        """F', restricted entries over all l."""
        return len(self.columns)

    def touched(self, slot: int) -> np.ndarray:
        """Restricted entries (ascending) that a neighbour in ``slot`` can change."""
        return np.concatenate(
            [b.col0 + b.touch_idx[b.touch_ptr[slot] : b.touch_ptr[slot + 1]] for b in self.blocks]
        )

    def kernel_arrays(self) -> dict[str, np.ndarray]:
        """The blocks of every l packed for ``pair_gradients``: maps padded to the widest
        block, entries concatenated (entry e of l is col0[l] + e), touched entries per
        (l, slot) as CSR with their gather indices."""
        if "kernel" not in self.derived:
            self.derived["kernel"] = self._pack()
        return self.derived["kernel"]

    def _pack(self) -> dict[str, np.ndarray]:
        blocks, L1 = self.blocks, len(self.blocks)
        channels = self.n_slots * self.n_radial
        k1 = np.array([channels if b.w1 is None else b.w1.shape[1] for b in blocks])
        k2 = np.array([channels if b.w2 is None else b.w2.shape[1] for b in blocks])
        maps = {}
        for name, widths in (("w1", k1), ("w2", k2)):
            w = np.zeros((L1, channels, int(widths.max())))
            for l, b in enumerate(blocks):
                m = getattr(b, name)
                if m is not None:
                    w[l, :, : m.shape[1]] = m
            maps[name] = w
        touch_ptr = np.zeros((L1, self.n_slots + 1), dtype=np.int64)
        start = 0
        for l, b in enumerate(blocks):
            touch_ptr[l] = start + b.touch_ptr
            start += len(b.touch_idx)
        return dict(
            k1=k1,
            k2=k2,
            **maps,
            w1_id=np.array([b.w1 is None for b in blocks]),
            w2_id=np.array([b.w2 is None for b in blocks]),
            symmetric=np.array([b.symmetric for b in blocks]),
            rows=np.concatenate([b.rows for b in blocks]),
            cols=np.concatenate([b.cols for b in blocks]),
            scale=np.concatenate([b.scale for b in blocks]),
            col0=np.array([b.col0 for b in blocks] + [self.n_entries], dtype=np.int64),
            touch_ptr=touch_ptr,
            touch_idx=np.concatenate([b.col0 + b.touch_idx for b in blocks]),
            touch_scale=np.concatenate([b.scale[b.touch_idx] for b in blocks]),
            gather=np.concatenate(
                [_gather(b, int(k1.max()), int(k2.max()), self.n_slots, self.n_radial)
                 for b in blocks], axis=1),
        )  # fmt: skip


#: Marks a symmetric block's second map as the first one.
_SAME = object()


@dataclass
class _SparsePlan:
    """Per-l (W1 and W2 restricted to the present species' rows and reachable channels,
    mask of the stored entries of the small block, their scale) and the global packed
    column of every stored entry, for one set of present species."""

    blocks: list
    cols: np.ndarray


def _restrict(w: np.ndarray | None, xcols: np.ndarray):
    """Channels reachable from the columns ``xcols`` of X, and the map restricted to them."""
    if w is None:
        return xcols, None
    wr = w[xcols]
    active = np.flatnonzero(np.any(wr != 0, axis=0))
    return active, wr[:, active]
