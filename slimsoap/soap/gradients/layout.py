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
from typing import TYPE_CHECKING

import numpy as np

from slimsoap._kernels.soap import (
    FrameOutput,
    PatternTables,
    PlanArrays,
    entry_runs,
    frame_entries,
)
from slimsoap.systems.neighbours import NeighbourList

if TYPE_CHECKING:
    from slimsoap.soap.gradients.plan import GradientPlan


def pattern_tables(
    arrays: PlanArrays, columns: np.ndarray, n_slots: int, sparse: bool
) -> PatternTables:
    """Where a plan's entries go: dense rows (one pattern, local = global column) or
    species-block sparse rows (pattern β per slot, storing the entries β can change in
    the kernel's order (l, then entry), and pattern S' for the centres, storing all).

    Args:
        arrays: the plan's kernel arrays.
        columns: (F',) global packed column of each restricted entry.
        n_slots: S', channel slots of the plan.
        sparse: species-block sparse layout, else dense rows.
    """
    ptr, idx = arrays.touch_ptr, arrays.touch_idx
    n_entries = len(columns)
    if not sparse:
        widths = np.array([n_entries], dtype=np.int64)
        local = columns[None, :].astype(np.int64)
        touch_dest = local[0, idx]
        n_direct = 1
        first = np.zeros((0, 0), dtype=np.int64)
    else:
        S = n_slots
        counts = [int((ptr[:, b + 1] - ptr[:, b]).sum()) for b in range(S)]
        widths = np.array(counts + [n_entries], dtype=np.int64)
        local = np.full((S + 1, n_entries), -1, dtype=np.int64)
        local[S] = np.arange(n_entries)
        touch_dest = np.empty(len(idx), dtype=np.int64)
        for b in range(S):
            pos = 0
            for l in range(ptr.shape[0]):
                t = np.arange(ptr[l, b], ptr[l, b + 1])
                touch_dest[t] = pos + np.arange(len(t))
                local[b, idx[t]] = touch_dest[t]
                pos += len(t)
        n_direct = S
        first = np.cumsum(ptr[:, 1:] - ptr[:, :-1], axis=0) - (ptr[:, 1:] - ptr[:, :-1])
    seg_ptr, segments = _runs(ptr, arrays.gather, touch_dest)
    centre_ptr, centre_runs = _centre_runs(arrays, local[-1])
    return PatternTables(widths, local, n_direct, seg_ptr, segments, first, centre_ptr, centre_runs)


