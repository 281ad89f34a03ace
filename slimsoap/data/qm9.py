"""QM9 (Ramakrishnan et al., Sci. Data 1, 140022 (2014)): original xyz files and ``qm9pack``.

Original format of ``dsgdb9nsd_NNNNNN.xyz`` (one molecule per file):

    line 1          n_atoms
    line 2          "gdb" index A B C mu alpha homo lumo gap r2 zpve U0 U H G Cv
    lines 3..n+2    element x y z mulliken_charge          (Å, e)
    line n+3        harmonic frequencies                   (cm^-1)
    line n+4        SMILES from GDB-17, SMILES of the B3LYP-relaxed geometry
    line n+5        InChI from GDB-17, InChI of the B3LYP-relaxed geometry

Numbers may use Mathematica's exponent notation ``1.2*^-6`` (= 1.2e-6).

Units here: all Hartree quantities (homo, lumo, gap, zpve, U0, U, H, G) are converted to
eV with ``ase.units.Hartree``; the others keep the units of the file (see
``QM9_PROPERTIES``). ``info["energy"]`` is U0 in eV.

The ``qm9pack`` package ships the 130,831 characterised molecules as CSV: the 3,054
molecules of the original 133,885 whose relaxed geometry failed QM9's consistency check
(the "uncharacterized" list) are not in it. ``qm9pack_missing_indices()`` returns their
GDB indices, computed from the package's ``Index`` column; pass them as ``exclude`` to
``read_qm9_xyz`` to read the same subset from the original files.
"""

from __future__ import annotations

import csv
import io
import os
import tarfile
from collections.abc import Container, Iterator
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.units import Hartree

#: The 15 properties of line 2, in file order: (name, unit after conversion).
QM9_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("A", "GHz"),
    ("B", "GHz"),
    ("C", "GHz"),
    ("mu", "D"),
    ("alpha", "bohr^3"),
    ("homo", "eV"),
    ("lumo", "eV"),
    ("gap", "eV"),
    ("r2", "bohr^2"),
    ("zpve", "eV"),
    ("U0", "eV"),
    ("U", "eV"),
    ("H", "eV"),
    ("G", "eV"),
    ("Cv", "cal/(mol K)"),
)
#: Properties given in Hartree in the files and converted to eV.
HARTREE_PROPERTIES = frozenset({"homo", "lumo", "gap", "zpve", "U0", "U", "H", "G"})
#: Molecules in the original QM9 release, and how many failed its consistency check.
QM9_TOTAL = 133_885
QM9_UNCHARACTERISED = 3_054

#: qm9pack CSV column → property name used here.
_QM9PACK_COLUMNS = {
    "RotA_GHz": "A",
    "RotB_GHz": "B",
    "RotC_GHz": "C",
    "Dipole_debye": "mu",
    "Polarizability_bohr3": "alpha",
    "HOMO_au": "homo",
    "LUMO_au": "lumo",
    "HOMO_LUMO_gap_au": "gap",
    "R2_bohr2": "r2",
    "ZPVE_au": "zpve",
    "InternalEnergy_0K_au": "U0",
    "InternalEnergy_298K_au": "U",
    "Enthalphy_298K_au": "H",
    "GibbsFreeEnergy_298K_au": "G",
    "Heatcapacity_Cv_cal_mol_K": "Cv",
}
_QM9PACK_PARTS = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")


def _num(token: str) -> float:
    """Parse a QM9 number, including Mathematica's ``*^`` exponent."""
    return float(token.replace("*^", "e"))


def _properties(values: list[float]) -> dict[str, float]:
    out = {}
    for (name, _), v in zip(QM9_PROPERTIES, values, strict=True):
        out[name] = v * Hartree if name in HARTREE_PROPERTIES else v
    return out


def parse_qm9_xyz(text: str, source: str = "<string>") -> Atoms:
    """Parse one molecule in the original QM9 xyz format (see the module docstring).

    Returns:
        Non-periodic ``Atoms`` with ``info``: ``gdb_index``, the 15 properties (names and
        units in ``QM9_PROPERTIES``), ``energy`` (= U0, eV), ``frequencies`` (cm^-1),
        ``smiles_gdb``, ``smiles_relaxed``, ``inchi_gdb``, ``inchi_relaxed``,
        ``config_type="qm9"``; ``arrays["mulliken_charges"]`` (e).
    """
    lines = text.splitlines()
    try:
        n = int(lines[0].split()[0])
    except (IndexError, ValueError):
        raise ValueError(f"{source}: line 1 must be the number of atoms") from None
    head = lines[1].split()
    if len(head) != 17 or head[0] != "gdb":
        raise ValueError(
            f"{source}: line 2 must be 'gdb <index>' and 15 properties, got {len(head)} fields"
        )
    if len(lines) < n + 5:
        raise ValueError(f"{source}: {n} atoms need {n + 5} lines, the file has {len(lines)}")
    symbols, pos, charges = [], [], []
    for line in lines[2 : 2 + n]:
        tok = line.split()
        symbols.append(tok[0])
        pos.append([_num(t) for t in tok[1:4]])
        charges.append(_num(tok[4]))
    atoms = Atoms(symbols=symbols, positions=pos, pbc=False)
    atoms.arrays["mulliken_charges"] = np.array(charges)
    info = atoms.info
    info["gdb_index"] = int(head[1])
    info.update(_properties([_num(t) for t in head[2:]]))
    info["energy"] = info["U0"]
    info["frequencies"] = np.array([_num(t) for t in lines[2 + n].split()])
    info["smiles_gdb"], info["smiles_relaxed"] = lines[3 + n].split()[:2]
    info["inchi_gdb"], info["inchi_relaxed"] = lines[4 + n].split()[:2]
    info["config_type"] = "qm9"
    return atoms


