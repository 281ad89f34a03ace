"""LAMMPS through ``fix external pf/callback`` gives the ASE calculator's numbers."""

import numpy as np
import pytest
from ase import units
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet

from slimsoap.models import EnergyModel

from .conftest import METALS, emt_alloy, small_soap

pytest.importorskip("lammps")
from slimsoap.lammps import (  # noqa: E402
    VELOCITY_TO_METAL,
    attach,
    create_system,
    load_lammps,
    pack_images,
    unpack_images,
    unwrapped_positions,
)

N_STEPS = 100
DT_FS = 1.0


@pytest.fixture
def start():
    """A 32-atom 5-metal triclinic cell in LAMMPS form, at 800 K."""
    atoms = emt_alloy(5, repeat=(2, 2, 2), rattle=0.05)
    atoms.set_cell(atoms.cell.standard_form()[0], scale_atoms=True)
    thermalize_momenta(atoms, 800, rng=np.random.default_rng(3))
    return atoms


def lammps_with(atoms, model):
    lmp = load_lammps()
    create_system(lmp, atoms, METALS)
    fix = attach(lmp, model, METALS)
    lmp.command(f"timestep {DT_FS / 1000}")
    lmp.command("compute pvir all pressure NULL virial")
    lmp.command("compute epa all pe/atom fix")
    lmp.command("thermo_style custom step pe ke")
    return lmp, fix


def lammps_atoms_order(lmp):
    return np.argsort(lmp.numpy.extract_atom("id")[: lmp.get_natoms()])


def test_energy_forces_virial_and_per_atom_energies_match_ase_every_step(emt_model, start):
    lmp, fix = lammps_with(start, emt_model)
    lmp.command("fix integrate all nve")
    reference = emt_model.calculator()
    for step in range(10):
        lmp.command("run 1" if step else "run 0")
        atoms = start.copy()
        atoms.positions = unwrapped_positions(lmp)
        atoms.calc = reference
        n = len(atoms)
        order = lammps_atoms_order(lmp)
        assert lmp.get_thermo("pe") == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
        forces = lmp.numpy.extract_atom("f")[:n][order]
        np.testing.assert_allclose(forces, atoms.get_forces(), rtol=0, atol=1e-10)
        per_atom = lmp.numpy.extract_compute("epa", 1, 1)[:n][order]
        np.testing.assert_allclose(per_atom, atoms.get_potential_energies(), rtol=0, atol=1e-10)
        pressure = lmp.numpy.extract_compute("pvir", 0, 1)  # bar, xx yy zz xy xz yz
        voigt = -atoms.get_stress()[[0, 1, 2, 5, 4, 3]] / units.bar
        # LAMMPS's eV/Å³ → bar factor is 1.6021765e6, ASE's 1.602176634e6 (7e-8 apart)
        np.testing.assert_allclose(pressure, voigt, rtol=2e-7, atol=1e-6)
    assert fix.n_calls == 1 + 9 * 2  # every run evaluates at its setup and after its step


def test_nve_trajectory_matches_ase_velocity_verlet(emt_model, start):
    lmp, _ = lammps_with(start, emt_model)
    lmp.command("fix integrate all nve")
    lmp.command(f"run {N_STEPS}")
    atoms = start.copy()
    atoms.calc = emt_model.calculator()
    VelocityVerlet(atoms, timestep=DT_FS * units.fs).run(N_STEPS)
    moved = np.linalg.norm(atoms.positions - start.positions, axis=1).max()
    assert moved > 0.1  # the atoms went somewhere in 100 fs
    np.testing.assert_allclose(unwrapped_positions(lmp), atoms.positions, rtol=0, atol=1e-6)
    n = len(atoms)
    v = lmp.numpy.extract_atom("v")[:n][lammps_atoms_order(lmp)]
    np.testing.assert_allclose(v / VELOCITY_TO_METAL, atoms.get_velocities(), atol=1e-6)
    assert lmp.get_thermo("pe") == pytest.approx(atoms.get_potential_energy(), abs=1e-5)


def test_image_flags_round_trip():
    lmp = load_lammps()
    image = np.array([[0, 0, 0], [-1, 2, -3], [511, -512, 7]])
    np.testing.assert_array_equal(unpack_images(lmp, pack_images(lmp, image)), image)


def test_start_outside_the_cell_keeps_its_unwrapped_positions(emt_model, start):
    assert (start.cell.scaled_positions(start.positions) < 0).any()
    lmp, _ = lammps_with(start, emt_model)
    np.testing.assert_allclose(unwrapped_positions(lmp), start.positions, rtol=0, atol=1e-12)


def test_bad_setups_are_refused(emt_model, start):
    lmp = load_lammps()
    with pytest.raises(ValueError, match="no LAMMPS type"):
        create_system(lmp, start, METALS[:3])
    sheared = start.copy()
    sheared.set_cell(start.cell.T, scale_atoms=True)
    with pytest.raises(ValueError, match="lower triangular"):
        create_system(lmp, sheared, METALS)
    lmp.command("units real")
    with pytest.raises(ValueError, match="units metal"):
        attach(lmp, emt_model, METALS)


def test_energy_model_drives_lammps_with_its_descriptor(emt_train, start):
    soap = small_soap()
    X = soap.compute(emt_train).values
    s = np.repeat(np.arange(len(emt_train)), [len(a) for a in emt_train])
    E = np.array([a.info["energy"] for a in emt_train])
    Z = np.concatenate([a.numbers for a in emt_train])
    model = EnergyModel(zeta=2, sigma=1e-3, solver="exact").fit(X, s, E, Z)
    lmp = load_lammps()
    create_system(lmp, start, METALS)
    attach(lmp, model, METALS, descriptor=soap)
    lmp.command("run 0")
    atoms = start.copy()
    atoms.calc = model.calculator(soap)
    assert lmp.get_thermo("pe") == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
    order = np.argsort(lmp.numpy.extract_atom("id")[: len(atoms)])
    forces = lmp.numpy.extract_atom("f")[: len(atoms)][order]
    np.testing.assert_allclose(forces, atoms.get_forces(), rtol=0, atol=1e-10)
