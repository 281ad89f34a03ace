"""The calculator drives ASE: MD integrators, optimisers with cell relaxation, NEB,
phonons, and the i-PI socket protocol."""

import threading

import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.socketio import SocketClient, SocketIOCalculator
from ase.filters import ExpCellFilter, FrechetCellFilter
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet
from ase.mep import NEB
from ase.optimize import BFGS, FIRE
from ase.phonons import Phonons

from .conftest import emt_alloy


def test_velocity_verlet_conserves_energy(emt_model):
    atoms = emt_alloy(7, repeat=(2, 2, 1), rattle=0.0)
    atoms.calc = emt_model.calculator()
    thermalize_momenta(atoms, 600, rng=np.random.default_rng(0))
    e0 = atoms.get_total_energy()
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    totals, kinetic = [], []
    dyn.attach(lambda: totals.append(atoms.get_total_energy()), interval=1)
    dyn.attach(lambda: kinetic.append(atoms.get_kinetic_energy()), interval=1)
    dyn.run(60)
    assert np.ptp(kinetic) > 0.05  # energy flows between kinetic and potential ...
    assert np.abs(np.array(totals) - e0).max() < 1e-3 * len(atoms)  # ... and is kept


def test_langevin_runs_and_heats_a_cold_cell(emt_model):
    atoms = emt_alloy(8, repeat=(2, 1, 1), rattle=0.0)
    atoms.calc = emt_model.calculator()
    dyn = Langevin(
        atoms,
        2.0 * units.fs,
        temperature_K=600,
        friction=0.05,
        fixcm=False,
        rng=np.random.default_rng(1),
    )
    dyn.run(30)
    assert 50 < atoms.get_temperature() < 3000
    assert np.isfinite(atoms.get_potential_energy())


@pytest.mark.filterwarnings("ignore:Use FrechetCellFilter")
@pytest.mark.parametrize("cell_filter", [FrechetCellFilter, ExpCellFilter])
def test_cell_relaxation_reaches_zero_force_and_stress(emt_model, cell_filter):
    atoms = emt_alloy(3, repeat=(2, 1, 1), rattle=0.05)
    atoms.set_cell(atoms.cell * 1.03, scale_atoms=True)
    atoms.calc = emt_model.calculator()
    stress0 = np.abs(atoms.get_stress()).max()
    opt = BFGS(cell_filter(atoms), logfile=None)
    assert opt.run(fmax=1e-3, steps=300)
    assert np.abs(atoms.get_forces()).max() < 1e-3
    assert np.abs(atoms.get_stress()).max() < 1e-3 / atoms.get_volume() * len(atoms)
    assert stress0 > 10 * np.abs(atoms.get_stress()).max()


def test_neb_of_a_vacancy_hop_finds_a_barrier(emt_model):
    perfect = bulk("Cu", "fcc", a=3.8, cubic=True).repeat((2, 1, 1))
    perfect.symbols = ["Ni", "Cu", "Pd", "Ag", "Pt", "Cu", "Ni", "Pd"]
    initial = perfect[1:]  # vacancy on site 0
    final = initial.copy()
    final.positions[0] = perfect.positions[0]  # atom on site 1 hops into it
    images = [initial] + [initial.copy() for _ in range(3)] + [final]
    for image in images:
        image.calc = emt_model.calculator()
    neb = NEB(images, climb=True, method="improvedtangent")
    neb.interpolate()
    assert FIRE(neb, logfile=None).run(fmax=0.05, steps=300)
    energies = [image.get_potential_energy() for image in images]
    assert max(energies) > max(energies[0], energies[-1]) + 0.05


def test_phonons_obey_the_acoustic_sum_rule(emt_model, tmp_path):
    atoms = bulk("Cu", "fcc", a=3.75)
    ph = Phonons(
        atoms, emt_model.calculator(), supercell=(2, 2, 2), delta=0.01, name=str(tmp_path / "ph")
    )
    ph.run()
    ph.read(acoustic=False)
    omega = ph.band_structure([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]])
    assert np.abs(omega[0]).max() < 1e-3  # eV: acoustic modes vanish at Γ
    assert omega[1].min() > 1e-3  # and are real and finite at L
    fc = ph.get_force_constant()
    assert np.abs(fc.sum(axis=0)).max() < 1e-2 * np.abs(fc).max()


class _ThreadClient:
    """``launch_client`` for SocketIOCalculator: an i-PI SocketClient in a thread."""

    def __init__(self, atoms):
        self.atoms = atoms
        self.thread = None

    def __call__(self, atoms, properties=None, port=None, unixsocket=None):
        def serve():
            try:
                SocketClient(unixsocket=unixsocket).run(self.atoms, use_stress=True)
            except Exception:
                pass  # the server closes the socket at the end

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        return self

    def poll(self):
        return None if self.thread.is_alive() else 0

    def wait(self):
        self.thread.join(timeout=10)
        return 0


def test_ipi_socket_round_trip(emt_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    atoms = emt_alloy(5, repeat=(2, 1, 1))
    direct = atoms.copy()
    direct.calc = emt_model.calculator()
    client_atoms = atoms.copy()
    client_atoms.calc = emt_model.calculator()
    with SocketIOCalculator(
        unixsocket="slimsoap-test", launch_client=_ThreadClient(client_atoms)
    ) as calc:
        atoms.calc = calc
        for _ in range(2):
            assert atoms.get_potential_energy() == pytest.approx(
                direct.get_potential_energy(), rel=1e-12
            )
            np.testing.assert_allclose(
                atoms.get_forces(), direct.get_forces(), rtol=1e-10, atol=1e-12
            )
            np.testing.assert_allclose(
                atoms.get_stress(), direct.get_stress(), rtol=1e-10, atol=1e-12
            )
            atoms.positions[0, 0] += 0.05
            direct.positions[0, 0] += 0.05