def _index_from_name(name: str) -> int | None:
    stem = Path(name).stem
    digits = stem.rsplit("_", 1)[-1]
    return int(digits) if digits.isdigit() else None


def read_qm9_xyz(path: str | os.PathLike, exclude: Container[int] = frozenset()) -> Iterator[Atoms]:
    """Yield molecules from original QM9 xyz files: one file, a directory, or a tar archive.

    Args:
        path: a ``dsgdb9nsd_*.xyz`` file, a directory of them (read in name order), or the
            ``dsgdb9nsd.xyz.tar.bz2`` archive (streamed, never unpacked to disk).
        exclude: GDB indices to skip, e.g. ``qm9pack_missing_indices()`` to drop the 3,054
            uncharacterised molecules.
    """
    path = Path(path)
    if path.is_dir():
        for f in sorted(path.glob("*.xyz")):
            if _index_from_name(f.name) not in exclude:
                yield parse_qm9_xyz(f.read_text(), os.fspath(f))
    elif tarfile.is_tarfile(path):
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                if not member.isfile() or not member.name.endswith(".xyz"):
                    continue
                if _index_from_name(member.name) in exclude:
                    continue
                text = io.TextIOWrapper(tar.extractfile(member)).read()
                yield parse_qm9_xyz(text, f"{path}:{member.name}")
    else:
        atoms = parse_qm9_xyz(path.read_text(), os.fspath(path))
        if atoms.info["gdb_index"] not in exclude:
            yield atoms


def _qm9pack_dir() -> Path:
    """qm9pack's data folder, found without importing qm9pack (its ``__init__`` needs
    ``pkg_resources``, which setuptools >= 81 no longer ships)."""
    spec = find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the QM9 reader needs the 'qm9pack' package (pip install qm9pack, or slimsoap[data])"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _list_field(text: str) -> list[str]:
    return text.replace("[", " ").replace("]", " ").replace("'", " ").replace(",", " ").split()


def read_qm9pack(properties: bool = True) -> Iterator[Atoms]:
    """Yield the 130,831 characterised QM9 molecules shipped by ``qm9pack``, streaming its CSVs.

    Reads the package's files directly (no network, no pandas). Positions in Å;
    ``info["energy"]`` is U0 in eV.

    Args:
        properties: also store the 15 properties (as in ``parse_qm9_xyz``), the SMILES, the
            InChI, the frequencies, Mulliken charges and the polarizability tensor
            ``info["alpha_tensor"]`` (bohr^3, order xx xy yy xz yz zz). ``False`` keeps only
            ``energy``, ``gdb_index`` and ``config_type`` (faster).
    """
    data = _qm9pack_dir()
    csv.field_size_limit(1 << 28)
    with open(data / "qm9_polarizability.csv", newline="") as pol_fh:
        pol_reader = csv.reader(pol_fh)
        next(pol_reader)
        for part in _QM9PACK_PARTS:
            with open(data / part, newline="") as fh:
                reader = csv.reader(fh)
                header = next(reader)
                col = {name: i for i, name in enumerate(header)}
                prop_cols = [(col[c], name) for c, name in _QM9PACK_COLUMNS.items()]
                u0 = col["InternalEnergy_0K_au"]
                for row in reader:
                    pol = next(pol_reader)
                    if pol[0] != row[0]:
                        raise ValueError(f"qm9pack: polarizability row {pol[0]} != {row[0]}")
                    pos = np.array(_list_field(row[col["XYZ_Ang"]]), dtype=float)
                    atoms = Atoms(
                        symbols=_list_field(row[col["Elements"]]),
                        positions=pos.reshape(-1, 3),
                        pbc=False,
                    )
                    info = atoms.info
                    info["gdb_index"] = int(row[col["Index"]])
                    info["energy"] = float(row[u0]) * Hartree
                    info["config_type"] = "qm9"
                    if properties:
                        values = [float(row[i]) for i, _ in prop_cols]
                        info.update(_properties(values))
                        info["smiles"] = row[col["SMILES"]]
                        info["inchi"] = row[col["InChi"]]
                        info["frequencies"] = np.array(
                            _list_field(row[col["Harmonic_Freq_cmi"]]), dtype=float
                        )
                        atoms.arrays["mulliken_charges"] = np.array(
                            _list_field(row[col["Mulliken_pop"]]), dtype=float
                        )
                        info["alpha_tensor"] = np.array(pol[1:7], dtype=float)
                    yield atoms


def qm9pack_missing_indices() -> set[int]:
    """GDB indices in 1..133,885 that ``qm9pack`` does not ship (the uncharacterised ones)."""
    data = _qm9pack_dir()
    present = set()
    for part in _QM9PACK_PARTS:
        with open(data / part, newline="") as fh:
            reader = csv.reader(fh)
            col = next(reader).index("Index")
            csv.field_size_limit(1 << 28)
            present.update(int(row[col]) for row in reader)
    return set(range(1, QM9_TOTAL + 1)) - present
