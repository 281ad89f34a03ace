"""Multi-metal fcc alloy configurations labelled with ASE's EMT (the HEA analogue).

Config types (``info["config_type"]``) and their share of a set of ``n`` configurations:

- ``"solid_solution"`` (35 %): random fcc solid solution, 2 to 7 components with Dirichlet
  fractions, lattice constant from Vegard's law over EMT's own equilibrium constants,
  thermal rattle σ = 0.03–0.10 Å;
- ``"strained"`` (20 %): as above with a random symmetric strain (|ε_ii| ≤ 4 %,
  |ε_ij| ≤ 2 %);
- ``"vacancy"`` (15 %): as above (16 to 32 atoms) with one or two atoms removed;
- ``"surface"`` (15 %): a (111), (100) or (110) slab, 2×2×4 atoms, 6 Å of vacuum on each
  side, periodic in all three directions (so a virial exists), rattled;
- ``"liquid"`` (15 %): snapshots every 20 steps of Langevin MD at 1800–3000 K (2 fs time
  step, friction 0.02 fs⁻¹) after 200 steps of melting, 10 snapshots per trajectory.

Cells hold 8 to 32 atoms. Labels: ``info["energy"]`` (eV), ``arrays["forces"]`` (eV/Å),
``info["virial"]`` = -stress · volume (eV; GAP/QUIP sign, i.e. -∂E/∂ε). Every configuration
draws from its own ``numpy`` generator seeded with ``(seed, kind, index)``, so the output is
a function of ``seed``, ``n`` and ``elements`` only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

import numpy as np
from ase import Atoms, units
from ase.build import bulk, fcc100, fcc110, fcc111
from ase.calculators.emt import EMT
from ase.md.langevin import Langevin
from scipy.optimize import minimize_scalar

#: The metals ASE's EMT is parametrised for.
ALLOY_ELEMENTS: tuple[str, ...] = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")

#: (config type, share of the set); shares sum to 1, leftovers go to the first type.
CONFIG_SHARES: tuple[tuple[str, float], ...] = (
    ("solid_solution", 0.35),
    ("strained", 0.20),
    ("vacancy", 0.15),
    ("surface", 0.15),
    ("liquid", 0.15),
)
_SNAPSHOTS_PER_RUN = 10
_MELT_STEPS = 200
_SNAPSHOT_EVERY = 20
_TIMESTEP_FS = 2.0
_FRICTION_PER_FS = 0.02
# fcc supercells of 8-32 atoms: (cubic conventional cell?, repetitions)
_BULK_CELLS = ((False, (2, 2, 2)), (True, (2, 2, 1)), (False, (3, 3, 3)), (True, (2, 2, 2)))
_SURFACES = (fcc111, fcc100, fcc110)


@cache
def emt_lattice_constant(symbol: str) -> float:
    """Equilibrium fcc lattice constant (Å) of ``symbol`` under ASE's EMT."""

    def energy(a: float) -> float:
        atoms = bulk(symbol, "fcc", a=a)
        atoms.calc = EMT()
        return atoms.get_potential_energy()

    res = minimize_scalar(energy, bounds=(3.0, 4.8), method="bounded", options={"xatol": 1e-6})
    return float(res.x)


def _check_elements(elements: Sequence[str]) -> tuple[str, ...]:
    elements = tuple(elements)
    bad = [e for e in elements if e not in ALLOY_ELEMENTS]
    if bad:
        raise ValueError(f"EMT alloys support {list(ALLOY_ELEMENTS)}; got unsupported {bad}")
    if len(set(elements)) < 2:
        raise ValueError(f"an alloy needs at least two distinct elements, got {list(elements)}")
    return tuple(sorted(set(elements), key=ALLOY_ELEMENTS.index))


def _composition(rng: np.random.Generator, elements: tuple[str, ...], n_atoms: int) -> list[str]:
    """Random species for ``n_atoms`` sites: 2..7 components, each present at least once."""
    k_max = min(7, len(elements), n_atoms)
    k = int(rng.integers(2, k_max + 1))
    chosen = [elements[i] for i in sorted(rng.choice(len(elements), size=k, replace=False))]
    fractions = rng.dirichlet(np.ones(k))
    counts = np.ones(k, dtype=int) + np.floor(fractions * (n_atoms - k)).astype(int)
    remainder = (fractions * (n_atoms - k)) % 1.0
    for i in np.argsort(-remainder, kind="stable")[: n_atoms - counts.sum()]:
        counts[i] += 1
    species = np.repeat(chosen, counts)
    return list(rng.permutation(species))


def _vegard(species: Sequence[str]) -> float:
    return float(np.mean([emt_lattice_constant(s) for s in species]))


def _solid(rng: np.random.Generator, elements: tuple[str, ...], cells=_BULK_CELLS) -> Atoms:
    cubic, reps = cells[int(rng.integers(len(cells)))]
    n_atoms = (4 if cubic else 1) * int(np.prod(reps))
    species = _composition(rng, elements, n_atoms)
    atoms = bulk("Cu", "fcc", a=_vegard(species), cubic=cubic).repeat(reps)
    atoms.set_chemical_symbols(species)
    atoms.positions += rng.normal(0.0, rng.uniform(0.03, 0.10), size=atoms.positions.shape)
    return atoms


