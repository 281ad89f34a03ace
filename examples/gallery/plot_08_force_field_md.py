"""
A force field and molecular dynamics in ASE and LAMMPS
======================================================

Fit a sparse-GP force field (:class:`slimsoap.models.SparseGP`) to the energies, forces and
virials of a few EMT-labelled Ni/Cu cells, then run molecular dynamics with it: in ASE
through ``model.calculator()``, and in LAMMPS through ``fix external``
(:mod:`slimsoap.lammps`), which sees the same energy and forces at every step.
"""

import matplotlib.pyplot as plt
import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet

import slimsoap
from slimsoap.lammps import attach, create_system, load_lammps
from slimsoap.models import PairBaseline, SparseGP

SPECIES = ["Ni", "Cu"]


def emt_cell(seed: int, repeat=(2, 1, 1), rattle: float = 0.05):
    """A rattled fcc Ni/Cu cell with EMT energy, forces and virial as labels."""
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(repeat)
    atoms.numbers = rng.choice([28, 29], size=len(atoms))
    atoms.positions += rng.normal(scale=rattle, size=atoms.positions.shape)
    atoms.calc = EMT()
    atoms.info["energy"] = atoms.get_potential_energy()
    atoms.arrays["forces"] = atoms.get_forces()
    atoms.info["virial"] = -atoms.get_stress(voigt=False) * atoms.get_volume()
    atoms.calc = None
    return atoms


train = [emt_cell(seed) for seed in range(20)]
test = [emt_cell(seed) for seed in range(100, 104)]

# %%
# Fit
# ---
# A small SOAP (N = 3, L = 2), 30 sparse environments per species and a pair baseline
# fitted jointly (:class:`slimsoap.models.PairBaseline`) are enough here.
soap = slimsoap.SOAP(SPECIES, r_cut=4.5, n_max=3, l_max=2, sigma=0.4, cutoff_width=1.0)
model = SparseGP(
    soap,
    zeta=2,
    n_sparse=30,
    selection="fps",
    sigma_energy=0.002,
    sigma_force=0.05,
    sigma_virial=0.02,
    baseline=PairBaseline(r_cut=4.5, n_basis=6),
)
model.fit(train)

prediction = model.predict(test)
reference_e = np.array([a.info["energy"] for a in test])
reference_f = np.concatenate([a.arrays["forces"] for a in test])
n_atoms = np.array([len(a) for a in test])
energy_rmse = np.sqrt(np.mean(((prediction.energy - reference_e) / n_atoms) ** 2))
force_rmse = np.sqrt(np.mean((prediction.forces - reference_f) ** 2))
print(f"held-out energy RMSE: {1000 * energy_rmse:.2f} meV/atom")
print(f"held-out force RMSE:  {force_rmse:.3f} eV/Å (forces themselves: {np.std(reference_f):.2f})")

# %%
# Molecular dynamics in ASE
# -------------------------
# ``model.calculator()`` is an ASE calculator (energy, forces, stress, per-atom
# energies); velocity Verlet at 1 fs in a 32-atom cell started at 600 K.
start = emt_cell(7, repeat=(2, 2, 2), rattle=0.02)
thermalize_momenta(start, 600, rng=np.random.default_rng(0))

atoms = start.copy()
atoms.calc = model.calculator()
dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
ase_energy = []
dyn.attach(lambda: ase_energy.append(atoms.get_total_energy()), interval=1)
dyn.run(60)
print(f"ASE: total energy drift over 60 fs: {1000 * (ase_energy[-1] - ase_energy[0]):.2f} meV")

# %%
# The same run in LAMMPS
# ----------------------
# :func:`slimsoap.lammps.create_system` copies the cell, atoms and velocities (the cell
# must be in LAMMPS's lower-triangular form); :func:`slimsoap.lammps.attach` makes the
# model the force field. LAMMPS's integrator, thermo output and dumps work unchanged.
lmp = load_lammps()
create_system(lmp, start, SPECIES)
fix = attach(lmp, model, SPECIES)
lmp.command("timestep 0.001")  # ps
lmp.command("fix integrate all nve")
lammps_energy = []
for _ in range(60):
    lmp.command("run 1")
    lammps_energy.append(lmp.get_thermo("etotal"))
lammps_energy = np.array(lammps_energy)
drift = 1000 * (lammps_energy[-1] - lammps_energy[0])
print(f"LAMMPS: total energy drift over 60 fs: {drift:.2f} meV")
# The two runs integrate the same equations, LAMMPS in its metal units, whose constants
# differ from ASE's in the seventh digit: their energies agree to about 1e-7 eV.
difference = np.abs(lammps_energy - ase_energy[1:]).max()
print(f"largest |E_LAMMPS - E_ASE| over the run: {difference:.1e} eV")

# %%
# Held-out forces against EMT, and the total energy of both runs.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
ax0.scatter(reference_f.ravel(), prediction.forces.ravel(), s=4)
ax0.plot([-2, 2], [-2, 2], "k:")
ax0.set_xlabel("EMT force (eV/Å)")
ax0.set_ylabel("SparseGP force (eV/Å)")
ax1.plot(
    np.arange(len(ase_energy)),
    1000 * (np.array(ase_energy) - ase_energy[0]),
    label="ASE",
)
ax1.plot(np.arange(1, 61), 1000 * (lammps_energy - ase_energy[0]), "--", label="LAMMPS")
ax1.set_xlabel("time (fs)")
ax1.set_ylabel("total energy − E(0) (meV)")
ax1.legend()
fig.tight_layout()
