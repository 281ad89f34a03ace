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

from slimsoap._kernels.neighbours import cell_list_pairs, molecule_pairs, periodic_images
from slimsoap._validation import COINCIDENT_TOL, check_frames, check_geometry
from slimsoap.systems import batching, guards
from slimsoap.systems.cells import image_reach, n_shifts, rows_times, search_cell
from slimsoap.systems.frames import FrameArrays, completed_cells, gather
from slimsoap.systems.periodic_batch import periodic_batch_pairs

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


def _padded_images(positions, cell, pbc, r_cut, frame):
    """Wrapped atoms followed by the periodic images within r_cut of the cell."""
    n = len(positions)
    if not pbc.any():
        return positions.copy(), np.arange(n)
    inv, reach = image_reach(cell, pbc, r_cut)
    guards.check_images(float(n_shifts(reach)), n, reach, r_cut, frame)
    frac = rows_times(positions, inv)
    frac[:, pbc] %= 1.0
    n_img = np.where(pbc, np.ceil(reach).astype(np.int64), 0)
    wrapped = rows_times(frac, cell)
    # shifts in C order (home cell excluded), atoms inner; kept where every periodic
    # coordinate lies in [-reach, 1 + reach]
    images, owner, _ = periodic_images(
        frac, np.array([0, n], dtype=np.int64), n_img[None], reach[None],
        pbc[None],
    )  # fmt: skip
    images = rows_times(images, cell)
    return np.concatenate([wrapped, images]), np.concatenate([np.arange(n), owner])


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
    guards.check_pairs(len(pos_all), pos_all.min(axis=0), pos_all.max(axis=0), n, r_cut, frame)
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


def batch_neighbour_list(
    frames: list[Atoms],
    r_cut: float,
    first_frame: int = 0,
    checked: bool = False,
    data: FrameArrays | None = None,
    per_frame_order: bool = False,
) -> NeighbourList:
    """The pairs of several frames at once, over their concatenated atoms (batch indices).

    Small frames (at most ``SMALL_FRAME`` atoms, :mod:`slimsoap.systems.batching`) share
    one search: periodic ones (any cell, slabs too) in one batched cell-list search with the
    per-frame search's arithmetic (:mod:`slimsoap.systems.periodic_batch`: the same pairs,
    order and vectors as :func:`neighbour_list`, to the bit), non-periodic ones (molecules)
    in one brute-force kernel call (the same pairs and vectors; within a centre, in
    neighbour order). Larger frames use :func:`neighbour_list`.

    Args:
        frames: the frames, in order.
        r_cut: cutoff (Å).
        first_frame: number of ``frames[0]`` in error messages.
        checked: the frames came from :func:`~slimsoap._validation.as_frames` (geometry
            already checked).
        data: :func:`~slimsoap.systems.frames.gather` of ``frames`` if already made.
        per_frame_order: molecules through the batched cell list too, so that every
            frame's pairs are those of :func:`neighbour_list` to the bit, in its order.

    Raises the error :func:`neighbour_list` raises for the first bad frame.
    """
    return _guarded(frames, r_cut, first_frame, checked, data, not per_frame_order)


def frame_neighbour_lists(
    frames: list[Atoms],
    r_cut: float,
    first_frame: int = 0,
    checked: bool = False,
    data: FrameArrays | None = None,
) -> list[NeighbourList]:
    """:func:`neighbour_list` of every frame (frame-local indices), equal to it field for
    field and bit for bit, from one batched search of the small frames (periodic or not).

    Arguments and errors as :func:`batch_neighbour_list`.
    """
    data = gather(frames) if data is None else data
    nl = _guarded(frames, r_cut, first_frame, checked, data, molecules_brute_force=False)
    out = []
    for f in range(len(frames)):
        a0, a1 = data.starts[f], data.starts[f + 1]
        p0, p1 = nl.offsets[a0], nl.offsets[a1]
        out.append(
            NeighbourList(
                nl.centres[p0:p1] - a0,
                nl.neighbours[p0:p1] - a0,
                nl.vectors[p0:p1],
                nl.distances[p0:p1],
                nl.offsets[a0 : a1 + 1] - p0,
            )
        )
    return out