def _strained(rng: np.random.Generator, elements: tuple[str, ...]) -> Atoms:
    atoms = _solid(rng, elements)
    eps = np.diag(rng.uniform(-0.04, 0.04, size=3))
    off = rng.uniform(-0.02, 0.02, size=3)
    eps[0, 1] = eps[1, 0] = off[0]
    eps[0, 2] = eps[2, 0] = off[1]
    eps[1, 2] = eps[2, 1] = off[2]
    atoms.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + eps), scale_atoms=True)
    return atoms


def _vacancy(rng: np.random.Generator, elements: tuple[str, ...]) -> Atoms:
    atoms = _solid(rng, elements, cells=_BULK_CELLS[1:])
    remove = rng.choice(len(atoms), size=int(rng.integers(1, 3)), replace=False)
    del atoms[[int(i) for i in remove]]
    return atoms


def _surface(rng: np.random.Generator, elements: tuple[str, ...]) -> Atoms:
    build = _SURFACES[int(rng.integers(len(_SURFACES)))]
    species = _composition(rng, elements, 16)
    atoms = build("Cu", size=(2, 2, 4), a=_vegard(species), vacuum=6.0, periodic=True)
    atoms.info.pop("adsorbate_info", None)
    atoms.set_chemical_symbols(species)
    atoms.positions += rng.normal(0.0, rng.uniform(0.03, 0.10), size=atoms.positions.shape)
    return atoms


def _liquid_run(rng: np.random.Generator, elements: tuple[str, ...], count: int) -> list[Atoms]:
    """``count`` snapshots of one Langevin trajectory of a melted 27- or 32-atom cell."""
    cubic, reps = _BULK_CELLS[2 + int(rng.integers(2))]
    n_atoms = (4 if cubic else 1) * int(np.prod(reps))
    species = _composition(rng, elements, n_atoms)
    atoms = bulk("Cu", "fcc", a=1.03 * _vegard(species), cubic=cubic).repeat(reps)
    atoms.set_chemical_symbols(species)
    atoms.positions += rng.normal(0.0, 0.15, size=atoms.positions.shape)
    atoms.calc = EMT()
    temperature = float(rng.uniform(1800.0, 3000.0))
    # Maxwell-Boltzmann momenta at twice the target temperature (equipartition halves it)
    masses = atoms.get_masses()[:, None]
    momenta = rng.normal(size=(len(atoms), 3)) * np.sqrt(masses * units.kB * 2 * temperature)
    atoms.set_momenta(momenta - masses * momenta.sum(axis=0) / masses.sum())
    dyn = Langevin(
        atoms,
        timestep=_TIMESTEP_FS * units.fs,
        temperature_K=temperature,
        friction=_FRICTION_PER_FS / units.fs,
        fixcm=False,
        rng=rng,
    )
    dyn.run(_MELT_STEPS)
    snapshots = []
    for _ in range(count):
        dyn.run(_SNAPSHOT_EVERY)
        snap = Atoms(atoms.numbers, atoms.get_positions(wrap=True), cell=atoms.cell, pbc=True)
        snap.info["temperature_K"] = temperature
        snapshots.append(snap)
    return snapshots


def _label(atoms: Atoms, config_type: str) -> Atoms:
    """Attach EMT energy, forces and virial (= -stress · volume) as plain data."""
    atoms.pbc = True
    atoms.calc = EMT()
    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    virial = -atoms.get_stress(voigt=False) * atoms.get_volume()
    atoms.calc = None
    atoms.info["config_type"] = config_type
    atoms.info["energy"] = float(energy)
    atoms.info["virial"] = virial
    atoms.arrays["forces"] = forces
    return atoms


def config_type_counts(n: int) -> dict[str, int]:
    """How many configurations of each type a set of ``n`` holds."""
    counts = {name: int(np.floor(share * n)) for name, share in CONFIG_SHARES}
    counts[CONFIG_SHARES[0][0]] += n - sum(counts.values())
    return counts


_BUILDERS = {
    "solid_solution": _solid,
    "strained": _strained,
    "vacancy": _vacancy,
    "surface": _surface,
}


def generate_alloy(
    n: int = 2000, seed: int = 0, elements: Sequence[str] = ALLOY_ELEMENTS
) -> Iterator[Atoms]:
    """Yield ``n`` EMT-labelled alloy configurations (see the module docstring).

    Args:
        n: number of configurations (≥ 1).
        seed: non-negative integer; the same (n, seed, elements) gives identical output.
        elements: subset of ``ALLOY_ELEMENTS`` (at least two) to draw compositions from.
    """
    elements = _check_elements(elements)
    for kind_index, (config_type, count) in enumerate(config_type_counts(n).items()):
        if config_type == "liquid":
            runs = -(-count // _SNAPSHOTS_PER_RUN)
            for run in range(runs):
                rng = np.random.default_rng([seed, kind_index, run])
                size = min(_SNAPSHOTS_PER_RUN, count - run * _SNAPSHOTS_PER_RUN)
                for snap in _liquid_run(rng, elements, size):
                    yield _label(snap, config_type)
            continue
        for i in range(count):
            rng = np.random.default_rng([seed, kind_index, i])
            yield _label(_BUILDERS[config_type](rng, elements), config_type)
