"""Cell geometry shared by the per-frame and the batched pair searches.

Every function takes one cell (3, 3) or a stack of them (F, 3, 3) with their ``pbc`` (3,) or
(F, 3): the batched search (:mod:`slimsoap.systems.periodic_batch`) and the per-frame one
(:func:`slimsoap.systems.neighbours.neighbour_list`) run the same NumPy operations, so the
same cell gives the same bits either way.
"""

from __future__ import annotations

import numpy as np
from ase.geometry import minkowski_reduce

from slimsoap._kernels.neighbours import row_products


def image_reach(cell: np.ndarray, pbc: np.ndarray, r_cut: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse cell (..., 3, 3) and fractional reach r_cut / plane spacing (..., 3) along
    each periodic axis (0 if not periodic), for a cell (3, 3) or a stack (F, 3, 3) in Å."""
    inv = np.linalg.inv(cell)
    plane_spacing = 1.0 / np.linalg.norm(inv, axis=-2)
    return inv, np.where(pbc, r_cut / plane_spacing, 0.0)


def rows_times(x: np.ndarray, mats: np.ndarray, row_mat: np.ndarray | None = None) -> np.ndarray:
    """Rows ``x[k] @ mats[row_mat[k]]`` (k, 3), or ``x[k] @ mats`` for one matrix (3, 3).

    One kernel pass (:func:`~slimsoap._kernels.neighbours.row_products`) that rounds every
    row the same way whatever the number of rows. A BLAS product (``x @ m``) does not:
    OpenBLAS rounds one row (gemv) differently from several (gemm), so the batched and the
    per-frame search would give different vectors in the last bit.
    """
    if mats.ndim == 2:
        mats, row_mat = mats[None], np.zeros(len(x), dtype=np.int64)
    return row_products(np.asarray(x, dtype=np.float64), mats, row_mat)


def n_shifts(reach: np.ndarray) -> np.ndarray:
    """Number of image cells searched for a reach (..., 3), the home cell included (float)."""
    return np.prod(2.0 * np.ceil(reach) + 1.0, axis=-1)


def pairwise_reduced(cells: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """Whether no periodic vector of each cell shortens by adding or subtracting another:
    |v_i · v_j| ≤ min(|v_i|², |v_j|²) / 2 for every pair of periodic rows (Lagrange-Gauss
    reduced pairs). Cells (..., 3, 3), pbc (..., 3); returns bool (...)."""
    v = np.where(pbc[..., :, None], cells, 0.0)  # non-periodic rows: zero, always reduced
    gram = np.matmul(v, np.swapaxes(v, -1, -2))
    sq = np.diagonal(gram, axis1=-2, axis2=-1)
    off = np.abs(gram - sq[..., :, None] * np.eye(3))
    bound = 0.5 * np.minimum(sq[..., :, None], sq[..., None, :]) + 1e-12
    return np.all(off <= bound, axis=(-2, -1))


def search_cells(cells: np.ndarray, pbc: np.ndarray, r_cut: float) -> np.ndarray:
    """The cells (F, 3, 3) rows in Å to search periodic images in, for cells (F, 3, 3) and
    pbc (F, 3): each cell itself, or its Minkowski-reduced basis when that needs fewer image
    cells (an extreme-shear cell of a compact lattice; the lattice, and hence every pair
    vector, is the same). The test is vectorised; only the rare frames that may gain are
    reduced, one by one. Non-periodic frames keep their cell."""
    periodic = pbc.any(axis=-1)
    if not periodic.any():
        return cells
    reach = image_reach(cells[periodic], pbc[periodic], r_cut)[1]
    n_plain = n_shifts(reach)
    # at most one layer of images each way, or already reduced pairs: nothing to gain
    maybe = (n_plain > 27) & ~pairwise_reduced(cells[periodic], pbc[periodic])
    if not maybe.any():
        return cells
    out = cells.copy()
    for f, plain in zip(np.flatnonzero(periodic)[maybe], n_plain[maybe]):
        reduced = np.asarray(minkowski_reduce(cells[f], pbc[f])[0], dtype=np.float64)
        if n_shifts(image_reach(reduced, pbc[f], r_cut)[1]) < plain:
            out[f] = reduced
    return out


def search_cell(cell: np.ndarray, pbc: np.ndarray, r_cut: float) -> np.ndarray:
    """:func:`search_cells` of one cell (3, 3) with its pbc (3,): ``cell`` itself when it is
    searched as it is."""
    out = search_cells(cell[None], pbc[None], r_cut)[0]
    return cell if np.array_equal(out, cell) else out
