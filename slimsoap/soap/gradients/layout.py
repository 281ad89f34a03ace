"""Gradient output layouts: dense pair rows, or species-block sparse pair rows.

A neighbour j of species β moves only the density channels of β, so through maps that keep
species apart (ν=2, ν,μ=1,1, embeddings per element, ...) ∂x_i/∂r_j is non-zero only in
the entries whose channels involve β: for ν=2 with S species about 2/S of them. The
block-sparse layout stores, per (row, atom) entry, only the columns its pattern can reach:
the neighbour's species pattern, or, for the centre's own entry, every entry of the species
present in the frame. It is exact (no thresholding) and costs no more memory than the
non-zero blocks themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from slimsoap.soap.contraction import GradientPlan
from slimsoap.systems.neighbours import NeighbourList

#: Entries gathered at once when SparseGradients are read or multiplied.
_GROUP_ENTRIES = 2048


class SparseGradients:
    """Gradients stored per entry as a dense block over the entry's pattern of columns.

    Entry p holds ``inner + (len(columns[pattern[p]]),)`` values, C order, at
    ``data[start[p]:]``; column t of the block is global feature ``columns[pattern[p]][t]``
    and every other feature of the entry is exactly zero.

    Behaves like the dense ``(n_entries, *inner, n_features)`` array where it is read:
    ``len``, ``shape``, ``dtype``, indexing by an int, a slice or an integer array returns
    the dense rows; ``np.asarray`` densifies all of it (use with care).

    Attributes:
        data: flat float array of every block.
        start: (n_entries,) int64 offset of each block in ``data``.
        pattern: (n_entries,) int32 pattern of each entry.
        columns: per pattern, the global feature columns it stores, in stored order.
        n_features: width of the dense rows.
        inner: (3,) for position gradients, (3, 3) for strain gradients.
    """

    def __init__(
        self,
        data: np.ndarray,
        start: np.ndarray,
        pattern: np.ndarray,
        columns: list[np.ndarray],
        n_features: int,
        inner: tuple[int, ...] = (3,),
    ):
        self.data, self.start, self.pattern = data, start, pattern
        self.columns, self.n_features, self.inner = columns, int(n_features), tuple(inner)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the dense array this stands for."""
        return (len(self.start), *self.inner, self.n_features)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def nbytes(self) -> int:
        """Bytes of values and indices held."""
        return int(
            self.data.nbytes
            + self.start.nbytes
            + self.pattern.nbytes
            + sum(c.nbytes for c in self.columns)
        )

    def __len__(self) -> int:
        return len(self.start)

    def _groups(self, index: np.ndarray):
        """(positions in index, pattern, values (n, *inner, width)) per pattern present, in
        chunks of at most ``_GROUP_ENTRIES`` entries (bounds the temporaries)."""
        k_inner = int(np.prod(self.inner))
        pats = self.pattern[index]
        for k in np.unique(pats):
            width = len(self.columns[k])
            every = np.flatnonzero(pats == k)
            for a in range(0, len(every), _GROUP_ENTRIES):
                where = every[a : a + _GROUP_ENTRIES]
                flat = self.start[index[where]][:, None] + np.arange(k_inner * width)
                yield where, k, self.data[flat].reshape(len(where), *self.inner, width)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self[np.array([key])][0]
        if isinstance(key, slice):
            index = np.arange(len(self))[key]
        else:
            index = np.asarray(key)
            if index.dtype == bool:
                index = np.flatnonzero(index)
            index = np.arange(len(self))[index]  # bounds and negative indices
        out = np.zeros((len(index), *self.inner, self.n_features), dtype=self.dtype)
        for where, k, values in self._groups(index):
            out[where[:, None], ..., self.columns[k][None, :]] = np.moveaxis(values, -1, 1)
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def dot(self, vectors: np.ndarray) -> np.ndarray:
        """Σ_f g[p, ..., f] vectors[p, f] for every entry: ``(n_entries, *inner)``.

        Args:
            vectors: (n_entries, n_features), one vector per entry (e.g. ∂E_i/∂x_i of the
                entry's row).
        """
        if vectors.shape != (len(self), self.n_features):
            raise ValueError(f"vectors must have shape {(len(self), self.n_features)}")
        out = np.zeros((len(self), *self.inner))
        for where, k, values in self._groups(np.arange(len(self))):
            out[where] = np.einsum("p...f,pf->p...", values, vectors[where][:, self.columns[k]])
        return out

    def tocsr(self) -> sp.csr_matrix:
        """The dense array as CSR of shape (n_entries·prod(inner), n_features)."""
        k_inner = int(np.prod(self.inner))
        widths = np.array([len(c) for c in self.columns], dtype=np.int64)[self.pattern]
        indptr = np.zeros(len(self) * k_inner + 1, dtype=np.int64)
        np.cumsum(np.repeat(widths, k_inner), out=indptr[1:])
        indices = np.empty(indptr[-1], dtype=np.int64)
        data = np.empty(indptr[-1], dtype=self.dtype)
        for where, k, values in self._groups(np.arange(len(self))):
            cols = self.columns[k]
            rows = (where[:, None] * k_inner + np.arange(k_inner)).ravel()
            pos = indptr[rows][:, None] + np.arange(len(cols))
            indices[pos] = cols
            data[pos] = values.reshape(-1, len(cols))
        return sp.csr_matrix((data, indices, indptr), shape=(len(self) * k_inner, self.n_features))


