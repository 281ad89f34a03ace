"""The Bispectrum calculator: SOAP's density expansion, three channel maps, one CG coupling."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from slimsoap._runtime.buffers import zeros
from slimsoap._validation import as_frames, species_index
from slimsoap.bispectrum.compressions import (
    FactorMaps,
    build_maps,
    check_parity,
    compression_spec,
    resolve_options,
)
from slimsoap.bispectrum.contraction import Contraction
from slimsoap.calculator import CalculatorBase
from slimsoap.features import Features
from slimsoap.io.registry import register_calculator
from slimsoap.soap.basis import make_basis
from slimsoap.soap.density import density_parameters, projection_weights
from slimsoap.soap.expansion import Expansion, expand
from slimsoap.systems.neighbours import NeighbourList, neighbour_list


@register_calculator
class Bispectrum(CalculatorBase):
    """Compressed SOAP bispectrum (body order four), with position and strain gradients.

    B[a,b,c; l1,l2,l3] = Σ_m G[m1,m2,m3] (X_l1 W1)[m1,a] (X_l2 W2)[m2,b] (X_l3 W3)[m3,c],
    X_l the (2l+1) × (S·N) real density coefficients of SOAP's expansion, W_k the channel
    maps of the compression (:mod:`slimsoap.bispectrum.compressions`) and G the real
    coupling tensor from C(l1 m1, l2 m2 | l3 m3) (:mod:`slimsoap.bispectrum.coupling`).
    Units: (density coefficient)³, the coefficients being those of ``slimsoap.SOAP``.

    Args:
        species: elements (symbols or atomic numbers); sorted by Z.
        r_cut: cutoff radius (Å, > 0).
        n_max: radial functions N (≥ 1).
        l_max: largest angular momentum L (≥ 0).
        compression: a registered name (``nu3``, ``nu2mu1``, ``nu1mu2``, ``mu3``, hat
            variants, ``random``), default ``"nu3"``.
        parity: ``"even"`` keeps l1+l2+l3 even (invariant under rotations and reflections);
            ``"all"`` also keeps the odd ones (pseudoscalars: they change sign under a
            reflection).
        sigma: Gaussian width of each atom's density (Å).
        radial_basis: name of the radial basis (``"gto"``, ``"gaussian"``).
        cutoff_width: width of the cosine cutoff transition (Å, < r_cut).
        center_weight: weight of the centre atom's own Gaussian.
        dtype: float64 or float32 output (computed in float64).
        projection: h_nl of the "hat" densities, ``"exact"`` (∫ r² g_nl dr) or ``"sum"`` (1).
        **options: options of the compression (``random``: ``seed``, ``n_channels``).
    """

    def __init__(
        self,
        species: Sequence[str | int],
        r_cut: float,
        n_max: int,
        l_max: int,
        compression: str = "nu3",
        parity: str = "even",
        sigma: float = 0.5,
        radial_basis: str = "gto",
        cutoff_width: float = 0.5,
        center_weight: float = 1.0,
        dtype: type = np.float64,
        projection: str = "exact",
        **options,
    ):
        (
            self.species_z,
            self.r_cut,
            self.cutoff_width,
            self.center_weight,
            self.dtype,
            self.projection,
        ) = density_parameters(species, r_cut, cutoff_width, center_weight, dtype, projection)
        self.parity = check_parity(parity)
        self.spec = compression_spec(compression)
        self.compression = compression
        self.options = resolve_options(compression, options)
        self.basis = make_basis(radial_basis, n_max, l_max, r_cut, sigma)
        self.n_max, self.l_max, self.sigma = self.basis.n_max, self.basis.l_max, self.basis.sigma
        self.radial_basis = radial_basis
        h = projection_weights(self.basis, self.projection)
        maps = build_maps(compression, self.options, self.species_z, self.n_max, h)
        self._contraction = Contraction.build(maps, self.n_max, self.l_max, self.parity)

    @property
    def species(self) -> list[str]:
        """Chemical symbols, in the order of the species channels (ascending Z)."""
        return [chemical_symbols[z] for z in self.species_z]

    @property
    def maps(self) -> FactorMaps:
        """The three factors' channel maps W_l (S·N, K_k) and channel names."""
        return self._contraction.maps

    @property
    def n_features(self) -> int:
        """Length of one descriptor (equals :func:`bispectrum_length`)."""
        return self._contraction.n_features

    def labels(self) -> list[tuple[int, int, int, str, str, str]]:
        """What each column is: (l1, l2, l3, channel of factor 1, of 2, of 3).

        Channels are named as in :mod:`slimsoap.bispectrum.compressions`. Columns run over
        the blocks (l1, l2, l3) in lexicographic order, then the channel tuples (a, b, c)
        lexicographically. Where factors k and k+1 share a map, only l_k ≤ l_k+1 is stored
        and, for l_k = l_k+1, only channel indices in non-decreasing order (increasing when
        l1+l2+l3 is odd: those entries are antisymmetric, so the rest are ± a stored entry
        or zero).
        """
        lab = self._contraction.maps.labels
        return [
            (int(l1), int(l2), int(l3), lab[0][a], lab[1][b], lab[2][c])
            for l1, l2, l3, a, b, c in self._contraction.entries
        ]

    def flops_per_atom(self, n_neighbours: float, gradients: bool = False) -> float:
        """Floating-point operations of the contraction (after the expansion) for one centre
        with ``n_neighbours`` neighbours (gradients included when asked); see
        :meth:`~slimsoap.bispectrum.contraction.Contraction.flops_per_centre`."""
        return self._contraction.flops_per_centre(n_neighbours, gradients)

    def expand(
        self,
        atoms: Atoms,
        frame: int = 0,
        gradients: bool = False,
        neighbours: NeighbourList | None = None,
    ) -> Expansion:
        """Density coefficients (n_atoms, S, N, (L+1)²) of one frame (as ``slimsoap.SOAP``),
        over ``neighbours`` (found here unless given)."""
        species = species_index(atoms.numbers, self.species_z, frame)
        if neighbours is None:
            neighbours = neighbour_list(atoms, self.r_cut, frame)
        return expand(
            species, len(self.species_z), self.basis, self.cutoff_width, self.center_weight,
            gradients, neighbours,
        )  # fmt: skip

    def compute(
        self, frames: Atoms | Sequence[Atoms], gradients: bool = False, strain: bool = True
    ) -> Features:
        """Bispectra of every atom of ``frames`` (rows in order), optionally with gradients.

        Returns :class:`~slimsoap.features.Features`: values (n_atoms, n_features); with
        ``gradients``, ``gradient_pairs`` (n_pairs, 2) [row, atom] (unique, sorted, the
        centre included, periodic images merged), ``gradients`` (n_pairs, 3, n_features)
        ∂x/∂r in feature units per Å and, with ``strain``, ``strain_gradients``
        (n_atoms, 3, 3, n_features) = Σ_j r_ij ⊗ ∂x_i/∂r_j. The outputs are allocated
        once; float32 results are computed per frame in float64 and then rounded.
        """
        frames = as_frames(frames)
        frame_index = np.concatenate(
            [np.full(len(atoms), f, dtype=np.int64) for f, atoms in enumerate(frames)]
        )
        atom_off = np.concatenate([[0], np.cumsum([len(a) for a in frames])])
        F = self.n_features
        values = np.empty((atom_off[-1], F), dtype=self.dtype)
        if not gradients:
            for f, atoms in enumerate(frames):
                c = self.expand(atoms, f).coefficients
                values[atom_off[f] : atom_off[f + 1]] = self._contraction.values(c)
            return Features(values=values, frame_index=frame_index)
        neighbours = [neighbour_list(atoms, self.r_cut, f) for f, atoms in enumerate(frames)]
        rows = [_gradient_rows(nl, len(a)) for nl, a in zip(neighbours, frames)]
        row_off = np.concatenate([[0], np.cumsum([len(keys) for keys, _, _ in rows])])
        grads = zeros(int(row_off[-1]) * 3 * F, self.dtype).reshape(-1, 3, F)
        strains = zeros((atom_off[-1] if strain else 0) * 9 * F, self.dtype).reshape(-1, 3, 3, F)
        direct = self.dtype == np.float64
        for f, atoms in enumerate(frames):
            exp = self.expand(atoms, f, True, neighbours[f])
            _, pair_row, centre_row = rows[f]
            a0, a1, r0, r1 = atom_off[f], atom_off[f + 1], row_off[f], row_off[f + 1]
            s0, s1 = (a0, a1) if strain else (0, 0)
            out = (values[a0:a1], grads[r0:r1], strains[s0:s1])
            work = out if direct else tuple(np.zeros(o.shape) for o in out)
            self._contraction.gradients(exp, pair_row, centre_row, *work)
            if not direct:
                for o, w in zip(out, work):
                    o[...] = w
        pairs = np.concatenate([keys + atom_off[f] for f, (keys, _, _) in enumerate(rows)])
        return Features(
            values=values,
            frame_index=frame_index,
            gradient_pairs=pairs,
            gradients=grads,
            strain_gradients=strains if strain else None,
        )

    def get_params(self) -> dict:
        """Constructor arguments as JSON (species as symbols, compression options flat)."""
        return {
            "species": self.species,
            "r_cut": self.r_cut,
            "n_max": self.n_max,
            "l_max": self.l_max,
            "compression": self.compression,
            "parity": self.parity,
            "sigma": self.sigma,
            "radial_basis": self.radial_basis,
            "cutoff_width": self.cutoff_width,
            "center_weight": self.center_weight,
            "dtype": self.dtype.name,
            "projection": self.projection,
            **dataclasses.asdict(self.options),
        }


def _gradient_rows(nl: NeighbourList, n_atoms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique sorted (centre, atom) keys (n_rows, 2) of one frame (every centre's own entry
    included, images merged), the row of each pair and the row of each centre."""
    own = np.arange(n_atoms, dtype=np.int64)
    code = nl.centres.astype(np.int64) * n_atoms + nl.neighbours
    keys = np.unique(np.concatenate([code, own * n_atoms + own]))
    pair_row = np.searchsorted(keys, code)
    centre_row = np.searchsorted(keys, own * n_atoms + own)
    return np.stack([keys // n_atoms, keys % n_atoms], axis=1), pair_row, centre_row
