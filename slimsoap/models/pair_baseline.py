"""A 2-body baseline for the sparse GP force field, fitted jointly with it.

E_2b = ½ Σ_{i≠j, r_ij<r_cut} Σ_k c_{k, {s_i, s_j}} φ_k(r_ij),
φ_k(r) = exp(−(r − r_k)² / 2w²) · f_cut(r)

with ``n_basis`` Gaussians centred on a uniform grid r_k in [r_min, r_cut] (width w = grid
spacing), one coefficient set per unordered species pair, and the smooth cosine cutoff
f_cut(r) = ½(1 + cos(π r / r_cut)). The energy is linear in the coefficients, so the
baseline simply adds columns to the sparse GP's least-squares problem, with a Gaussian
prior of standard deviation ``delta`` (eV) on each coefficient. Forces and virials follow
from φ'_k analytically.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms

from slimsoap._validation import check_int, check_positive, species_index
from slimsoap.systems.cutoff import cosine_cutoff
from slimsoap.systems.neighbours import neighbour_list


@dataclass
class PairBaseline:
    """Hyper-parameters of the 2-body baseline (lengths in Å, ``delta`` in eV)."""

    r_cut: float = 5.0
    n_basis: int = 8
    r_min: float = 1.0
    delta: float = 1.0

    def __post_init__(self):
        check_positive("baseline r_cut", self.r_cut)
        check_int("baseline n_basis", self.n_basis, 2)
        check_positive("baseline r_min", self.r_min, strict=False)
        check_positive("baseline delta", self.delta)
        if self.r_min >= self.r_cut:
            raise ValueError(f"baseline r_min ({self.r_min}) must be below r_cut ({self.r_cut})")

    def to_dict(self) -> dict:
        return asdict(self)

    def n_columns(self, n_species: int) -> int:
        """Number of coefficients for ``n_species`` elements."""
        return self.n_basis * n_species * (n_species + 1) // 2

    def _basis(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """φ_k(r) and φ'_k(r), each (n_pairs, n_basis)."""
        centres = np.linspace(self.r_min, self.r_cut, self.n_basis)
        w = centres[1] - centres[0]
        g = np.exp(-((r[:, None] - centres) ** 2) / (2 * w * w))
        dg = -(r[:, None] - centres) / (w * w) * g
        fc, dfc = cosine_cutoff(r, self.r_cut)
        return g * fc[:, None], dg * fc[:, None] + g * dfc[:, None]

    def design(
        self, frames: list[Atoms], elements: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Derivatives of E_2b with respect to the coefficients.

        Args:
            frames: configurations (atoms of all frames are numbered globally, in order).
            elements: (S,) sorted atomic numbers of the model's species.

        Returns:
            energy (n_frames, n_cols), forces (n_atoms_total, 3, n_cols) (= −∂E/∂r) and
            virial (n_frames, 3, 3, n_cols) (= −∂E/∂ε), for n_cols = ``n_columns(S)``.
        """
        S = len(elements)
        n_cols = self.n_columns(S)
        n_total = sum(len(a) for a in frames)
        energy = np.zeros((len(frames), n_cols))
        forces = np.zeros((n_total, 3, n_cols))
        virial = np.zeros((len(frames), 3, 3, n_cols))
        pair_slot = np.full((S, S), -1, dtype=np.int64)
        iu = np.triu_indices(S)
        pair_slot[iu] = np.arange(len(iu[0]))
        pair_slot = np.maximum(pair_slot, pair_slot.T)
        start = 0
        for f, atoms in enumerate(frames):
            nl = neighbour_list(atoms, self.r_cut, frame=f)
            spc = species_index(atoms.numbers, elements, f, "the training data")
            phi, dphi = self._basis(nl.distances)
            cols = pair_slot[spc[nl.centres], spc[nl.neighbours]][
                :, None
            ] * self.n_basis + np.arange(self.n_basis)
            rows = np.repeat(np.arange(len(nl.distances)), self.n_basis)
            np.add.at(energy[f], cols.ravel(), 0.5 * phi.ravel())
            unit = nl.vectors / nl.distances[:, None]
            # half of dE/dr_j = ½ φ' r̂ on each directed pair; F = −dE/dr
            half = 0.5 * dphi[:, None, :] * unit[:, :, None]  # (pairs, 3, n_basis)
            for c in range(3):
                fj = np.zeros((len(atoms), n_cols))
                np.add.at(fj, (nl.neighbours[rows], cols.ravel()), half[:, c, :].ravel())
                np.add.at(fj, (nl.centres[rows], cols.ravel()), -half[:, c, :].ravel())
                forces[start : start + len(atoms), c] -= fj
            # virial W_ab = −Σ_directed ½ φ'(r) r_a r_b / r
            outer = nl.vectors[:, :, None] * unit[:, None, :]  # (pairs, 3, 3)
            contrib = -0.5 * outer[:, :, :, None] * dphi[:, None, None, :]
            for a in range(3):
                for b in range(3):
                    np.add.at(virial[f, a, b], cols.ravel(), contrib[:, a, b, :].ravel())
            start += len(atoms)
        return energy, forces, virial
