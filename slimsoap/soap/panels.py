"""A channel map's blocks packed for the values kernel
(:func:`~slimsoap._kernels.contraction.packed_values`): the maps padded to one array, the
non-zero column range of each map row, and the stored entries cut into panels of
consecutive columns (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from slimsoap._kernels.contraction import PANEL_FIELDS, ValueArrays

#: Most rows of p_l one panel computes together.
PANEL_ROWS = 4


class PackedBlock(Protocol):
    """What :func:`value_arrays` reads of a block (a ``Block`` of a channel map, or one l of
    a gradient plan): maps (C, K) or None (identity), stored entries (rows, cols, scale)."""

    w1: np.ndarray | None
    w2: np.ndarray | None
    rows: np.ndarray
    cols: np.ndarray
    scale: np.ndarray
    symmetric: bool


def value_arrays(blocks: Sequence[PackedBlock], n_channels: int) -> ValueArrays:
    """:class:`~slimsoap._kernels.contraction.ValueArrays` of the blocks of l = 0..L, over
    coefficients with ``n_channels`` columns C; the entries of l are packed columns
    Σ_{l'<l} F_l' onwards."""
    C = n_channels
    L1 = len(blocks)
    k1 = np.array([C if b.w1 is None else b.w1.shape[1] for b in blocks], dtype=np.int64)
    k2 = np.array(
        [
            k1[l] if b.symmetric else C if b.w2 is None else b.w2.shape[1]
            for l, b in enumerate(blocks)
        ],
        dtype=np.int64,
    )
    w1, lo1, hi1 = _padded([b.w1 for b in blocks], C)
    w2, lo2, hi2 = _padded([None if b.symmetric else b.w2 for b in blocks], C)
    transposed = np.zeros(L1, dtype=bool)
    panel_ptr = np.zeros(L1 + 1, dtype=np.int64)
    panels, col0 = [], 0
    for l, b in enumerate(blocks):
        rows = np.asarray(b.rows, dtype=np.int64)
        cols = np.asarray(b.cols, dtype=np.int64)
        full = rows.size == k1[l] * k2[l] and np.array_equal(
            rows * k2[l] + cols, np.arange(rows.size)
        )
        transposed[l] = not b.symmetric and full and k1[l] > k2[l]
        if transposed[l]:  # rows of p^T: K2 long panels along the K1 channels
            p = _transposed_panels(int(k1[l]), int(k2[l]), col0)
        else:
            p = _row_panels(rows, cols, col0)
        panels.append(p)
        panel_ptr[l + 1] = panel_ptr[l] + len(p)
        col0 += rows.size
    run_ptr, runs, run_weight = _map_runs(
        [[b.w1 for b in blocks], [None if b.symmetric else b.w2 for b in blocks]]
    )
    return ValueArrays(
        k1, k2, w1, w2, lo1, hi1, lo2, hi2,
        np.array([b.w1 is None for b in blocks]),
        np.array([b.symmetric or b.w2 is None for b in blocks]),
        np.array([bool(b.symmetric) for b in blocks]),
        transposed, panel_ptr,
        np.ascontiguousarray(np.concatenate(panels), dtype=np.int64),
        np.concatenate([np.asarray(b.scale, dtype=np.float64) for b in blocks]),
        run_ptr, runs, run_weight,
    )  # fmt: skip


#: A map goes by diagonal runs when its runs are at least this long on average (each row
#: with one non-zero: its rows would be scalar loops of one column).
MIN_RUN = 2


def diagonal_runs(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A map w (C, K) whose every row has at most one non-zero, as maximal runs of equal
    weight along its diagonals: ((n, 3) int64 (source row, target column, length) in order
    of source row, (n,) float64 weights), with w[s + j, t + j] = weight for j < length;
    None if a row has two non-zeros, w is empty or zero, or the runs are shorter than
    ``MIN_RUN`` on average."""
    nz = w != 0
    if w.size == 0 or not nz.any() or np.any(nz.sum(axis=1) > 1):
        return None
    rows = np.flatnonzero(nz.any(axis=1))
    cols = np.argmax(nz[rows], axis=1)
    vals = w[rows, cols]
    # a run continues while the next row is the next one, one column on, of equal weight
    cont = (np.diff(rows) == 1) & (np.diff(cols) == 1) & (vals[1:] == vals[:-1])
    starts = np.flatnonzero(np.concatenate([[True], ~cont]))
    lengths = np.diff(np.concatenate([starts, [len(rows)]]))
    if lengths.mean() < MIN_RUN:
        return None
    runs = np.stack([rows[starts], cols[starts], lengths], axis=1).astype(np.int64)
    return runs, vals[starts].astype(np.float64)


def _map_runs(maps: list[list[np.ndarray | None]]) -> tuple[np.ndarray, ...]:
    """``ValueArrays.run_ptr``, ``runs`` and ``run_weight`` of maps 1 and 2 of every l
    (None: identity or unused; a map :func:`diagonal_runs` declines has no runs)."""
    L1 = len(maps[0])
    ptr = np.zeros((2, L1 + 1), dtype=np.int64)
    runs, weights, n = [], [], 0
    for i, per_l in enumerate(maps):
        ptr[i, 0] = n
        for l, w in enumerate(per_l):
            found = None if w is None else diagonal_runs(np.asarray(w, dtype=np.float64))
            if found is not None:
                runs.append(found[0])
                weights.append(found[1])
                n += len(found[1])
            ptr[i, l + 1] = n
    return (
        ptr,
        np.concatenate(runs) if runs else np.zeros((0, 3), dtype=np.int64),
        np.concatenate(weights) if weights else np.zeros(0),
    )


def _padded(maps: list[np.ndarray | None], C: int) -> tuple[np.ndarray, ...]:
    """Maps (C, K_l) (None: identity or unused) as one zero-padded (L+1, C, Kmax) array,
    and the column range lo:hi (L+1, C) outside which each row is zero."""
    kmax = max((w.shape[1] for w in maps if w is not None), default=0)
    out = np.zeros((len(maps), C, kmax))
    lo = np.zeros((len(maps), C), dtype=np.int64)
    hi = np.zeros((len(maps), C), dtype=np.int64)
    for l, w in enumerate(maps):
        if w is None or w.shape[1] == 0:  # identity, or a map that reaches no channel
            continue
        if w.shape[0] != C:
            raise ValueError(f"map of l={l} has {w.shape[0]} rows, the coefficients {C} channels")
        out[l, :, : w.shape[1]] = w
        nz = w != 0
        any_nz = nz.any(axis=1)
        lo[l] = np.where(any_nz, np.argmax(nz, axis=1), 0)
        hi[l] = np.where(any_nz, w.shape[1] - np.argmax(nz[:, ::-1], axis=1), 0)
    return out, lo, hi


def _panel(row: int, col: int, length: int, step: int, stores: list[tuple[int, int]]):
    """One panel (see :class:`~slimsoap._kernels.contraction.ValueArrays`): rows row ..
    row + len(stores) - 1 over ``length`` columns from ``col``, row i storing from column
    col + offset_i on at entry_i, stores = [(entry_i, offset_i)]; flagged interleaved when
    four rows store at consecutive entries from equal offsets."""
    out = [row, col, length, step, len(stores)] + [0] * (PANEL_FIELDS - 5)
    for i, (entry, offset) in enumerate(stores):
        out[5 + 2 * i : 7 + 2 * i] = entry, offset
    entry0, offset0 = stores[0]
    out[13] = int(stores == [(entry0 + i, offset0) for i in range(PANEL_ROWS)])
    return out


def _row_count(available: int) -> int:
    """Rows of the next panel when ``available`` rows can go together: 4, 2 or 1."""
    return PANEL_ROWS if available >= PANEL_ROWS else 2 if available >= 2 else 1


def _row_panels(rows: np.ndarray, cols: np.ndarray, col0: int) -> np.ndarray:
    """Panels of stored entries in order: runs of one row over consecutive columns, and up
    to four consecutive runs (rows r, r+1, ...) computed together when each later run's
    columns are the end of the first's (a triangle's rows, a full block's rows)."""
    if rows.size == 0:
        return np.zeros((0, PANEL_FIELDS), dtype=np.int64)
    cut = np.flatnonzero((np.diff(rows) != 0) | (np.diff(cols) != 1)) + 1
    starts = np.concatenate([[0], cut])
    lengths = np.diff(np.concatenate([starts, [rows.size]]))
    runs = [tuple(int(v) for v in run) for run in zip(rows[starts], cols[starts], lengths, starts)]
    out, k = [], 0
    while k < len(runs):
        r, c, n, _ = runs[k]
        g = 1  # runs k .. k+g-1 can go in one panel
        while g < PANEL_ROWS and k + g < len(runs):
            r2, c2, n2, _ = runs[k + g]
            if not (r2 == r + g and c2 >= c and c2 + n2 == c + n):
                break
            g += 1
        g = _row_count(g)
        stores = [(col0 + e2, c2 - c) for _, c2, _, e2 in runs[k : k + g]]
        out.append(_panel(r, c, n, 1, stores))
        k += g
    return np.array(out, dtype=np.int64)


def _transposed_panels(k1: int, k2: int, col0: int) -> np.ndarray:
    """Panels of a full row-major (K1, K2) block read as p^T: row b over the K1 columns,
    entry (a, b) at col0 + a·K2 + b; up to four rows b, b+1, ... together."""
    out, b = [], 0
    while b < k2:
        g = _row_count(k2 - b)
        out.append(_panel(b, 0, k1, k2, [(col0 + b + i, 0) for i in range(g)]))
        b += g
    return np.array(out, dtype=np.int64)
