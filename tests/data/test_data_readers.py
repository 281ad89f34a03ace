"""Readers: label conventions of each format, lossless extxyz round trip, dispatch."""

from pathlib import Path

import ase.db
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from slimsoap.data.readers import read_ase_db, read_extxyz, read_frames, read_xsf, write_extxyz

FILES = Path(__file__).parent / "files"


def _labelled(seed: int) -> Atoms:
    rng = np.random.default_rng(seed)
    atoms = Atoms("CuAgAu", positions=rng.uniform(0, 4, (3, 3)), cell=rng.uniform(3, 5, 3))
    atoms.pbc = True
    atoms.set_cell(np.asarray(atoms.cell) + 0.3 * rng.standard_normal((3, 3)), scale_atoms=False)
    atoms.info.update(energy=float(rng.normal()), config_type="test frame", weight=2)
    atoms.info["virial"] = (lambda v: v + v.T)(rng.standard_normal((3, 3)))
    atoms.arrays["forces"] = rng.standard_normal((3, 3)) * 1e-7
    return atoms


def test_extxyz_round_trip_is_exact(tmp_path):
    frames = [_labelled(s) for s in range(3)]
    mol = Atoms("H2O", positions=[[0, 0, 0.1190001], [0, 0.763, -0.476], [0, -0.763, -0.476]])
    mol.info["energy"] = -14.2253e-9
    frames.append(mol)
    path = tmp_path / "out.extxyz"
    assert write_extxyz(path, frames) == 4
    back = list(read_extxyz(path))
    assert len(back) == 4
    for a, b in zip(frames, back):
        assert np.array_equal(a.numbers, b.numbers)
        assert np.array_equal(a.positions, b.positions)
        assert np.array_equal(np.asarray(a.cell), np.asarray(b.cell))
        assert np.array_equal(a.pbc, b.pbc)
        assert a.info["energy"] == b.info["energy"]
        if "forces" in a.arrays:
            assert np.array_equal(a.arrays["forces"], b.arrays["forces"])
            assert np.array_equal(a.info["virial"], b.info["virial"])
            assert b.info["config_type"] == "test frame"
            assert b.info["weight"] == 2
    assert back[3].info["config_type"] == "unknown"
    assert "forces" not in back[3].arrays and "virial" not in back[3].info


def test_extxyz_force_column_energy_in_info_and_stress(tmp_path):
    path = tmp_path / "force.xyz"
    path.write_text(
        "2\n"
        'Lattice="2 0 0 0 3 0 0 0 4" Properties=species:S:1:pos:R:3:force:R:3 '
        'energy=-3.5 stress="0.1 0 0 0 0.2 0 0 0 0.3" config_type=bulk pbc="T T T"\n'
        "Cu 0 0 0 0.5 -0.25 0\n"
        "Au 1 1.5 2 -0.5 0.25 0\n"
    )
    (atoms,) = read_extxyz(path)
    assert atoms.info["energy"] == -3.5
    assert atoms.calc is None
    assert np.array_equal(atoms.arrays["forces"], [[0.5, -0.25, 0], [-0.5, 0.25, 0]])
    assert "force" not in atoms.arrays
    # virial = -stress * volume, volume = 24 Å^3
    assert np.allclose(atoms.info["virial"], np.diag([-2.4, -4.8, -7.2]), atol=1e-12)
    assert atoms.info["config_type"] == "bulk"


def test_extxyz_custom_keys(tmp_path):
    path = tmp_path / "ref.xyz"
    path.write_text(
        '1\nProperties=species:S:1:pos:R:3:REF_f:R:3 REF_energy=1.25 pbc="F F F"\nH 0 0 0 1 2 3\n'
    )
    (atoms,) = read_extxyz(path, energy_key="REF_energy", forces_key="REF_f")
    assert atoms.info["energy"] == 1.25
    assert np.array_equal(atoms.arrays["forces"], [[1, 2, 3]])


def test_ase_db_reader(tmp_path):
    path = tmp_path / "set.db"
    stress = np.array([0.01, 0.02, 0.03, 0.004, 0.005, 0.006])  # Voigt xx yy zz yz xz xy
    with ase.db.connect(path) as db:
        for i in range(3):
            atoms = Atoms("Ni2", positions=[[0, 0, 0], [1.2, 1.3, 1.4 + i]], cell=[3, 3, 4])
            atoms.pbc = True
            forces = np.full((2, 3), 0.1 * i)
            atoms.calc = SinglePointCalculator(atoms, energy=-1.0 - i, forces=forces, stress=stress)
            db.write(atoms, config_type="dimer", index=i)
    frames = list(read_ase_db(path))
    assert [f.info["energy"] for f in frames] == [-1.0, -2.0, -3.0]
    assert all(f.info["config_type"] == "dimer" for f in frames)
    assert frames[2].info["index"] == 2
    assert np.allclose(frames[1].arrays["forces"], 0.1)
    expected = -36.0 * np.array([[0.01, 0.006, 0.005], [0.006, 0.02, 0.004], [0.005, 0.004, 0.03]])
    assert np.allclose(frames[0].info["virial"], expected, atol=1e-12)
    assert len(list(read_frames(path, selection="index>0"))) == 2


def test_xsf_periodic_and_molecule():
    bulk, mol = (
        list(read_xsf(FILES / "aenet_bulk.xsf")),
        list(read_xsf(FILES / "aenet_molecule.xsf")),
    )
    (b,) = bulk
    assert b.info["energy"] == -163.4418
    assert b.get_chemical_symbols() == ["Al", "Al", "Cu", "Cu"]
    assert np.allclose(np.asarray(b.cell), np.diag([4.05, 4.05, 4.2]))
    assert b.pbc.all()
    assert np.allclose(b.positions[0], [0.05, 0, 0])
    assert np.allclose(b.arrays["forces"][2], [0.04, -0.03, 0.0])
    (m,) = mol
    assert m.info["energy"] == -14.2253
    assert not m.pbc.any()
    assert np.allclose(m.arrays["forces"].sum(axis=0), 0.0)
    assert len(list(read_frames(FILES, format="xsf"))) == 2


def test_xsf_rejects_other_units(tmp_path):
    path = tmp_path / "ry.xsf"
    path.write_text("# total energy = -12.0 Ry\nATOMS\nH 0 0 0\n")
    with pytest.raises(ValueError, match="not eV"):
        list(read_xsf(path))


def test_dispatch_by_extension_and_errors(tmp_path):
    assert next(read_frames(FILES / "dsgdb9nsd_000001.xyz")).info["gdb_index"] == 1
    assert next(read_frames(FILES / "aenet_bulk.xsf")).info["energy"] == -163.4418
    write_extxyz(tmp_path / "a.extxyz", [_labelled(0)])
    assert next(read_frames(tmp_path / "a.extxyz")).info["config_type"] == "test frame"
    (tmp_path / "a.cif").write_text("")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_frames(tmp_path / "a.cif")
    with pytest.raises(FileNotFoundError):
        read_frames(tmp_path / "missing.xyz")
    with pytest.raises(ValueError, match="unknown format"):
        read_frames(tmp_path / "a.extxyz", format="pdb")
