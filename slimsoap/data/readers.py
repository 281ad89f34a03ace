"""Streaming readers for labelled structure files, and a lossless extxyz writer.

Every reader yields ``ase.Atoms`` with the labels in one place, whatever the file called them:

- ``atoms.info["energy"]``: total energy, eV (absent when the file has none);
- ``atoms.arrays["forces"]``: (n_atoms, 3) forces, eV/Å (absent when the file has none);
- ``atoms.info["virial"]``: (3, 3) virial, eV, with the GAP/QUIP sign convention
  ``virial = -stress * volume = -∂E/∂ε`` (absent when the file has none);
- ``atoms.info["config_type"]``: a string (``"unknown"`` when the file gives none).

The calculator attached by ASE (a ``SinglePointCalculator``) is removed once its results are
copied, so the labels have exactly one home.
"""

from __future__ import annotations

import itertools
import os
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

#: Default ``config_type`` for frames whose file does not name one.
UNKNOWN_CONFIG = "unknown"

_FORCE_KEYS = ("forces", "force")
_EXTXYZ_SUFFIXES = (".xyz", ".extxyz")


def _virial_from_stress(atoms: Atoms, stress: np.ndarray) -> np.ndarray:
    """Virial (3, 3) in eV from an ASE stress (Voigt 6 or 3x3, eV/Å³): -stress · volume."""
    stress = np.asarray(stress, dtype=float)
    if stress.shape == (6,):
        xx, yy, zz, yz, xz, xy = stress
        stress = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    if stress.shape != (3, 3):
        raise ValueError(f"stress must have shape (6,) or (3, 3), got {stress.shape}")
    return -stress * atoms.get_volume()


def standardise_labels(
    atoms: Atoms,
    energy_key: str | None = None,
    forces_key: str | None = None,
    virial_key: str | None = None,
    config_type: str | None = None,
) -> Atoms:
    """Move energy/forces/virial/config type of ``atoms`` to this package's conventions.

    Args:
        atoms: a frame as ASE read it; modified in place and returned.
        energy_key: ``info`` key of the energy (eV) when it is not ``"energy"``.
        forces_key: ``arrays`` key of the forces (eV/Å) when it is not ``"forces"``/``"force"``.
        virial_key: ``info`` key of the virial (eV) when it is not ``"virial"``.
        config_type: value to use when the frame has no ``config_type``.

    Returns:
        ``atoms`` with labels in ``info["energy"]``, ``arrays["forces"]``, ``info["virial"]``,
        ``info["config_type"]`` and no calculator.
    """
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    atoms.calc = None
    info = atoms.info

    energy = info.pop(energy_key or "energy", None)
    if energy is None:
        energy = results.get("energy", results.get("free_energy"))
    if energy is not None:
        info["energy"] = float(energy)

    forces = None
    for key in (forces_key,) if forces_key else _FORCE_KEYS:
        if key in atoms.arrays:
            forces = atoms.arrays[key]
            del atoms.arrays[key]
            break
    if forces is None:
        forces = results.get("forces")
    if forces is not None:
        forces = np.asarray(forces, dtype=float)
        if forces.shape != (len(atoms), 3):
            raise ValueError(f"forces have shape {forces.shape}, expected ({len(atoms)}, 3)")
        atoms.arrays["forces"] = forces

    virial = info.pop(virial_key or "virial", None)
    stress = info.pop("stress", results.get("stress"))
    if virial is None and stress is not None and atoms.cell.rank == 3:
        virial = _virial_from_stress(atoms, stress)
    if virial is not None:
        info["virial"] = np.asarray(virial, dtype=float).reshape(3, 3)

    ct = info.get("config_type", config_type or UNKNOWN_CONFIG)
    info["config_type"] = str(ct)
    return atoms


def read_extxyz(
    path: str | os.PathLike,
    energy_key: str | None = None,
    forces_key: str | None = None,
    virial_key: str | None = None,
) -> Iterator[Atoms]:
    """Yield the frames of an extended-XYZ file one at a time, labels standardised.

    Accepts energies in the comment line (``energy=...``, or ``energy_key``) and forces as
    either a ``forces`` or a ``force`` column; a ``virial`` (eV) or ``stress`` (eV/Å³,
    converted to a virial) in the comment line.
    """
    import ase.io  # here: importing it takes longer than a command's --help should

    for atoms in ase.io.iread(os.fspath(path), index=":", format="extxyz"):
        yield standardise_labels(atoms, energy_key, forces_key, virial_key)


def read_ase_db(path: str | os.PathLike, selection: str | None = None) -> Iterator[Atoms]:
    """Yield the rows of an ASE database (SQLite ``.db`` or ``.json``) as labelled frames.

    Energies, forces and stress stored with the row's calculator become the standard labels;
    the row's key-value pairs (``config_type`` among them) are copied into ``atoms.info``.

    Args:
        path: database file.
        selection: an ASE db query string, e.g. ``"natoms<20"``; ``None`` selects every row.
    """
    import ase.db

    if not Path(path).is_file():
        raise FileNotFoundError(f"ASE database {os.fspath(path)!r} does not exist")
    with ase.db.connect(os.fspath(path)) as db:
        for row in db.select(selection):
            atoms = row.toatoms()
            atoms.info.update(row.key_value_pairs)
            yield standardise_labels(atoms)


