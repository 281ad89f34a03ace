"""Density expansion c[centre, species, n, lm] of one frame, with gradients (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slimsoap._kernels.soap import expand_density
from slimsoap._runtime.threads import run_in_threads
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
    args = (
        nl.offsets, species, pair_species, nl.vectors, nl.distances, radial, dradial, fc, dfc,
        self_radial, float(center_weight), basis.l_max, c, radial_terms, angular_terms,
    )  # fmt: skip
    run_in_threads(expand_density, args, nl.offsets)
    if not gradients:
        radial_terms = angular_terms = None
    return Expansion(c, nl, pair_species, radial_terms, angular_terms, np.arange(n_species))
