"""The pairs of many small periodic frames in a few NumPy calls and two kernel calls.

The per-frame search (:func:`slimsoap.systems.neighbours.neighbour_list`) spends most of a
small cell's time in Python and NumPy call overhead. Here every step runs once for the
batch: the search cells and their inverses are stacked, positions are wrapped and images
placed with one kernel pass each (:func:`~slimsoap.systems.cells.rows_times`), the images
are generated and the pairs found by one kernel call each
(:func:`~slimsoap._kernels.neighbours.periodic_images`,
:func:`~slimsoap._kernels.neighbours.batch_cell_list_pairs`). Each frame goes through the
same operations in the same order as in the per-frame search, so pairs, their order and
their vectors are the same to the bit.
"""

from __future__ import annotations

import numpy as np

from slimsoap._kernels.neighbours import batch_cell_list_pairs, frame_bounds, periodic_images
from slimsoap._runtime.limits import memory_limit
from slimsoap.systems import guards
from slimsoap.systems.cells import image_reach, n_shifts, rows_times, search_cells

#: Image candidates (shifts × atoms) generated per kernel call: bounds the batch's memory.
_CHUNK_CANDIDATES = 1 << 20


def grid(lo: np.ndarray, hi: np.ndarray, r_cut: float, max_bins: int):
    """Cell-list grid of each frame from the bounds (F, 3) of its atoms and images:
    origin (F, 3), inverse bin size (F, 3) and bins (F, 3) int64, as the per-frame search."""
    origin = lo - 1e-9
    extent = hi - origin + 1e-9
    bin_size = np.full(len(lo), float(r_cut))
    while True:
        big = np.prod(np.maximum(np.floor(extent / bin_size[:, None]), 1), axis=1) > max_bins
        if not big.any():
            break
        bin_size[big] *= 2
    nbins = np.maximum(np.floor(extent / bin_size[:, None]), 1).astype(np.int64)
    return origin, nbins / extent, nbins


def periodic_batch_pairs(
    positions: np.ndarray,
    starts: np.ndarray,
    cells: np.ndarray,
    pbc: np.ndarray,
    r_cut: float,
    frame_ids: np.ndarray,
    max_bins: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed pairs within ``r_cut`` of every atom of many small frames, periodic or not.

    Args:
        positions: (n_atoms, 3) float64 positions (Å), frames concatenated.
        starts: (n_frames + 1,) int64 frame offsets into ``positions``.
        cells: (n_frames, 3, 3) completed cells (Å); pbc: (n_frames, 3) bool. A frame
            periodic along no axis is searched as it is (no images, cell unused).
        r_cut: cutoff (Å).
        frame_ids: (n_frames,) frame numbers named in errors.
        max_bins: largest number of cell-list bins per frame.

    Returns:
        centres, neighbours (n_pairs,) int64 batch atom indices and vectors (n_pairs, 3)
        (Å), sorted by centre.

    Raises MemoryLimitError, as the per-frame search does, for the first frame whose images
    or pairs would exceed the memory limit.
    """
    sizes = np.diff(starts)
    periodic = pbc.any(axis=1)
    cells = np.where(periodic[:, None, None], search_cells(cells, pbc, r_cut), np.eye(3))
    inv, reach = image_reach(cells, pbc, r_cut)
    shifts = n_shifts(reach)
    for f in np.flatnonzero(guards.image_bytes(shifts, sizes) > memory_limit())[:1]:
        guards.check_images(float(shifts[f]), int(sizes[f]), reach[f], r_cut, int(frame_ids[f]))
    n_img = np.where(pbc, np.ceil(reach).astype(int), 0).astype(np.int64)
    candidates = np.cumsum(shifts * sizes)
    parts, f0 = [], 0
    while f0 < len(sizes):
        base = candidates[f0 - 1] if f0 else 0.0
        f1 = max(f0 + 1, int(np.searchsorted(candidates, base + _CHUNK_CANDIDATES, "right")))
        frames = slice(f0, f1)
        a0 = starts[f0]
        parts.append(
            _chunk_pairs(
                positions[a0 : starts[f1]], starts[f0 : f1 + 1] - a0, cells[frames],
                inv[frames], reach[frames], pbc[frames], n_img[frames], r_cut,
                frame_ids[frames], max_bins,
            )
        )  # fmt: skip
        parts[-1][0][:] += a0
        parts[-1][1][:] += a0
        f0 = f1
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(p) for p in zip(*parts))


def _chunk_pairs(pos, starts, cells, inv, reach, pbc, n_img, r_cut, frame_ids, max_bins):
    """:func:`periodic_batch_pairs` of one chunk of frames (chunk atom indices)."""
    row_frame = np.repeat(np.arange(len(cells)), np.diff(starts))
    frac = rows_times(pos, inv, row_frame)
    frac = np.where(pbc[row_frame], frac % 1.0, frac)
    wrapped = rows_times(frac, cells, row_frame)
    wrapped = np.where(pbc.any(axis=1)[row_frame, None], wrapped, pos)  # molecules: as given
    img_frac, owner, img_start = periodic_images(frac, starts, n_img, reach, pbc)
    img_frame = np.repeat(np.arange(len(cells)), np.diff(img_start))
    images = rows_times(img_frac, cells, img_frame)
    lo, hi = frame_bounds(wrapped, starts, images, img_start)
    n, points = np.diff(starts), np.diff(starts) + np.diff(img_start)
    per_atom = guards.pair_density(points, lo, hi, r_cut)[1]
    for f in np.flatnonzero(n * per_atom * guards.BYTES_PER_PAIR > memory_limit())[:1]:
        guards.check_pairs(int(points[f]), lo[f], hi[f], int(n[f]), r_cut, int(frame_ids[f]))
    origin, inv_bin, nbins = grid(lo, hi, r_cut, max_bins)
    return batch_cell_list_pairs(
        wrapped, starts, images, owner, img_start, float(r_cut), origin, inv_bin, nbins
    )
