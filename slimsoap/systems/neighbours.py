"""Neighbour pairs within a cutoff, periodic or not, in O(n) with a cell list.

Works for any cell, including small or skewed cells where a neighbour is several periodic
images away: the cell is padded with as many image layers as the cutoff needs along each
periodic direction, then one Cartesian cell list finds every pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from slimsoap._kernels.neighbours import cell_list_pairs, molecule_pairs
from slimsoap._validation import COINCIDENT_TOL
from slimsoap.systems.batching import is_small, small_frame_runs

#: Upper bound on the number of bins of the cell list (memory guard for sparse systems).
_MAX_BINS = 2_000_000


@dataclass
class NeighbourList:
    """Directed pairs (i, j) with |r_ij| < r_cut, sorted by centre i.

    Attributes:
        centres: (n_pairs,) int64, centre atom index i.
        neighbours: (n_pairs,) int64, neighbour atom index j (the original atom, not an image).
        vectors: (n_pairs, 3) float64, r_j + shift - r_i in Å.
        distances: (n_pairs,) float64, |vectors| in Å.
        offsets: (n_atoms + 1,) int64, pairs of centre i are offsets[i]:offsets[i+1].
    """

    centres: np.ndarray
    neighbours: np.ndarray
    vectors: np.ndarray
    distances: np.ndarray
    offsets: np.ndarray


def _padded_images(positions, cell, pbc, r_cut):
    """Wrapped atoms followed by the periodic images within r_cut of the cell."""
    n = len(positions)
    if not pbc.any():
        return positions.copy(), np.arange(n)
    inv = np.linalg.inv(cell)
    frac = positions @ inv
    frac[:, pbc] %= 1.0
    plane_spacing = 1.0 / np.linalg.norm(inv, axis=0)
    reach = np.where(pbc, r_cut / plane_spacing, 0.0)
    n_img = np.where(pbc, np.ceil(reach).astype(int), 0)
    wrapped = frac @ cell
    grids = np.meshgrid(*(np.arange(-k, k + 1) for k in n_img), indexing="ij")
    shifts = np.stack([g.ravel() for g in grids], axis=1).astype(float)
    shifts = shifts[np.any(shifts != 0, axis=1)]  # (K, 3), the home cell excluded
    images = frac[None, :, :] + shifts[:, None, :]  # (K, n, 3) fractional
    keep = np.all((images >= -reach) & (images <= 1.0 + reach) | ~pbc, axis=2)
    _, owner = np.nonzero(keep)
    return np.concatenate([wrapped, images[keep] @ cell]), np.concatenate([np.arange(n), owner])


def neighbour_list(atoms: Atoms, r_cut: float, frame: int = 0) -> NeighbourList:
    """Every directed pair within ``r_cut`` (Å) of each atom of ``atoms``.

    Raises ValueError if two atoms (or an atom and its own image) are closer than
    ``COINCIDENT_TOL``.
    """
    positions = np.asarray(atoms.positions, dtype=np.float64)
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell = np.asarray(atoms.cell.complete(), dtype=np.float64)
    n = len(positions)
    pos_all, owner = _padded_images(positions, cell, pbc, r_cut)
    origin = pos_all.min(axis=0) - 1e-9
    extent = pos_all.max(axis=0) - origin + 1e-9
    bin_size = r_cut
    while np.prod(np.maximum(np.floor(extent / bin_size), 1)) > _MAX_BINS:
        bin_size *= 2
    nbins = np.maximum(np.floor(extent / bin_size), 1).astype(np.int64)
    inv_bin = nbins / extent
    i, j, d = cell_list_pairs(
        pos_all, owner.astype(np.int64), n, float(r_cut), origin, inv_bin, nbins
    )
    dist = np.sqrt(np.einsum("ij,ij->i", d, d))
    if len(dist) and dist.min() < COINCIDENT_TOL:
        k = int(np.argmin(dist))
        raise ValueError(
            f"frame {frame}: atoms {i[k]} and {j[k]} are at the same position "
            f"(distance {dist[k]:.2e} Å)"
        )
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(i, minlength=n), out=offsets[1:])
    return NeighbourList(i, j, d, dist, offsets)


def batch_neighbour_list(frames: list[Atoms], r_cut: float, first_frame: int = 0) -> NeighbourList:
    """The pairs of several frames at once, over their concatenated atoms (batch indices).

    Runs of small non-periodic frames (:func:`~slimsoap.systems.batching.small_frame_runs`,
    e.g. molecules) share one brute-force search in a single kernel call, since the Python
    cost per frame of :func:`neighbour_list` dominates for them; other frames use
    :func:`neighbour_list`.
    ``first_frame`` numbers the frames in error messages.
    """
    sizes = np.array([len(a) for a in frames], dtype=np.int64)
    starts = np.zeros(len(frames) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    counts, nbrs, vecs, dists = [], [], [], []
    for f, g in small_frame_runs(frames):
        if is_small(frames[f]):
            local = starts[f : g + 1] - starts[f]
            pos = np.concatenate([frames[k].positions for k in range(f, g)]).astype(np.float64)
            off, nb, vec, dist, ci, cj = molecule_pairs(pos, local, float(r_cut))
            if ci >= 0 and dist.min() < COINCIDENT_TOL:
                bad = f + int(np.searchsorted(local, ci, "right")) - 1
                first = local[bad - f]
                raise ValueError(
                    f"frame {first_frame + bad}: atoms {ci - first} and {cj - first} are at the "
                    f"same position (distance {dist.min():.2e} Å)"
                )
            counts.append(np.diff(off))
            nbrs.append(nb + starts[f])
        else:
            nl = neighbour_list(frames[f], r_cut, first_frame + f)
            counts.append(np.diff(nl.offsets))
            nbrs.append(nl.neighbours + starts[f])
            vec, dist = nl.vectors, nl.distances
        vecs.append(vec)
        dists.append(dist)
    offsets = np.zeros(starts[-1] + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=offsets[1:])
    return NeighbourList(
        centres=np.repeat(np.arange(starts[-1], dtype=np.int64), np.diff(offsets)),
        neighbours=np.concatenate(nbrs).astype(np.int64),
        vectors=np.ascontiguousarray(np.concatenate(vecs), dtype=np.float64),
        distances=np.ascontiguousarray(np.concatenate(dists), dtype=np.float64),
        offsets=offsets,
    )
