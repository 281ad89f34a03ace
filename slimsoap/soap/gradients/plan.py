"""Gradient plans: a contraction's blocks restricted to some species' channels, and every
table the gradient kernel reads for them, built once and immutable (DESIGN §3, §7).

A plan answers, for coefficients over S' channel slots (all S species for dense output,
the species of one frame for species-block sparse output): which stored entries exist
(``columns``), which of them a neighbour in slot β can change (``touched``), and how the
kernel finds them (:class:`~slimsoap._kernels.soap.PlanArrays`,
:class:`~slimsoap._kernels.soap.PatternTables`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from slimsoap._kernels.contraction import ValueArrays
from slimsoap._kernels.soap import PatternTables, PlanArrays
from slimsoap.soap.gradients.layout import pattern_tables
from slimsoap.soap.panels import value_arrays

if TYPE_CHECKING:
    from slimsoap.soap.contraction import RestrictedBlock


@dataclass(frozen=True)
class GradientBlock:
    """One l of a :class:`GradientPlan`.

    Attributes:
        w1, w2: (S'·N, K1), (S'·N, K2) maps restricted to the slots' rows (None: identity;
            w2 is w1 for a symmetric block).
        symmetric: the block is (X W1)^T (X W1), packed as a triangle.
        rows, cols, scale: (F_l,) int64, int64, float64 stored entries of the (K1, K2) block.
        touch_ptr, touch_idx: CSR over slots of the block's entries a neighbour in slot β
            can change: idx[ptr[β]:ptr[β+1]], ascending.
        col0: the block's first entry among the plan's F' entries.
    """

    w1: np.ndarray | None
    w2: np.ndarray | None
    symmetric: bool
    rows: np.ndarray
    cols: np.ndarray
    scale: np.ndarray
    touch_ptr: np.ndarray
    touch_idx: np.ndarray
    col0: int


@dataclass(frozen=True)
class GradientPlan:
    """Blocks of every l restricted to ``n_slots`` species channels, for one output layout.

    Attributes:
        blocks: one :class:`GradientBlock` per l.
        columns: (F',) int64 global packed column of each restricted entry (blocks
            concatenated over l).
        n_slots: S', species channel slots of the coefficients.
        n_radial: N, radial functions per slot.
        sparse: species-block sparse output (one pattern per slot, plus the centres'),
            else dense rows.
        arrays: the blocks packed for the kernel.
        tables: where each entry goes in the output patterns.
        values: the blocks packed for the values kernel (the plan's F' entries).
    """

    blocks: tuple[GradientBlock, ...]
    columns: np.ndarray
    n_slots: int
    n_radial: int
    sparse: bool
    arrays: PlanArrays
    tables: PatternTables
    values: ValueArrays

    @property
    def n_entries(self) -> int:
        """F', restricted entries over all l."""
        return len(self.columns)

    def touched(self, slot: int) -> np.ndarray:
        """Restricted entries (ascending) that a neighbour in ``slot`` can change."""
        return np.concatenate(
            [b.col0 + b.touch_idx[b.touch_ptr[slot] : b.touch_ptr[slot + 1]] for b in self.blocks]
        )


def build_plan(
    restricted: Sequence[RestrictedBlock],
    columns: np.ndarray,
    n_slots: int,
    n_radial: int,
    sparse: bool,
) -> GradientPlan:
    """The :class:`GradientPlan` of blocks restricted to ``n_slots`` channel slots.

    Args:
        restricted: per l, the maps restricted to the slots and the mask (K1, K2) and
            scale of the block's stored entries (from
            :meth:`~slimsoap.soap.contraction.Contraction.restricted`).
        columns: (F',) global packed column of each stored entry, blocks concatenated.
        n_slots, n_radial: S' and N of the coefficients.
        sparse: tables for species-block sparse output, else for dense rows.
    """
    blocks, col0 = [], 0
    for r in restricted:
        rows, cols = np.nonzero(r.keep)
        w2 = r.w1 if r.symmetric else r.w2
        touch = _touched_entries(rows, cols, r.w1 is None, w2 is None, n_slots, n_radial)
        blocks.append(
            GradientBlock(
                r.w1,
                w2,
                r.symmetric,
                rows.astype(np.int64),
                cols.astype(np.int64),
                np.ascontiguousarray(r.scale, dtype=np.float64),
                *touch,
                col0,
            )
        )
        col0 += len(rows)
    arrays = _pack(blocks, col0, n_slots, n_radial)
    tables = pattern_tables(arrays, columns, n_slots, sparse)
    values = value_arrays(blocks, n_slots * n_radial)
    return GradientPlan(tuple(blocks), columns, n_slots, n_radial, sparse, arrays, tables, values)


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


def _pack(blocks: list[GradientBlock], n_entries: int, n_slots: int, n_radial: int) -> PlanArrays:
    """The blocks of every l packed for the kernel: maps padded to the widest block,
    entries concatenated (entry e of l is col0[l] + e), touched entries per (l, slot) as
    CSR with their gather indices."""
    L1, channels = len(blocks), n_slots * n_radial
    k1 = np.array([channels if b.w1 is None else b.w1.shape[1] for b in blocks])
    k2 = np.array([channels if b.w2 is None else b.w2.shape[1] for b in blocks])
    maps = []
    for name, widths in (("w1", k1), ("w2", k2)):
        w = np.zeros((L1, channels, int(widths.max())))
        for l, b in enumerate(blocks):
            m = getattr(b, name)
            if m is not None:
                w[l, :, : m.shape[1]] = m
        maps.append(w)
    touch_ptr = np.zeros((L1, n_slots + 1), dtype=np.int64)
    start = 0
    for l, b in enumerate(blocks):
        touch_ptr[l] = start + b.touch_ptr
        start += len(b.touch_idx)
    k1m, k2m = int(k1.max()), int(k2.max())
    return PlanArrays(
        k1=k1,
        k2=k2,
        w1=maps[0],
        w2=maps[1],
        w1_id=np.array([b.w1 is None for b in blocks]),
        w2_id=np.array([b.w2 is None for b in blocks]),
        symmetric=np.array([b.symmetric for b in blocks]),
        rows=np.concatenate([b.rows for b in blocks]),
        cols=np.concatenate([b.cols for b in blocks]),
        scale=np.concatenate([b.scale for b in blocks]),
        col0=np.array([b.col0 for b in blocks] + [n_entries], dtype=np.int64),
        touch_ptr=touch_ptr,
        touch_idx=np.concatenate([b.col0 + b.touch_idx for b in blocks]),
        touch_scale=np.concatenate([b.scale[b.touch_idx] for b in blocks]),
        gather=np.concatenate([_gather(b, k1m, k2m, n_slots, n_radial) for b in blocks], axis=1),
    )


def _gather(block: GradientBlock, k1: int, k2: int, n_slots: int, n_max: int) -> np.ndarray:
    """(2, T) indices of a block's touched entries into the kernel's flat workspace of one
    direction; entry t is W[gather[0, t]] + W[gather[1, t]].

    Symmetric identity blocks: W = [A (N × C) | 0 ...], A = ∂X_β^T X over the C channels,
    so p[r, c] = A[r-c0, c] (r in β) + A[c-c0, r] (c in β), a missing term reading the
    zero at N·k2 (past every A, whatever its C ≤ k2).
    Any other block: W = [M1 | M2], each (k1, k2) row-major (the widest block's widths),
    p[r, c] = M1[r, c] + M1[c, r] (symmetric) or M1[r, c] + M2[r, c].
    """
    r, c = block.rows[block.touch_idx], block.cols[block.touch_idx]
    if block.symmetric and block.w1 is None:
        width = n_slots * n_max
        zero, beta = n_max * k2, np.repeat(np.arange(n_slots), np.diff(block.touch_ptr))
        c0 = beta * n_max
        first = np.where(r // n_max == beta, (r - c0) * width + c, zero)
        second = np.where(c // n_max == beta, (c - c0) * width + r, zero)
    else:
        first = r * k2 + c
        second = c * k2 + r if block.symmetric else 3 * k1 * k2 + r * k2 + c
    return np.stack([first, second]).astype(np.int64)
