"""Neighbour pairs within a cutoff, periodic or not, in O(n) with a cell list.

Works for any cell, including small or skewed cells where a neighbour is several periodic
images away: the cell is padded with as many image layers as the cutoff needs along each
periodic direction, then one Cartesian cell list finds every pair. A skewed cell that
describes a lattice with a more compact basis is searched in its Minkowski-reduced basis
(the same lattice, so the same pairs and vectors, from far fewer images). The memory of the
padded images and of the pairs is estimated first and refused above the memory limit
(:mod:`slimsoap._runtime.limits`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.geometry import minkowski_reduce

from slimsoap._kernels.neighbours import cell_list_pairs, molecule_pairs
from slimsoap._runtime.limits import check_allocation
from slimsoap._validation import COINCIDENT_TOL, check_geometry
from slimsoap.systems.batching import is_small, small_frame_runs

#: Upper bound on the number of bins of the cell list (memory guard for sparse systems).
_MAX_BINS = 2_000_000
#: Bytes per padded image atom at the peak of :func:`_padded_images` (fractional and
#: Cartesian float64 coordinates, the boolean masks) and per directed pair (centre,
#: neighbour, vector, distance and the sorted copies of :func:`batch_neighbour_list`).
_BYTES_PER_IMAGE = 80
_BYTES_PER_PAIR = 96


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


def _image_reach(cell, pbc, r_cut):
    """Fractional reach r_cut / plane spacing along each periodic axis (0 if not periodic)."""
    inv = np.linalg.inv(cell)
    plane_spacing = 1.0 / np.linalg.norm(inv, axis=0)
    return inv, np.where(pbc, r_cut / plane_spacing, 0.0)


def _n_shifts(reach) -> float:
    """Number of image cells searched for a reach (the home cell included), as a float."""
    return float(np.prod(2.0 * np.ceil(reach) + 1.0))


def _pairwise_reduced(vectors: np.ndarray) -> bool:
    """Whether no vector of ``vectors`` (k, 3) shortens by adding or subtracting another:
    |v_i · v_j| ≤ min(|v_i|², |v_j|²) / 2 for every pair (Lagrange-Gauss reduced pairs)."""
    gram = vectors @ vectors.T
    sq = np.diag(gram)
    off = np.abs(gram - np.diag(sq))
    return bool(np.all(off <= 0.5 * np.minimum(sq[:, None], sq[None, :]) + 1e-12))


def search_cell(cell: np.ndarray, pbc: np.ndarray, r_cut: float) -> np.ndarray:
    """The cell (3, 3) rows in Å to search periodic images in: ``cell`` itself, or its
    Minkowski-reduced basis when that needs fewer image cells (an extreme-shear cell of a
    compact lattice); the lattice, and hence every pair vector, is the same."""
    if not pbc.any():
        return cell
    n_plain = _n_shifts(_image_reach(cell, pbc, r_cut)[1])
    if n_plain <= 27:  # at most one layer of images each way: nothing to gain
        return cell
    if _pairwise_reduced(cell[pbc]):  # ordinary cells: no Python lattice reduction per frame
        return cell
    reduced = np.asarray(minkowski_reduce(cell, pbc)[0], dtype=np.float64)
    return reduced if _n_shifts(_image_reach(reduced, pbc, r_cut)[1]) < n_plain else cell


def _padded_images(positions, cell, pbc, r_cut, frame):
    """Wrapped atoms followed by the periodic images within r_cut of the cell."""
    n = len(positions)
    if not pbc.any():
        return positions.copy(), np.arange(n)
    inv, reach = _image_reach(cell, pbc, r_cut)
    n_shifts = _n_shifts(reach)
    check_allocation(
        n_shifts * n * _BYTES_PER_IMAGE,
        f"frame {frame}: the periodic images within the cutoff",
        f"the cell is thin against r_cut = {r_cut:g} Å (lattice planes {r_cut / reach.max():.3g}"
        f" Å apart, {n_shifts:.3g} image cells of {n} atoms)",
    )
    frac = positions @ inv
    frac[:, pbc] %= 1.0
    n_img = np.where(pbc, np.ceil(reach).astype(int), 0)
    wrapped = frac @ cell
    grids = np.meshgrid(*(np.arange(-k, k + 1) for k in n_img), indexing="ij")
    shifts = np.stack([g.ravel() for g in grids], axis=1).astype(float)
    shifts = shifts[np.any(shifts != 0, axis=1)]  # (K, 3), the home cell excluded
    images = frac[None, :, :] + shifts[:, None, :]  # (K, n, 3) fractional
    keep = np.all((images >= -reach) & (images <= 1.0 + reach) | ~pbc, axis=2)
    _, owner = np.nonzero(keep)
    return np.concatenate([wrapped, images[keep] @ cell]), np.concatenate([np.arange(n), owner])


def _check_pair_memory(pos_all, n, r_cut, frame):
    """Refuse a search whose pairs would exceed the memory limit, from the density of the
    atoms and images in their bounding box (each side at least the cutoff sphere's 2 r_cut,
    so a flat layer is not taken as infinitely dense)."""
    extent = np.maximum(pos_all.max(axis=0) - pos_all.min(axis=0), 2.0 * r_cut)
    volume = float(np.prod(extent))
    per_atom = len(pos_all) / volume * (4.0 / 3.0) * np.pi * r_cut**3
    check_allocation(
        n * per_atom * _BYTES_PER_PAIR,
        f"frame {frame}: the neighbour pairs",
        f"{len(pos_all)} atoms and images in {volume:.3g} Å³ give about {per_atom:.3g} "
        f"neighbours per atom within r_cut = {r_cut:g} Å, for {n} atoms",
    )


def neighbour_list(
    atoms: Atoms, r_cut: float, frame: int = 0, checked: bool = False
) -> NeighbourList:
    """Every directed pair within ``r_cut`` (Å) of each atom of ``atoms``.

    Raises ValueError if the positions or the cell are unusable (:func:`check_geometry`,
    skipped when ``checked``: the frame came from :func:`~slimsoap._validation.as_frames`),
    or if two atoms (or an atom and its own image) are closer than ``COINCIDENT_TOL``;
    MemoryLimitError if the images or pairs of a thin cell would exceed the memory limit.
    """
    if not checked:
        check_geometry(atoms, frame)
    positions = np.asarray(atoms.positions, dtype=np.float64)
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell = search_cell(np.asarray(atoms.cell.complete(), dtype=np.float64), pbc, r_cut)
    n = len(positions)
    pos_all, owner = _padded_images(positions, cell, pbc, r_cut, frame)
    _check_pair_memory(pos_all, n, r_cut, frame)
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
