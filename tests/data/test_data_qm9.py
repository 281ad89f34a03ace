"""QM9: the original xyz format (with ``*^`` exponents) and the qm9pack data."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from slimsoap.data.qm9 import (
    QM9_PROPERTIES,
    parse_qm9_xyz,
    qm9pack_missing_indices,
    read_qm9_xyz,
    read_qm9pack,
)

FILES = Path(__file__).parent / "files"
# CODATA 2018 Hartree energy in eV (independent of ASE's constant; differs by ~1e-8 relative)
HARTREE_EV = 27.211386245988


def test_original_format_methane():
    (atoms,) = read_qm9_xyz(FILES / "dsgdb9nsd_000001.xyz")
    assert atoms.get_chemical_symbols() == ["C", "H", "H", "H", "H"]
    assert atoms.info["gdb_index"] == 1
    assert [name for name, _ in QM9_PROPERTIES] == list(atoms.info)[1:16]
    assert atoms.info["A"] == 157.7118 and atoms.info["Cv"] == 6.469
    assert atoms.info["alpha"] == 13.21  # bohr^3, unconverted
    assert atoms.info["energy"] == atoms.info["U0"]
    assert atoms.info["U0"] == pytest.approx(-40.47893 * HARTREE_EV, abs=1e-5)
    assert atoms.info["gap"] == pytest.approx(0.5048 * HARTREE_EV, abs=1e-6)
    assert np.allclose(atoms.positions[2], [1.0117308433, 1.4637511618, 0.0002765748])
    assert atoms.arrays["mulliken_charges"][0] == -0.535689
    assert len(atoms.info["frequencies"]) == 9  # 3N - 6
    assert atoms.info["smiles_relaxed"] == "C"
    assert atoms.info["inchi_gdb"] == "InChI=1S/CH4/h1H4"


def test_original_format_mathematica_exponent_matches_qm9pack():
    (atoms,) = read_qm9_xyz(FILES / "dsgdb9nsd_000028.xyz")
    assert atoms.positions[2, 2] == -7.70322e-5
    ref = next(a for a in itertools.islice(read_qm9pack(), 40) if a.info["gdb_index"] == 28)
    assert np.array_equal(atoms.positions, ref.positions)
    assert np.array_equal(atoms.numbers, ref.numbers)
    for name, _ in QM9_PROPERTIES:
        assert atoms.info[name] == ref.info[name], name
    assert np.array_equal(atoms.info["frequencies"], ref.info["frequencies"])


def test_original_format_directory_and_exclusion():
    assert [a.info["gdb_index"] for a in read_qm9_xyz(FILES)] == [1, 28]
    assert [a.info["gdb_index"] for a in read_qm9_xyz(FILES, exclude={1})] == [28]


def test_original_format_errors():
    with pytest.raises(ValueError, match="line 2"):
        parse_qm9_xyz("1\nnot a qm9 line\nH 0 0 0 0\n")
    text = (FILES / "dsgdb9nsd_000001.xyz").read_text().splitlines()
    with pytest.raises(ValueError, match="need 10 lines"):
        parse_qm9_xyz("\n".join(text[:6]))


def test_qm9pack_has_130831_characterised_molecules_with_u0_in_ev():
    count, indices, first = 0, set(), None
    for atoms in read_qm9pack(properties=False):
        count += 1
        indices.add(atoms.info["gdb_index"])
        if first is None:
            first = atoms
    assert count == 130_831
    assert len(indices) == 130_831 and max(indices) == 133_885
    assert first.get_chemical_formula() == "CH4"
    assert first.info["energy"] == pytest.approx(-40.47893 * HARTREE_EV, abs=1e-5)
    missing = qm9pack_missing_indices()
    assert len(missing) == 3_054 and not (missing & indices)
