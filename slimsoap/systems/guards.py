"""Memory estimates of a pair search, refused above the limit (:mod:`slimsoap._runtime.limits`).

Shared by the per-frame and the batched searches, so both refuse the same frames with the
same message. Each ``*_bytes`` function is vectorised over frames; each ``check_*`` raises
for one frame.
"""

from __future__ import annotations

import numpy as np

from slimsoap._runtime.limits import check_allocation

#: Bytes per padded image atom at the peak of the image search (fractional and Cartesian
#: float64 coordinates, the boolean masks) and per directed pair (centre, neighbour,
#: vector, distance and the sorted copies of a batched search).
BYTES_PER_IMAGE = 80
BYTES_PER_PAIR = 96


def image_bytes(shifts: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Estimated bytes of the periodic images of frames with ``shifts`` image cells (float)
    and ``n`` atoms each."""
    return shifts * n * BYTES_PER_IMAGE


def check_images(shifts: float, n: int, reach: np.ndarray, r_cut: float, frame: int) -> None:
    """Refuse frame ``frame``'s periodic images if :func:`image_bytes` exceeds the limit."""
    check_allocation(
        image_bytes(shifts, n),
        f"frame {frame}: the periodic images within the cutoff",
        f"the cell is thin against r_cut = {r_cut:g} Å (lattice planes {r_cut / reach.max():.3g}"
        f" Å apart, {shifts:.3g} image cells of {n} atoms)",
    )


def pair_density(n_points: np.ndarray, lo: np.ndarray, hi: np.ndarray, r_cut: float):
    """Box volumes (Å³) and neighbours per atom within r_cut, from the number of atoms and
    images and their bounds (..., 3); each side of the box is at least the cutoff sphere's
    2 r_cut, so a flat layer is not taken as infinitely dense."""
    extent = np.maximum(hi - lo, 2.0 * r_cut)
    volume = np.prod(extent, axis=-1)
    return volume, n_points / volume * (4.0 / 3.0) * np.pi * r_cut**3


def check_pairs(n_points: int, lo: np.ndarray, hi: np.ndarray, n: int, r_cut: float, frame: int):
    """Refuse frame ``frame``'s pairs if their estimate exceeds the memory limit."""
    volume, per_atom = pair_density(n_points, lo, hi, r_cut)
    check_allocation(
        n * per_atom * BYTES_PER_PAIR,
        f"frame {frame}: the neighbour pairs",
        f"{n_points} atoms and images in {float(volume):.3g} Å³ give about {float(per_atom):.3g} "
        f"neighbours per atom within r_cut = {r_cut:g} Å, for {n} atoms",
    )
