"""radial_distribution: ASE's get_rdf up to its N² normalisation, an ideal gas at 1, the
coordination shells of fcc (any cell, r_max beyond the box), peak refinement, bad input."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.geometry.rdf import get_rdf

from slimsoap.analysis import RDF, radial_distribution

METALS = ["Ni", "Cu", "Pd"]


def liquid_like(seed: int) -> Atoms:
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(3)
    atoms.symbols = rng.choice(METALS, len(atoms))
    atoms.positions += rng.normal(scale=0.3, size=atoms.positions.shape)
    return atoms


@pytest.mark.parametrize("species", [None, ("Ni", "Pd"), ("Cu", "Cu")])
def test_matches_ase_times_n_over_n_minus_1(species):
    frames = [liquid_like(s) for s in range(3)]
    ours = radial_distribution(frames, r_max=5.5, n_bins=55, species=species)
    ref, r = get_rdf(frames, 5.5, 55, elements=species)
    # ASE divides by N_A N_B; we by the ordered pairs N_A (N_A − 1) when A = B
    factors = []
    for atoms in frames:
        n = len(atoms) if species is None else int(np.sum(atoms.symbols == species[0]))
        same = species is None or species[0] == species[1]
        factors.append(n / (n - 1) if same else 1.0)
    frame_refs = [get_rdf(a, 5.5, 55, elements=species)[0] * f for a, f in zip(frames, factors)]
    np.testing.assert_allclose(ours.r, r, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.g, np.mean(frame_refs, axis=0), rtol=1e-12, atol=1e-12)
    assert not np.allclose(ours.g, ref) or species == ("Ni", "Pd")
    assert ours.n_frames == 3


def test_ideal_gas_is_one():
    rng = np.random.default_rng(1)
    frames = [Atoms("Cu10", positions=rng.uniform(0, 10, (10, 3)), cell=[10] * 3, pbc=True)
              for _ in range(400)]  # fmt: skip
    rdf = radial_distribution(frames, r_max=4.0, n_bins=4)
    # ~9,500 pairs in [1, 4) Å: 1 % noise; the N² convention would give 0.9
    assert abs(rdf.g[1:].mean() - 1.0) < 0.03


@pytest.mark.parametrize("repeat", [1, 2])
def test_fcc_coordination_shells_in_any_cell(repeat):
    a = 3.6
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(repeat)
    rdf = radial_distribution(atoms, r_max=6.0, n_bins=600)  # beyond the 3.6 Å box
    n, volume = len(atoms), atoms.get_volume()
    per_atom = (n - 1) / volume * rdf.g * 4 * np.pi / 3 * np.diff(rdf.edges**3)
    shells = np.sqrt(np.array([0.5, 1.0, 1.5, 2.0, 2.5])) * a  # 12, 6, 24, 12, 24
    for radius, count in zip(shells, (12, 6, 24, 12, 24)):
        window = np.abs(rdf.r - radius) < 0.05
        assert per_atom[window].sum() == pytest.approx(count, abs=1e-9)
    assert per_atom.sum() == pytest.approx(78, abs=1e-9)
    assert rdf.first_peak()[0] == pytest.approx(a / np.sqrt(2), abs=0.01)


def test_first_peak_is_refined_between_bins():
    edges = np.linspace(0, 6, 301)
    r = 0.5 * (edges[1:] + edges[:-1])
    g = 3.0 * np.exp(-((r - 2.537) ** 2) / (2 * 0.1**2)) + 0.8 * np.exp(-(((r - 4.6) / 0.2) ** 2))
    position, height = RDF(edges, r, g, None, 1).first_peak(r_min=1.0)
    assert position == pytest.approx(2.537, abs=2e-4)
    assert height == pytest.approx(3.0, abs=2e-3)


def test_bad_input():
    atoms = liquid_like(0)
    with pytest.raises(ValueError, match="3-D periodic"):
        radial_distribution(Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]]), 5.0)
    with pytest.raises(ValueError, match="r_max"):
        radial_distribution(atoms, 0.0)
    with pytest.raises(ValueError, match="n_bins"):
        radial_distribution(atoms, 5.0, n_bins=0)
    with pytest.raises(ValueError, match="too few atoms of species"):
        radial_distribution(atoms, 5.0, species=("Ni", "Au"))
    with pytest.raises(ValueError, match="unknown chemical species"):
        radial_distribution(atoms, 5.0, species=("Ni", "Qq"))
    with pytest.raises(ValueError, match="pair"):
        radial_distribution(atoms, 5.0, species="Ni")
    with pytest.raises(ValueError, match="too few atoms"):
        radial_distribution(bulk("Cu", "fcc", a=3.6), 5.0)