def _centre_runs(arrays: PlanArrays, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs (e0, length) of the entries of each l that share a block row, with
    consecutive block columns and consecutive ``local`` columns (F',) of the centres'
    pattern; runs of l are ptr[l]:ptr[l+1] ((L+2,) int64)."""
    rows, cols, col0 = arrays.rows, arrays.cols, arrays.col0
    n = len(rows)
    start = np.ones(n, dtype=bool)
    start[1:] = (
        (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1] + 1) | (local[1:] != local[:-1] + 1)
    )
    start[col0[:-1][col0[:-1] < n]] = True  # every l starts a run
    first = np.flatnonzero(start)
    runs = np.stack([first, np.diff(np.append(first, n))], axis=1).astype(np.int64)
    return np.searchsorted(first, col0).astype(np.int64), runs


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


@dataclass(frozen=True)
class FrameLayout:
    """Where the gradient kernel writes one frame's entries.

    Entries are every (i, j) of the pairs plus (i, i) for every centre, sorted; periodic
    images of one atom share an entry. Entry q's (3, widths[k]) block (k =
    ``entry_pattern[q]``) starts at ``entry_base[q]`` of the frame's flat gradients; centre
    i's strain block (3, 3, widths[-1]) at ``strain_base[i]`` of its flat strain gradients.

    Attributes:
        keys: (Q, 2) int64 [row, atom] of each entry (frame-local atom indices).
        pair_entry, centre_entry: (P,), (n,) entry of each pair / centre.
        pair_order: (P,) int64 the order the kernel visits the pairs in: each centre's,
            with the periodic images of one atom (one entry) side by side at the first
            one's place (:func:`pair_order`).
        entry_pattern, entry_base: (Q,) int64.
        strain_base: (n,) int64.
        widths: (n_patterns,) columns of each pattern (the centres' pattern is the last).
    """

    keys: np.ndarray
    pair_entry: np.ndarray
    centre_entry: np.ndarray
    pair_order: np.ndarray
    entry_pattern: np.ndarray
    entry_base: np.ndarray
    strain_base: np.ndarray
    widths: np.ndarray

    @property
    def size(self) -> int:
        """Values of the frame's position gradients."""
        return int(self.entry_base[-1] + 3 * self.widths[self.entry_pattern[-1]])

    @property
    def strain_size(self) -> int:
        """Values of the frame's strain gradients."""
        return int(len(self.strain_base) * 9 * self.widths[-1])

    def output(self, out: np.ndarray, strain: np.ndarray) -> FrameOutput:
        """The kernel's view of this layout over flat ``out`` (``size``, zero-initialised)
        and ``strain`` (``strain_size``, or size 0 to skip strain gradients)."""
        if out.shape != (self.size,) or strain.shape not in ((self.strain_size,), (0,)):
            raise ValueError(
                f"layout needs out ({self.size},) and strain ({self.strain_size},) or (0,); "
                f"got {out.shape} and {strain.shape}"
            )
        return FrameOutput(
            self.pair_entry,
            self.centre_entry,
            self.pair_order,
            self.entry_base,
            self.entry_pattern,
            self.strain_base,
            out,
            strain,
        )


def frame_layout(
    nl: NeighbourList, plan: GradientPlan, atom_slot: np.ndarray | None = None
) -> FrameLayout:
    """Layout of one frame's entries in the plan's patterns.

    Args:
        nl: the frame's neighbour pairs.
        plan: a dense plan (``atom_slot`` None: one pattern, all features) or a sparse one
            (pattern β for a neighbour in slot β, pattern S' for the centre's own entry).
        atom_slot: (n_atoms,) channel slot of each atom of the frame, for a sparse plan.
    """
    if plan.sparse != (atom_slot is not None):
        raise ValueError("a sparse gradient plan needs atom_slot, a dense one none")
    n = len(nl.offsets) - 1
    widths = plan.tables.widths
    slots = np.zeros(0, dtype=np.int64) if atom_slot is None else atom_slot
    keys, pair_entry, centre_entry, entry_pattern, entry_base = frame_entries(
        np.ascontiguousarray(nl.offsets, dtype=np.int64),
        np.ascontiguousarray(nl.neighbours, dtype=np.int64),
        np.ascontiguousarray(slots, dtype=np.int64),
        int(plan.n_slots),
        np.ascontiguousarray(widths, dtype=np.int64),
    )
    return FrameLayout(
        keys=keys,
        pair_entry=pair_entry,
        centre_entry=centre_entry,
        pair_order=pair_order(pair_entry, len(keys)),
        entry_pattern=entry_pattern,
        entry_base=entry_base,
        strain_base=np.arange(n, dtype=np.int64) * 9 * widths[-1],
        widths=widths,
    )


def pair_order(pair_entry: np.ndarray, n_entries: int) -> np.ndarray:
    """(P,) int64 visiting order of pairs whose entries ``pair_entry`` (P,) (of
    ``n_entries``) are grouped by centre: every pair of one entry (the periodic images of
    one neighbour atom) moved up behind the first of them; the order of first occurrences
    is kept, so without repeated entries it is the identity. Entries of different centres
    differ, so each centre's pairs stay in its own range."""
    return entry_runs(np.ascontiguousarray(pair_entry, dtype=np.int64), n_entries)


def pattern_columns(plan: GradientPlan) -> list[np.ndarray]:
    """Global columns of each sparse pattern of a plan, in stored order: slots, then centre."""
    return [plan.columns[plan.touched(b)] for b in range(plan.n_slots)] + [plan.columns]