@dataclass
class PatternTables:
    """Where a plan's entries go in the blocks of each pattern (dense or sparse layout).

    widths[k]: columns of pattern k; local[k, e]: column of restricted entry e in it;
    for patterns k < n_direct (a neighbour's own) the touched entries of (l, β) are cut
    into runs
    segments[seg_ptr[l, β]:seg_ptr[l, β+1]] = (t0, length, a0, da, b0, db, dest0) along
    which the gather indices and the destination move by fixed steps (see
    ``pair_gradients``).
    """

    widths: np.ndarray
    local: np.ndarray
    n_direct: int
    seg_ptr: np.ndarray
    segments: np.ndarray


def pattern_tables(plan: GradientPlan, sparse: bool) -> PatternTables:
    """The plan's :class:`PatternTables` for dense rows or species-block sparse rows."""
    key = ("patterns", sparse)
    if key not in plan.derived:
        plan.derived[key] = _pattern_tables(plan, sparse)
    return plan.derived[key]


def _pattern_tables(plan: GradientPlan, sparse: bool) -> PatternTables:
    k = plan.kernel_arrays()
    ptr, idx = k["touch_ptr"], k["touch_idx"]
    if not sparse:
        widths = np.array([plan.n_entries], dtype=np.int64)
        local = plan.columns[None, :].astype(np.int64)
        touch_dest = local[0, idx]
        n_direct = 1
    else:
        S = plan.n_slots
        counts = [int((ptr[:, b + 1] - ptr[:, b]).sum()) for b in range(S)]
        widths = np.array(counts + [plan.n_entries], dtype=np.int64)
        local = np.full((S + 1, plan.n_entries), -1, dtype=np.int64)
        local[S] = np.arange(plan.n_entries)
        touch_dest = np.empty(len(idx), dtype=np.int64)
        for b in range(S):
            pos = 0
            for l in range(ptr.shape[0]):
                t = np.arange(ptr[l, b], ptr[l, b + 1])
                touch_dest[t] = pos + np.arange(len(t))
                local[b, idx[t]] = touch_dest[t]
                pos += len(t)
        n_direct = S
    seg_ptr, segments = _runs(ptr, k["gather"], touch_dest)
    return PatternTables(widths, local, n_direct, seg_ptr, segments)


