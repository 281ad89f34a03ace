"""Density expansion c[centre, species, n, lm] of one frame, with gradients (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slimsoap._kernels.soap import expand_blocks, expand_density
from slimsoap._runtime.scratch import scratch
from slimsoap._runtime.threads import run_in_threads, work_ranges
from slimsoap.soap.basis.base import RadialBasis
from slimsoap.soap.weighting import RadialWeighting
from slimsoap.systems.cutoff import cosine_cutoff
from slimsoap.systems.neighbours import NeighbourList


@dataclass
class Expansion:
    """Coefficients of one frame.

    Attributes:
        coefficients: (n_atoms, S, N, (L+1)²) c^α_{nlm} for every centre.
        neighbours: the pairs the expansion used.
        pair_species: (n_pairs,) species channel of each neighbour.
        radial_terms, angular_terms: (n_pairs, 2, L+1, N) and (n_pairs, 4, (L+1)²), the two
            factors of ∂c[i, pair_species[p]]/∂r_j = h_nl Y_lm r̂ + k_nl ∇Y_lm (see
            :func:`~slimsoap._kernels.soap.expand_density`), or None without gradients.
        slot_species: (S',) species index of each channel of ``coefficients`` (all S
            species, or only those present in the frame).
    """

    coefficients: np.ndarray
    neighbours: NeighbourList
    pair_species: np.ndarray
    radial_terms: np.ndarray | None
    angular_terms: np.ndarray | None
    slot_species: np.ndarray


def expand(
    species: np.ndarray,
    n_species: int,
    basis: RadialBasis,
    cutoff_width: float,
    center_weight: float,
    gradients: bool,
    neighbours: NeighbourList,
    weighting: RadialWeighting | None = None,
    self_gradients: bool = True,
) -> Expansion:
    """Expand the neighbour densities of every atom (of a frame, or of a batch of frames).

    Args:
        species: (n_atoms,) channel index 0..S-1 of each atom.
        n_species: S, number of species channels.
        basis: the radial basis (gives N, L, r_cut, σ).
        cutoff_width: width w of the cosine cutoff transition (Å).
        center_weight: weight of the centre atom's own Gaussian.
        gradients: also return the factors of ∂c/∂r per pair.
        neighbours: the pairs within basis.r_cut of those atoms (indices into ``species``).
        weighting: radial scaling g(r) of each neighbour's weight (f_c becomes f_c g, its
            derivative f_c' g + f_c g') and the rule for the centre's weight; None: g = 1.
        self_gradients: with False, the gradient factors of pairs whose neighbour is the
            centre itself (its periodic images) are zeros, not computed: position
            gradients never read them (their terms cancel); strain gradients do.
    """
    nl = neighbours
    radial, dradial = basis.integrals(nl.distances, derivatives=gradients)
    fc, dfc = cosine_cutoff(nl.distances, basis.r_cut, cutoff_width)
    if weighting is not None:
        g, dg = weighting(nl.distances)
        fc, dfc = fc * g, dfc * g + fc * dg
        center_weight = weighting.centre_weight(center_weight)
    self_radial = basis.at_origin()
    pair_species = species[nl.neighbours]
    n, P, L1, N = len(species), len(nl.distances), basis.l_max + 1, basis.n_max
    c = np.empty((n, n_species, N, L1 * L1))
    radial_terms = np.empty((P if gradients else 0, 2, L1, N))
    angular_terms = np.empty((P if gradients else 0, 4, L1 * L1))
    skip = nl.neighbours == nl.centres if gradients and not self_gradients else np.zeros(0, bool)
    args = (
        nl.offsets, species, pair_species, nl.vectors, nl.distances, radial, dradial, fc, dfc,
        self_radial, float(center_weight), basis.l_max, c, radial_terms, angular_terms, skip,
    )  # fmt: skip
    run_in_threads(expand_density, args, nl.offsets)
    if not gradients:
        radial_terms = angular_terms = None
    return Expansion(c, nl, pair_species, radial_terms, angular_terms, np.arange(n_species))


def coefficient_blocks(c: np.ndarray, l_max: int) -> tuple[np.ndarray, ...]:
    """Per l = 0..``l_max``, X_l (n, 2l+1, C) C-contiguous, of coefficients c (n, S, N,
    (L+1)²), C = S·N (species outer, radial inner)."""
    n = len(c)
    return tuple(
        np.ascontiguousarray(
            c[..., l * l : (l + 1) ** 2].reshape(n, -1, 2 * l + 1).transpose(0, 2, 1)
        )
        for l in range(l_max + 1)
    )


#: Temporaries (coefficients and radial integrals) of one range of a coefficient stream.
#: 4 MiB: batches of molecules ran 15 % faster than with 16 MiB ranges (the temporaries
#: stay in cache), big cells and small periodic cells the same within 2 % (issue 19).
STREAM_BYTES = 4 * 2**20


class CoefficientStream:
    """Coefficients c (n, S, N', (L+1)²) of a frame's centres, computed range by range.

    For values without gradients: the radial integrals and coefficients of a range of
    centres only are held at a time (:data:`STREAM_BYTES`), so memory beyond the
    neighbour list and the output stays bounded however large the frame. The numbers
    are those of :func:`expand` bit for bit (every centre is computed alone).

    Args:
        species, n_species, cutoff_width, center_weight, neighbours, weighting: as
            :func:`expand` (``species`` indexes the ``n_species`` channel slots).
        bases: the radial bases whose coefficients are concatenated along n (one, or the
            element basis and ``nu1mustar1``'s second basis).
    """

    def __init__(
        self,
        species: np.ndarray,
        n_species: int,
        bases: list[RadialBasis],
        cutoff_width: float,
        center_weight: float,
        neighbours: NeighbourList,
        weighting: RadialWeighting | None = None,
    ):
        nl = neighbours
        self.neighbours, self.bases, self.species = nl, bases, species
        self.n_species = n_species
        self.l_max = bases[0].l_max
        self.n_radial = sum(b.n_max for b in bases)
        fc, _ = cosine_cutoff(nl.distances, bases[0].r_cut, cutoff_width)
        if weighting is not None:
            fc = fc * weighting(nl.distances)[0]
            center_weight = weighting.centre_weight(center_weight)
        self.fc, self.center_weight = fc, float(center_weight)
        self.pair_species = species[nl.neighbours]

    def __len__(self) -> int:
        return len(self.species)

    def ranges(self) -> np.ndarray:
        """Bounds (k+1,) of centre ranges for the kernel threads, each within
        :data:`STREAM_BYTES` of temporaries (:func:`~slimsoap._runtime.threads.work_ranges`)."""
        L1 = self.l_max + 1
        per_centre = 8 * self.n_species * self.n_radial * L1 * L1
        per_pair = 8 * L1 * max(b.n_max for b in self.bases)
        return work_ranges(self.neighbours.offsets, per_centre, per_pair, STREAM_BYTES)

    def present(self) -> np.ndarray:
        """(n, S) bool: channel slots a centre's coefficients can be non-zero in (its own
        species with a non-zero centre weight, those of neighbours with non-zero weight),
        a superset of the non-zero blocks of :meth:`coefficients`."""
        nl = self.neighbours
        out = np.zeros((len(self), self.n_species), dtype=bool)
        if self.center_weight != 0:
            own = np.flatnonzero(self.species >= 0)
            out[own, self.species[own]] = True
        live = self.fc != 0
        out[nl.centres[live], self.pair_species[live]] = True
        return out

    def coefficients(self, first: int, stop: int) -> np.ndarray:
        """c of centres first:stop, (stop - first, S, N', (L+1)²); calls the kernels in
        the calling thread (ranges may run in parallel threads)."""
        nl = self.neighbours
        p0, p1 = int(nl.offsets[first]), int(nl.offsets[stop])
        offsets = nl.offsets[first : stop + 1] - p0
        n, L1 = stop - first, self.l_max + 1
        parts = []
        for basis in self.bases:
            radial, dradial = basis.integrals(nl.distances[p0:p1], derivatives=False)
            c = np.empty((n, self.n_species, basis.n_max, L1 * L1))
            expand_density(
                offsets, self.species[first:stop], self.pair_species[p0:p1],
                nl.vectors[p0:p1], nl.distances[p0:p1], radial, dradial, self.fc[p0:p1],
                self.fc[p0:p1], basis.at_origin(), self.center_weight, self.l_max, c,
                np.empty((0, 2, L1, basis.n_max)), np.empty((0, 4, L1 * L1)),
                np.zeros(0, dtype=np.bool_), 0, n,
            )  # fmt: skip
            parts.append(c)
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=2)

    def blocks(self, first: int, stop: int, reuse: bool = False) -> list[np.ndarray]:
        """The coefficients of centres first:stop as the contraction reads them: per l,
        X_l (stop - first, 2l+1, S·N'), C-contiguous (m-major; columns species outer,
        radial inner); the same numbers as :meth:`coefficients`. With ``reuse`` the blocks
        are the calling thread's scratch arrays (:func:`~slimsoap._runtime.scratch.scratch`),
        valid until its next ``blocks(..., reuse=True)``."""
        L1 = self.l_max + 1
        n, C = stop - first, self.n_species * self.n_radial
        if len(self.bases) > 1:
            return list(coefficient_blocks(self.coefficients(first, stop), self.l_max))
        nl, basis = self.neighbours, self.bases[0]
        p0, p1 = int(nl.offsets[first]), int(nl.offsets[stop])
        radial, _ = basis.integrals(nl.distances[p0:p1], derivatives=False)
        if reuse:
            out = tuple(scratch(("blocks", l), (n, 2 * l + 1, C)) for l in range(L1))
        else:
            out = tuple(np.empty((n, 2 * l + 1, C)) for l in range(L1))
        expand_blocks(
            nl.offsets[first : stop + 1] - p0, self.species[first:stop],
            self.pair_species[p0:p1], nl.vectors[p0:p1], nl.distances[p0:p1], radial,
            self.fc[p0:p1], basis.at_origin(), self.center_weight, self.l_max, out, 0, n,
        )  # fmt: skip
        return list(out)
