"""SlimsoapCalculator: derivatives of its own energy, agreement with the model, caching."""

import numpy as np
import pytest
from ase.calculators.calculator import PropertyNotImplementedError

from slimsoap.models import EnergyModel, SparseGP
from slimsoap.models.ase_calculator import SlimsoapCalculator

from .conftest import emt_alloy, small_soap

H = 1e-4


def strained(atoms, eps):
    out = atoms.copy()
    out.set_cell(atoms.cell @ (np.eye(3) + eps).T, scale_atoms=True)
    return out


def energy(calc, atoms):
    atoms = atoms.copy()
    atoms.calc = calc
    return atoms.get_potential_energy()


def check_derivatives(calc, atoms, rtol=1e-6):
    """Forces = −∂E/∂r and Voigt stress = (1/V) ∂E/∂ε by central differences."""
    atoms = atoms.copy()
    atoms.calc = calc
    forces, stress = atoms.get_forces(), atoms.get_stress()
    fd = np.zeros_like(forces)
    for i in range(len(atoms)):
        for c in range(3):
            p, m = atoms.copy(), atoms.copy()
            p.positions[i, c] += H
            m.positions[i, c] -= H
            fd[i, c] = -(energy(calc, p) - energy(calc, m)) / (2 * H)
    np.testing.assert_allclose(forces, fd, rtol=0, atol=rtol * np.abs(fd).max())
    fd_stress = np.zeros(6)
    for k, (a, b) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        eps = np.zeros((3, 3))
        eps[a, b] = eps[b, a] = H if a == b else H / 2
        de = energy(calc, strained(atoms, eps)) - energy(calc, strained(atoms, -eps))
        fd_stress[k] = de / (2 * H) / atoms.get_volume()
    np.testing.assert_allclose(stress, fd_stress, rtol=0, atol=rtol * np.abs(fd_stress).max())
    assert np.abs(forces).max() > 1e-3 and np.abs(stress).max() > 1e-5  # not trivially zero


TRICLINIC = emt_alloy(101, repeat=(2, 2, 1), rattle=0.12)  # sheared cell, 16 atoms


def test_cell_is_triclinic_with_five_elements():
    assert len(set(TRICLINIC.numbers)) == 5 and TRICLINIC.pbc.all()
    assert np.abs(TRICLINIC.cell.angles() - 90).max() > 1.0


@pytest.mark.parametrize("sparse", [True, False])
def test_sparse_gp_forces_and_stress_are_derivatives_of_its_energy(emt_model, sparse):
    check_derivatives(emt_model.calculator(sparse=sparse), TRICLINIC)


def test_calculator_matches_the_model_and_its_per_atom_energies_sum_to_the_energy(emt_model):
    atoms = TRICLINIC.copy()
    atoms.calc = emt_model.calculator()
    ref = emt_model.predict([atoms], features=small_soap().compute([atoms], gradients=True))
    assert atoms.get_potential_energy() == pytest.approx(ref.energy[0], rel=1e-12)
    assert atoms.get_potential_energy(force_consistent=True) == atoms.get_potential_energy()
    np.testing.assert_allclose(atoms.get_forces(), ref.forces, rtol=1e-10, atol=1e-12)
    W = -atoms.get_stress(voigt=False) * atoms.get_volume()
    np.testing.assert_allclose(W, ref.virial[0], rtol=1e-10, atol=1e-12)
    energies = atoms.get_potential_energies()
    assert energies.shape == (len(atoms),)
    assert energies.sum() == pytest.approx(ref.energy[0], rel=1e-12)
    assert np.ptp(energies) > 1e-3  # species differ, so do their energies


def test_per_atom_energies_of_the_pair_baseline_sum_to_its_energy(emt_model):
    """With the GP weights zeroed only e0 + baseline remain: the per-atom split of the
    baseline must add up to its total."""
    model = SparseGP(**emt_model.get_params())
    for name in ("elements_", "e0_", "sparse_points_", "sparse_species_", "rank_"):
        setattr(model, name, getattr(emt_model, name))
    model.coef_ = emt_model.coef_.copy()
    model.coef_[: model.sparse_points_.shape[0]] = 0.0
    atoms = TRICLINIC.copy()
    atoms.calc = model.calculator()
    e0 = model.e0_[np.searchsorted(model.elements_, atoms.numbers)]
    pair = atoms.get_potential_energies() - e0
    assert np.abs(pair).min() > 1e-4
    assert pair.sum() == pytest.approx(atoms.get_potential_energy() - e0.sum(), rel=1e-12)


