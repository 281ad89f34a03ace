"""Radial distribution functions g(r) of periodic structures (total or one species pair).

For a frame of N atoms in a cell of volume V, with n(r₁, r₂) the number of ordered pairs
(i, j ≠ i, every periodic image of j) whose distance lies in [r₁, r₂)::

    g(r) = V / (N (N − 1)) · n(r₁, r₂) / (4π/3 (r₂³ − r₁³))

so that an ideal gas gives exactly 1 on average. The partial g_AB counts centres of
species A and neighbours of species B and divides by N_A N_B (N_A (N_A − 1) when A = B).
Each frame is normalised with its own volume and atom counts, then the frames are
averaged, so trajectories at varying volume (NPT) are handled. Distances beyond half the
box are fine: the neighbour search includes every image within ``r_max``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from slimsoap._validation import as_frames, check_int, check_positive, species_to_numbers
from slimsoap.systems.neighbours import neighbour_list


@dataclass
class RDF:
    """A radial distribution function averaged over frames.

    Attributes:
        edges: (n_bins + 1,) bin edges in Å, from 0 to ``r_max``.
        r: (n_bins,) bin centres in Å.
        g: (n_bins,) g(r), dimensionless (→ 1 at large r in a liquid).
        species: the atomic numbers (A, B) of a partial g_AB, or ``None`` for the total.
        n_frames: frames averaged.
    """

    edges: np.ndarray
    r: np.ndarray
    g: np.ndarray
    species: tuple[int, int] | None
    n_frames: int

    def first_peak(self, r_min: float = 0.0) -> tuple[float, float]:
        """Position (Å) and height of the highest maximum of g beyond ``r_min`` Å, refined
        by a parabola through the highest bin and its two neighbours."""
        mask = self.r >= r_min
        if mask.sum() < 3:
            raise ValueError(f"fewer than 3 bins beyond r_min={r_min} Å")
        idx = np.flatnonzero(mask)
        k = int(idx[np.argmax(self.g[idx])])
        k = min(max(k, idx[0] + 1), len(self.g) - 2)
        y0, y1, y2 = self.g[k - 1 : k + 2]
        curvature = y0 - 2 * y1 + y2
        shift = 0.0 if curvature >= 0 else 0.5 * (y0 - y2) / curvature
        dr = self.r[1] - self.r[0]
        return float(self.r[k] + shift * dr), float(y1 - 0.25 * (y0 - y2) * shift)


def radial_distribution(
    frames: Atoms | Sequence[Atoms],
    r_max: float,
    n_bins: int = 100,
    species: tuple[str | int, str | int] | None = None,
) -> RDF:
    """g(r) on ``n_bins`` equal bins of [0, ``r_max``) Å, averaged over ``frames``.

    Args:
        frames: one or more 3-D periodic ``ase.Atoms`` (the volume must be defined).
        r_max: outer edge of the last bin, Å (> 0).
        n_bins: number of bins (≥ 1).
        species: ``(A, B)`` (symbols or atomic numbers) for the partial g_AB; ``None``
            for the total g(r).

    Raises:
        ValueError: a frame that is not 3-D periodic, a frame with fewer than two atoms
            (or of the requested species), or a non-positive ``r_max``.
    """
    r_max = check_positive("r_max", r_max)
    n_bins = check_int("n_bins", n_bins, 1)
    frames = as_frames(frames)
    pair = None
    if species is not None:
        if isinstance(species, str) or len(species) != 2:
            raise ValueError(f"species must be a pair (A, B) of elements, got {species!r}")
        a = int(species_to_numbers([species[0]])[0])
        b = int(species_to_numbers([species[1]])[0])
        pair = (a, b)
    edges = np.linspace(0.0, r_max, n_bins + 1)
    shells = 4.0 * np.pi / 3.0 * np.diff(edges**3)
    total = np.zeros(n_bins)
    for f, atoms in enumerate(frames):
        if not atoms.pbc.all() or atoms.cell.rank != 3:
            raise ValueError(f"frame {f}: g(r) needs a 3-D periodic cell (pbc all True)")
        nl = neighbour_list(atoms, r_max, frame=f, checked=True)
        d, n_pairs = nl.distances, _pair_count(atoms, pair, f)
        if pair is not None:
            z = atoms.numbers
            d = d[(z[nl.centres] == pair[0]) & (z[nl.neighbours] == pair[1])]
        counts = np.histogram(d, bins=edges)[0]
        total += atoms.get_volume() / n_pairs * counts / shells
    r = 0.5 * (edges[1:] + edges[:-1])
    return RDF(edges, r, total / len(frames), pair, len(frames))


def _pair_count(atoms: Atoms, pair: tuple[int, int] | None, frame: int) -> int:
    """Ordered pairs (i, j ≠ i) of the normalisation: N(N−1), N_A N_B or N_A(N_A−1)."""
    if pair is None:
        n_a = n_b = len(atoms)
        same = True
    else:
        n_a, n_b = (int(np.sum(atoms.numbers == z)) for z in pair)
        same = pair[0] == pair[1]
    count = n_a * (n_b - 1) if same else n_a * n_b
    if count == 0:
        what = "atoms" if pair is None else f"atoms of species {pair}"
        raise ValueError(f"frame {frame}: too few {what} for g(r) (N_A={n_a}, N_B={n_b})")
    return count