def _parse_xsf(text: str, source: str) -> Atoms:
    """One aenet XSF structure (``CRYSTAL``/``PRIMVEC``/``PRIMCOORD`` or ``ATOMS`` block)."""
    energy = None
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            body = line[1:].strip().lower()
            if body.startswith("total energy"):
                value = body.split("=", 1)[1].split()
                if len(value) > 1 and value[1] != "ev":
                    raise ValueError(f"{source}: total energy unit {value[1]!r} is not eV")
                energy = float(value[0])
        elif line:
            lines.append(line)

    def atom_block(rows: list[str]) -> tuple[list[int], np.ndarray, np.ndarray | None]:
        numbers, pos, frc = [], [], []
        for row in rows:
            tok = row.split()
            sym = tok[0]
            numbers.append(int(sym) if sym.isdigit() else atomic_numbers[sym.capitalize()])
            pos.append([float(x) for x in tok[1:4]])
            if len(tok) >= 7:
                frc.append([float(x) for x in tok[4:7]])
        forces = np.array(frc) if len(frc) == len(rows) and frc else None
        return numbers, np.array(pos, dtype=float), forces

    keywords = [ln.split()[0].upper() for ln in lines]
    if "PRIMCOORD" in keywords:
        i_vec = keywords.index("PRIMVEC")
        cell = np.array([[float(x) for x in ln.split()[:3]] for ln in lines[i_vec + 1 : i_vec + 4]])
        i_coord = keywords.index("PRIMCOORD")
        n = int(lines[i_coord + 1].split()[0])
        numbers, pos, forces = atom_block(lines[i_coord + 2 : i_coord + 2 + n])
        atoms = Atoms(numbers=numbers, positions=pos, cell=cell, pbc=True)
    elif "ATOMS" in keywords:
        i_atoms = keywords.index("ATOMS")
        rows = []
        for ln in lines[i_atoms + 1 :]:
            tok = ln.split()[0]
            if not (tok.isdigit() or tok.capitalize() in atomic_numbers):
                break
            rows.append(ln)
        numbers, pos, forces = atom_block(rows)
        atoms = Atoms(numbers=numbers, positions=pos, pbc=False)
    else:
        raise ValueError(f"{source}: no PRIMCOORD or ATOMS block found; not an XSF structure")
    if energy is not None:
        atoms.info["energy"] = energy
    if forces is not None:
        atoms.arrays["forces"] = forces
    atoms.info["config_type"] = UNKNOWN_CONFIG
    return atoms


def read_xsf(path: str | os.PathLike) -> Iterator[Atoms]:
    """Yield aenet XSF structures: one file, or every ``*.xsf`` in a directory (sorted).

    The energy comes from the ``# total energy = <E> eV`` comment; forces (eV/Å) from the
    three extra columns of each atom line when present.
    """
    path = Path(path)
    files = sorted(path.glob("*.xsf")) if path.is_dir() else [path]
    for f in files:
        yield _parse_xsf(f.read_text(), os.fspath(f))


def _fmt(values: Iterable[float]) -> str:
    """Floats written so that ``float()`` reads back the identical double."""
    return " ".join(repr(float(v)) for v in values)