def _runs(ptr, gather, dest) -> tuple[np.ndarray, np.ndarray]:
    """Cut each (l, β) range of touched entries into runs of fixed index steps."""
    seg_ptr = np.zeros_like(ptr)
    segments = []
    for l in range(ptr.shape[0]):
        for b in range(ptr.shape[1] - 1):
            seg_ptr[l, b] = len(segments)
            t = ptr[l, b]
            while t < ptr[l, b + 1]:
                n = 1
                if t + 1 < ptr[l, b + 1] and dest[t + 1] == dest[t] + 1:
                    da, db = gather[0, t + 1] - gather[0, t], gather[1, t + 1] - gather[1, t]
                    while (
                        t + n < ptr[l, b + 1]
                        and dest[t + n] == dest[t] + n
                        and gather[0, t + n] == gather[0, t] + n * da
                        and gather[1, t + n] == gather[1, t] + n * db
                    ):
                        n += 1
                else:
                    da = db = 0
                segments.append((t, n, gather[0, t], da, gather[1, t], db, dest[t]))
                t += n
        seg_ptr[l, -1] = len(segments)
    return seg_ptr, np.array(segments, dtype=np.int64).reshape(-1, 7)


@dataclass
class FrameLayout:
    """Where the gradient kernel writes one frame's entries (see ``pair_gradients``).

    Entry q's (3, tables.widths[k]) block (k = entry_pattern[q]) starts at
    out[entry_base[q]]; ``tables`` are the plan's :class:`PatternTables`. Centre i's
    strain block (3, 3, tables.widths[-1]) starts at strain[strain_base[i]]. Flat
    ``out``/``strain`` are views of the result (``out`` zero-initialised).
    """

    keys: np.ndarray
    pair_entry: np.ndarray
    centre_entry: np.ndarray
    entry_pattern: np.ndarray
    entry_base: np.ndarray
    strain_base: np.ndarray
    tables: PatternTables
    out: np.ndarray | None = None
    strain: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Values of the frame's position gradients."""
        return int(self.entry_base[-1] + 3 * self.tables.widths[self.entry_pattern[-1]])

    @property
    def strain_size(self) -> int:
        """Values of the frame's strain gradients (the centre pattern is the last)."""
        return int(len(self.strain_base) * 9 * self.tables.widths[-1])


def frame_layout(
    nl: NeighbourList, plan: GradientPlan, atom_slot: np.ndarray | None
) -> FrameLayout:
    """Layout of one frame: dense rows (``atom_slot`` None) or species-block sparse rows.

    Entries are every (i, j) of the pairs plus (i, i) for every centre, sorted; periodic
    images of one atom share an entry. Dense: one pattern, all features (local = global
    column). Sparse: pattern β for a neighbour in slot β (``atom_slot[j]``), storing the
    entries β can change in the kernel's order (l, then entry), and pattern S' for the
    centre's own entry, storing every restricted entry.
    """
    n = len(nl.offsets) - 1
    n_pairs = len(nl.centres)
    keys = np.concatenate([nl.centres * n + nl.neighbours, np.arange(n) * (n + 1)])
    keys, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.ravel()
    rows, atoms = np.divmod(keys, n)
    tables = pattern_tables(plan, atom_slot is not None)
    if atom_slot is None:
        entry_pattern = np.zeros(len(keys), dtype=np.int64)
    else:
        entry_pattern = np.where(rows == atoms, plan.n_slots, atom_slot[atoms]).astype(np.int64)
    sizes = 3 * tables.widths[entry_pattern]
    entry_base = np.zeros(len(keys), dtype=np.int64)
    np.cumsum(sizes[:-1], out=entry_base[1:])
    return FrameLayout(
        keys=np.stack([rows, atoms], axis=1),
        pair_entry=inverse[:n_pairs],
        centre_entry=inverse[n_pairs:],
        entry_pattern=entry_pattern,
        entry_base=entry_base,
        strain_base=np.arange(n, dtype=np.int64) * 9 * tables.widths[-1],
        tables=tables,
    )


def pattern_columns(plan: GradientPlan) -> list[np.ndarray]:
    """Global columns of each sparse pattern of a plan, in stored order: slots, then centre."""
    return [plan.columns[plan.touched(b)] for b in range(plan.n_slots)] + [plan.columns]