def _guarded(frames, r_cut, first_frame, checked, data, molecules_brute_force) -> NeighbourList:
    """:func:`_batch_pairs`, with the error of the per-frame search for the first bad frame."""
    data = gather(frames) if data is None else data
    if not checked:
        check_frames(frames, first_frame, data)
    try:
        return _batch_pairs(frames, data, r_cut, first_frame, molecules_brute_force)
    except ValueError:  # coincident atoms or the memory limit: name the first bad frame
        for f, atoms in enumerate(frames):
            neighbour_list(atoms, r_cut, first_frame + f, checked=True)
        raise


def _subset(data: FrameArrays, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batch atom rows (m,) of the ``chosen`` frames, and their frame offsets (k + 1,)."""
    sizes = data.sizes[chosen]
    starts = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    rows = np.arange(starts[-1], dtype=np.int64) + np.repeat(
        data.starts[:-1][chosen] - starts[:-1], sizes
    )
    return rows, starts


def _batch_pairs(frames, data, r_cut, first_frame, molecules_brute_force) -> NeighbourList:
    """Pairs (batch indices) of the frames of ``data``: small frames batched, others alone."""
    r_cut = float(r_cut)
    periodic = data.pbc.any(axis=1)
    small = data.sizes <= batching.SMALL_FRAME
    brute = small & ~periodic if molecules_brute_force else np.zeros_like(small)
    parts = []  # (centres, neighbours, vectors, distances), batch indices, each by centre
    if brute.any():
        rows, starts = _subset(data, np.flatnonzero(brute))
        off, nb, vec, dist, _, _ = molecule_pairs(data.positions[rows], starts, r_cut)
        centres = np.repeat(rows, np.diff(off))
        parts.append((centres, rows[nb], vec, dist))
    batched = np.flatnonzero(small & ~brute)
    if len(batched):
        rows, starts = _subset(data, batched)
        cells = completed_cells(frames, data, batched)
        i, j, vec = periodic_batch_pairs(
            data.positions[rows], starts, cells, data.pbc[batched], r_cut,
            batched + first_frame, _MAX_BINS,
        )  # fmt: skip
        parts.append((rows[i], rows[j], vec, np.sqrt(np.einsum("ij,ij->i", vec, vec))))
    for f in np.flatnonzero(~small):
        nl = neighbour_list(frames[f], r_cut, first_frame + int(f), checked=True)
        a0 = data.starts[f]
        parts.append((nl.centres + a0, nl.neighbours + a0, nl.vectors, nl.distances))
    centres, neighbours, vectors, distances = (
        parts[0] if len(parts) == 1 else [np.concatenate(p) for p in zip(*parts)]
    )
    if len(parts) > 1 and np.any(centres[1:] < centres[:-1]):  # kinds of frames interleave
        order = np.argsort(centres, kind="stable")
        centres, neighbours = centres[order], neighbours[order]
        vectors, distances = vectors[order], distances[order]
    if len(distances) and distances.min() < COINCIDENT_TOL:
        k = int(np.argmin(distances))
        f = int(np.searchsorted(data.starts, centres[k], "right")) - 1
        a0 = data.starts[f]
        raise ValueError(
            f"frame {first_frame + f}: atoms {centres[k] - a0} and {neighbours[k] - a0} are at "
            f"the same position (distance {distances[k]:.2e} Å)"
        )
    offsets = np.zeros(data.starts[-1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(centres, minlength=data.starts[-1]), out=offsets[1:])
    return NeighbourList(
        centres.astype(np.int64, copy=False),
        neighbours.astype(np.int64, copy=False),
        np.ascontiguousarray(vectors, dtype=np.float64),
        np.ascontiguousarray(distances, dtype=np.float64),
        offsets,
    )