def _info_value(key: str, value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "T" if value else "F"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        if any(c in value for c in "\"'\\\n"):
            raise ValueError(f"info[{key!r}] = {value!r}: quotes/newlines cannot be written")
        return f'"{value}"' if (" " in value or "=" in value or not value) else value
    arr = np.asarray(value)
    if arr.dtype.kind in "if" and arr.ndim in (1, 2) and arr.size > 0:
        if key in ("virial", "stress") and arr.shape != (3, 3):
            raise ValueError(f"info[{key!r}] must be 3x3, got shape {arr.shape}")
        flat = arr.ravel(order="F") if arr.ndim == 2 else arr
        text = " ".join(str(int(v)) for v in flat) if arr.dtype.kind == "i" else _fmt(flat)
        return f'"{text}"'
    raise ValueError(f"info[{key!r}] of type {type(value).__name__} cannot be written to extxyz")


def format_extxyz_frame(atoms: Atoms) -> str:
    """One frame in extended XYZ with every float written to full double precision.

    Standard labels (``info["energy"]``, ``arrays["forces"]``, ``info["virial"]``) and any
    other ``info`` entries and per-atom float/int arrays are written; ASE reads the result.
    """
    n = len(atoms)
    columns = [("species", "S", 1, [chemical_symbols[z] for z in atoms.numbers])]
    columns.append(("pos", "R", 3, atoms.positions))
    for key, arr in atoms.arrays.items():
        if key in ("numbers", "positions"):
            continue
        arr = np.asarray(arr)
        if arr.dtype.kind not in "if" or arr.ndim not in (1, 2):
            raise ValueError(f"per-atom array {key!r} ({arr.dtype}, {arr.shape}) cannot be written")
        width = 1 if arr.ndim == 1 else arr.shape[1]
        columns.append((key, "I" if arr.dtype.kind == "i" else "R", width, arr))
    header = []
    if atoms.cell.rank == 3 or atoms.pbc.any():
        header.append(f'Lattice="{_fmt(np.asarray(atoms.cell).ravel())}"')
    header.append("Properties=" + ":".join(f"{k}:{t}:{w}" for k, t, w, _ in columns))
    for key, value in atoms.info.items():
        if " " in key or "=" in key:
            raise ValueError(f"info key {key!r} contains a space or '='")
        header.append(f"{key}={_info_value(key, value)}")
    header.append('pbc="' + " ".join("T" if p else "F" for p in atoms.pbc) + '"')
    out = [str(n), " ".join(header)]
    for i in range(n):
        fields = []
        for _, kind, _width, data in columns:
            if kind == "S":
                fields.append(data[i])
            elif kind == "I":
                fields.append(" ".join(str(int(v)) for v in np.atleast_1d(data[i])))
            else:
                fields.append(_fmt(np.atleast_1d(data[i])))
        out.append(" ".join(fields))
    return "\n".join(out) + "\n"


def write_extxyz(path: str | os.PathLike, frames: Iterable[Atoms], append: bool = False) -> int:
    """Write ``frames`` losslessly (full double precision) to an extxyz file.

    Returns:
        The number of frames written.
    """
    count = 0
    with open(path, "a" if append else "w") as fh:
        for atoms in frames:
            fh.write(format_extxyz_frame(atoms))
            count += 1
    return count


def _sniff_xyz(path: Path) -> str:
    """``"qm9"`` for an original QM9 xyz file (line 2 starts with ``gdb``), else ``"extxyz"``."""
    with open(path) as fh:
        fh.readline()
        second = fh.readline()
    return "qm9" if second.split()[:1] == ["gdb"] else "extxyz"


def _format_of(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir():
        first = next(iter(sorted(path.glob("*.xsf"))), None)
        return "xsf" if first is not None else "qm9"
    if name.endswith((".tar", ".tar.bz2", ".tar.gz", ".tgz")) and tarfile.is_tarfile(path):
        return "qm9"
    if name.endswith(_EXTXYZ_SUFFIXES):
        return _sniff_xyz(path)
    if name.endswith((".db", ".json")):
        return "db"
    if name.endswith(".xsf"):
        return "xsf"
    raise ValueError(
        f"cannot tell the format of {os.fspath(path)!r} from its name; pass format= one of "
        f"{sorted(FORMATS)}"
    )


def read_frames(path: str | os.PathLike, format: str | None = None, **kwargs) -> Iterator[Atoms]:
    """Stream labelled frames from ``path``, choosing the reader by extension or ``format``.

    Args:
        path: a file (``.xyz``/``.extxyz``: extxyz, or original QM9 xyz when line 2 starts
            with ``gdb``; ``.db``/``.json``: ASE database; ``.xsf``: aenet XSF; a tar archive:
            QM9 xyz files), a directory (of ``.xsf`` files, else of QM9 xyz files), or the
            literal ``"qm9pack"`` for the QM9 set shipped by the ``qm9pack`` package.
        format: one of ``"extxyz"``, ``"db"``, ``"qm9"``, ``"qm9pack"``, ``"xsf"`` to
            override the guess.
        **kwargs: passed to the reader.

    Returns:
        An iterator of ``ase.Atoms`` (see the module docstring for where labels are).

    Raises:
        ValueError: if ``path`` holds no structure (an empty file, a folder without any);
            the first frame is read here to tell.
    """
    if format is None and os.fspath(path) == "qm9pack":
        format = "qm9pack"
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; valid formats: {sorted(FORMATS)}")
    if format != "qm9pack" and not Path(path).exists():
        raise FileNotFoundError(f"{os.fspath(path)!r} does not exist")
    fmt = format or _format_of(Path(path))
    if fmt == "qm9pack":
        from slimsoap.data.qm9 import read_qm9pack

        return read_qm9pack(**kwargs)
    frames = iter(FORMATS[fmt](path, **kwargs))
    first = next(frames, None)
    if first is None:
        raise ValueError(f"{os.fspath(path)!r} holds no structures (read as {fmt})")
    return itertools.chain([first], frames)


def _read_qm9(path, **kwargs):
    from slimsoap.data.qm9 import read_qm9_xyz

    return read_qm9_xyz(path, **kwargs)


#: Format name → reader (``qm9pack`` takes no path and is dispatched separately).
FORMATS = {
    "extxyz": read_extxyz,
    "db": read_ase_db,
    "qm9": _read_qm9,
    "qm9pack": None,
    "xsf": read_xsf,
}
