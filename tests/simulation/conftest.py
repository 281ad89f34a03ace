"""A small EMT-trained 5-metal SparseGP shared by the simulation tests (fitted once)."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from slimsoap import SOAP
from slimsoap.models import PairBaseline, SparseGP

METALS = ["Ni", "Cu", "Pd", "Ag", "Pt"]
#: A triclinic shear of the cubic fcc cell (rows: new cell = cell @ SHEAR).
SHEAR = np.array([[1.0, 0.06, -0.04], [0.03, 1.0, 0.05], [0.0, -0.02, 1.0]])


def emt_alloy(seed: int, repeat=(2, 1, 1), a: float = 3.85, rattle: float = 0.08):
    """A rattled, sheared fcc cell of random 5-metal species, labelled with EMT."""
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(repeat)
    atoms.symbols = [METALS[k] for k in np.arange(len(atoms)) % 5]
    atoms.numbers = rng.permutation(atoms.numbers)
    atoms.set_cell(atoms.cell @ (SHEAR if seed % 2 else np.eye(3)), scale_atoms=True)
    atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
    atoms.calc = EMT()
    atoms.info["energy"] = atoms.get_potential_energy()
    atoms.arrays["forces"] = atoms.get_forces()
    atoms.info["virial"] = -atoms.get_stress(voigt=False) * atoms.get_volume()
    atoms.calc = None
    return atoms


def small_soap() -> SOAP:
    return SOAP(METALS, r_cut=4.5, n_max=3, l_max=2, sigma=0.4, cutoff_width=1.0)


@pytest.fixture(scope="session")
def emt_train():
    return [emt_alloy(s) for s in range(10)]


@pytest.fixture(scope="session")
def emt_model(emt_train):
    """SparseGP (ζ=2, pair baseline) on 10 EMT cells of 8 atoms."""
    model = SparseGP(
        small_soap(),
        zeta=2,
        n_sparse=12,
        selection="fps",
        sigma_energy=0.002,
        sigma_force=0.05,
        sigma_virial=0.02,
        baseline=PairBaseline(r_cut=4.5, n_basis=6),
    )
    return model.fit(emt_train)
