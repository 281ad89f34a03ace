"""slimsoap's ACSF against DScribe's ``dscribe.descriptors.ACSF`` (2.1).

Conventions (read from DScribe's ``ext/acsf.cpp``):
- DScribe always includes G1 = Σ_j f_c(r_ij): per neighbour species its block is
  [G1, G2...], which is slimsoap's ``nu2`` layout with ``g1=True``.
- G4/G5 count each unordered neighbour pair once, with the prefactor 2·(½(1+λcosθ))^ζ =
  2^{1-ζ}(1+λcosθ)^ζ; G4 terms with r_jk > r_cut are dropped; blocks follow the unordered
  species pairs (0,0), (0,1), (1,1), (0,2), ... with all G4 then all G5 in each block.
Under these conventions the numbers agree to rounding, with no conversion factor.
"""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from slimsoap.acsf.calculator import ACSF, species_pairs

dscribe = pytest.importorskip("dscribe.descriptors")

G2 = [[0.5, 0.0], [1.0, 1.5], [0.2, 3.0]]
G4 = [[0.05, 1, 1], [0.1, 2, -1], [0.01, 4, 1]]
G5 = [[0.02, 1, -1], [0.3, 4, 1]]


def molecules() -> Atoms:
    """Ethanol, ammonia and HCN side by side: H, C, N, O (4 species)."""
    parts = [molecule("CH3CH2OH"), molecule("NH3"), molecule("HCN")]
    for k, m in enumerate(parts):
        m.translate([2.7 * k, 0.4 * k, -0.3 * k])
    out = parts[0]
    for m in parts[1:]:
        out += m
    return out


def alloy() -> Atoms:
    rng = np.random.default_rng(1)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    atoms.symbols = rng.choice(["Cu", "Ag", "Au", "Pd"], len(atoms))
    atoms.rattle(0.1, seed=2)
    return atoms


@pytest.mark.parametrize(
    ("atoms", "species", "r_cut", "periodic"),
    [
        (molecules(), ["H", "C", "N", "O"], 5.0, False),
        (alloy(), ["Cu", "Ag", "Au", "Pd"], 4.5, True),
    ],
    ids=["molecules", "periodic-alloy"],
)
def test_nu2_equals_dscribe(atoms, species, r_cut, periodic):
    ours = ACSF(species, r_cut, G2, G4, G5, g1=True).compute(atoms).values
    ref = dscribe.ACSF(
        r_cut=r_cut, g2_params=G2, g4_params=G4, g5_params=G5, species=species, periodic=periodic
    ).create(atoms)
    assert ours.shape == ref.shape
    assert np.abs(ref[:, len(species) * 4 :]).max() > 1e-3  # the 3-body part is exercised
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-13)


def test_nu2_without_g1_and_the_paper_compressions_from_dscribe_blocks():
    """The paper formed ν,μ=1,1 and μ=2 by summing DScribe's ν=2 blocks; so do we here."""
    species, s = ["H", "C", "N", "O"], 4
    atoms = molecules()
    ref = dscribe.ACSF(r_cut=5.0, g2_params=G2, g4_params=G4, species=species).create(atoms)
    n_rad, n_ang = 1 + len(G2), len(G4)
    rad = ref[:, : s * n_rad].reshape(len(atoms), s, n_rad)[:, :, 1:]  # drop DScribe's G1
    ang = ref[:, s * n_rad :].reshape(len(atoms), -1, n_ang)
    nu2 = ACSF(species, 5.0, G2, G4).compute(atoms).values
    np.testing.assert_allclose(
        nu2,
        np.hstack([rad.reshape(len(atoms), -1), ang.reshape(len(atoms), -1)]),
        rtol=1e-12,
        atol=1e-13,
    )
    pairs = species_pairs(s)
    per_alpha = [ang[:, [p for p, pr in enumerate(pairs) if a in pr]].sum(1) for a in range(s)]
    nu1mu1 = ACSF(species, 5.0, G2, G4, compression="nu1mu1").compute(atoms).values
    np.testing.assert_allclose(
        nu1mu1[:, s * len(G2) :], np.hstack(per_alpha), rtol=1e-12, atol=1e-13
    )
    mu2 = ACSF(species, 5.0, G2, G4, compression="mu2").compute(atoms).values
    np.testing.assert_allclose(mu2, np.hstack([rad.sum(1), ang.sum(1)]), rtol=1e-12, atol=1e-13)


def test_gradients_agree_with_dscribe_numerical_derivatives():
    species = ["H", "C", "N", "O"]
    atoms = molecules()
    n = len(atoms)
    f = ACSF(species, 5.0, G2, G4, G5, g1=True).compute(atoms, gradients=True)
    ours = np.zeros((n, n, 3, f.gradients.shape[2]))
    np.add.at(ours, (f.gradient_pairs[:, 0], f.gradient_pairs[:, 1]), f.gradients)
    ref = dscribe.ACSF(
        r_cut=5.0, g2_params=G2, g4_params=G4, g5_params=G5, species=species
    ).derivatives(atoms, attach=True, return_descriptor=False)
    # DScribe differentiates with central differences of step 1e-4 Å (error O(h²))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6 * np.abs(ref).max())