def test_one_descriptor_call_per_geometry(emt_model):
    calc = emt_model.calculator()
    atoms = TRICLINIC.copy()
    atoms.calc = calc
    for _ in range(3):
        atoms.get_potential_energy()
        atoms.get_forces()
        atoms.get_stress()
        atoms.get_potential_energies()
        atoms.get_potential_energy(force_consistent=True)
    assert calc.n_descriptor_calls == 1
    atoms.positions[3, 1] += 0.01
    atoms.get_stress()
    atoms.get_forces()
    assert calc.n_descriptor_calls == 2
    atoms.set_cell(atoms.cell * 1.001, scale_atoms=True)
    atoms.get_forces()
    assert calc.n_descriptor_calls == 3


def test_counted_calls_are_the_descriptor_calls(emt_model, monkeypatch):
    calls = []
    soap = small_soap()
    original = soap.compute
    monkeypatch.setattr(soap, "compute", lambda *a, **k: calls.append(k) or original(*a, **k))
    atoms = TRICLINIC.copy()
    atoms.calc = emt_model.calculator(descriptor=soap)
    atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert calls == [{"gradients": True, "strain": True, "sparse": True}]


@pytest.fixture(scope="module")
def emt_features(emt_train):
    soap = small_soap()
    X = soap.compute(emt_train).values
    s = np.repeat(np.arange(len(emt_train)), [len(a) for a in emt_train])
    E = np.array([a.info["energy"] for a in emt_train])
    Z = np.concatenate([a.numbers for a in emt_train])
    return soap, X, s, E, Z


@pytest.mark.parametrize(
    "kw",
    [
        dict(zeta=1, solver="primal"),
        dict(zeta=2, solver="exact", normalize=True),
        dict(zeta=3, solver="sparse", n_sparse=30, selection="fps"),
    ],
)
def test_energy_model_forces_and_stress_are_derivatives_of_its_energy(emt_features, kw):
    soap, X, s, E, Z = emt_features
    model = EnergyModel(sigma=1e-3, **kw).fit(X, s, E, Z)
    calc = model.calculator(soap)
    atoms = TRICLINIC.copy()
    atoms.calc = calc
    ref = model.predict(soap.compute([atoms]).values, np.zeros(len(atoms), int), atoms.numbers)
    assert atoms.get_potential_energy() == pytest.approx(ref[0], rel=1e-10)
    assert atoms.get_potential_energies().sum() == pytest.approx(ref[0], rel=1e-10)
    check_derivatives(calc, TRICLINIC)


def test_energy_model_without_forces_gives_energies_only(emt_features):
    soap, X, s, E, Z = emt_features
    calc = EnergyModel(sigma=1e-3).fit(X, s, E, Z).calculator(soap, forces=False)
    atoms = TRICLINIC.copy()
    atoms.calc = calc
    assert np.isfinite(atoms.get_potential_energy())
    assert "forces" not in calc.implemented_properties
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_forces()


def test_cluster_has_forces_but_no_stress(emt_model):
    atoms = TRICLINIC.copy()
    atoms.pbc = False
    atoms.center(vacuum=3.0)
    atoms.calc = emt_model.calculator()
    forces = atoms.get_forces()
    assert np.abs(forces.sum(axis=0)).max() < 1e-10  # no external field: momentum kept
    with pytest.raises(PropertyNotImplementedError, match="3-D periodic"):
        atoms.get_stress()


def test_bad_input(emt_model):
    with pytest.raises(RuntimeError, match="not fitted"):
        SlimsoapCalculator(SparseGP(small_soap()))
    with pytest.raises(TypeError, match="SparseGP or EnergyModel"):
        SlimsoapCalculator(object())
    with pytest.raises(ValueError, match="pass descriptor"):
        SlimsoapCalculator(EnergyModel(sigma=1.0).fit(np.eye(2), [0, 1], [1.0, 2.0], [1, 1]))
    with pytest.raises(ValueError, match="needs a SOAP"):
        emt_model.calculator(descriptor=object(), sparse=True)
    atoms = TRICLINIC.copy()
    atoms.numbers[0] = 79  # Au: not among the training elements
    atoms.calc = emt_model.calculator()
    with pytest.raises(ValueError, match="Au"):
        atoms.get_potential_energy()
