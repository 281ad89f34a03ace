"""Generators: determinism, caching, physical consistency of the labels."""

import hashlib
from collections import Counter

import numpy as np
import pytest
from ase.calculators.emt import EMT

from slimsoap.data import gen_amino
from slimsoap.data.gen_alloy import ALLOY_ELEMENTS, config_type_counts, generate_alloy
from slimsoap.data.gen_elpasolite import ELPASOLITE_ELEMENTS, elpasolite, generate_elpasolite
from slimsoap.data.generators import cache_dir, generate
from slimsoap.data.readers import read_frames


@pytest.fixture(scope="module")
def alloy_path(tmp_path_factory):
    return generate("alloy", n=20, seed=7, cache=tmp_path_factory.mktemp("cache"))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_alloy_same_seed_same_file_and_cache_reuse(alloy_path, tmp_path):
    again = generate("alloy", n=20, seed=7, cache=tmp_path / "other")
    assert _sha(again) == _sha(alloy_path)
    first_7, first_8 = next(generate_alloy(3, seed=7)), next(generate_alloy(3, seed=8))
    assert not np.array_equal(first_7.positions, first_8.positions)
    mtime = again.stat().st_mtime_ns
    assert generate("alloy", n=20, seed=7, cache=tmp_path / "other") == again
    assert again.stat().st_mtime_ns == mtime
    assert again.with_suffix(".json").exists()


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("SLIMSOAP_CACHE", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("SLIMSOAP_CACHE")
    assert cache_dir().parts[-2:] == (".cache", "slimsoap")


def test_generated_file_reads_back_identical(alloy_path):
    direct = list(generate_alloy(20, seed=7))
    back = list(read_frames(alloy_path))
    assert len(back) == 20
    for a, b in zip(direct, back):
        assert np.array_equal(a.positions, b.positions)
        assert np.array_equal(a.numbers, b.numbers)
        assert np.array_equal(np.asarray(a.cell), np.asarray(b.cell))
        assert a.info["energy"] == b.info["energy"]
        assert np.array_equal(a.arrays["forces"], b.arrays["forces"])
        assert np.array_equal(a.info["virial"], b.info["virial"])
        assert a.info["config_type"] == b.info["config_type"]


def test_alloy_composition_and_config_types(alloy_path):
    frames = list(read_frames(alloy_path))
    assert Counter(f.info["config_type"] for f in frames) == config_type_counts(20)
    for f in frames:
        assert set(f.get_chemical_symbols()) <= set(ALLOY_ELEMENTS)
        assert 2 <= len(set(f.numbers)) <= 7
        assert 14 <= len(f) <= 32 or (f.info["config_type"] != "vacancy" and len(f) == 8)
    sub = list(generate_alloy(5, seed=1, elements=["Cu", "Au"]))
    assert all(set(f.get_chemical_symbols()) == {"Cu", "Au"} for f in sub)
    with pytest.raises(ValueError, match="unsupported"):
        next(generate_alloy(5, elements=["Cu", "Fe"]))


def _derivative(energy, h):
    """Five-point central difference of energy(t) at t = 0 (error O(h^4))."""
    return (8 * (energy(h) - energy(-h)) - (energy(2 * h) - energy(-2 * h))) / (12 * h)


def test_emt_forces_and_virial_are_energy_derivatives(alloy_path):
    # ASE's EMT drops pairs beyond rc + 0.5 Å, where its Fermi cutoff is small but not zero,
    # so E(t) has steps of ~1e-9 eV when a pair crosses that radius. A difference quotient
    # then errs by ~step/h on top of the O(h^4) truncation: measured on 20 frames, strain
    # derivatives agree with the virials to <= 1.1e-5 eV at h = 1e-3 (virials are 0.2-27
    # eV); sign, factor-of-2 or volume errors would be off by O(1).
    frames = list(read_frames(alloy_path))
    sample = {f.info["config_type"]: f for f in frames}  # one frame of each type
    rng = np.random.default_rng(0)
    for atoms in sample.values():
        atoms = atoms.copy()
        forces, virial = atoms.arrays["forces"].copy(), atoms.info["virial"].copy()
        atoms.calc = EMT()
        pos0, cell0 = atoms.positions.copy(), np.asarray(atoms.cell).copy()

        def moved(t, i, d):
            pos = pos0.copy()
            pos[i, d] += t
            atoms.positions = pos
            return atoms.get_potential_energy()

        for i in rng.choice(len(atoms), size=2, replace=False):
            for d in range(3):
                fd = -_derivative(lambda t, i=i, d=d: moved(t, i, d), h=1e-4)
                assert fd == pytest.approx(forces[i, d], abs=1e-6)
        atoms.positions = pos0

        # virial = -dE/d(eps) for a symmetric strain eps applied to cell and positions
        def strained(t, a, b):
            eps = np.zeros((3, 3))
            eps[a, b] = eps[b, a] = t
            atoms.set_cell(cell0 @ (np.eye(3) + eps), scale_atoms=True)
            energy = atoms.get_potential_energy()
            atoms.set_cell(cell0, scale_atoms=True)
            return energy

        for a, b in [(0, 0), (2, 2), (1, 2)]:
            fd = -_derivative(lambda t, a=a, b=b: strained(t, a, b), h=1e-3)
            assert fd / (1 if a == b else 2) == pytest.approx(virial[a, b], abs=5e-5)


def test_amino_smiles_are_l_amino_acids():
    from rdkit import Chem

    for name in gen_amino.AMINO_ACIDS:
        mol = Chem.MolFromSmiles(gen_amino.amino_smiles(name))
        centres = dict(Chem.FindMolChiralCenters(mol, useLegacyImplementation=False))
        labels = sorted(centres.values())
        expected = {"Gly": [], "Cys": ["R"], "Ile": ["S", "S"], "Thr": ["R", "S"]}
        assert labels == expected.get(name, ["S"]), name
    assert len(gen_amino.systems()) == 20 * 8 + 2 * 6
    with pytest.raises(ValueError, match="no carboxylate"):
        gen_amino.amino_smiles("Ala", capped=True, deprotonated=True)


def test_amino_small_set_is_charged_correctly():
    from tblite.ase import TBLite

    report = {}
    frames = list(gen_amino.generate_amino(2, seed=5, report=report))
    assert report["written"] == len(frames) == 2
    for atoms in frames:
        cation = atoms.info["cation"]
        expected_charge = 1 if cation != "none" else 0
        assert atoms.info["total_charge"] == expected_charge
        if cation != "none":
            assert atoms.get_chemical_symbols()[-1] == cation
            o = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "O"]
            d = np.linalg.norm(atoms.positions[o] - atoms.positions[-1], axis=1).min()
            assert d == pytest.approx(gen_amino.CATIONS[cation], abs=0.3)
        check = atoms.copy()
        check.calc = TBLite(method="GFN2-xTB", charge=expected_charge, verbosity=0)
        assert check.get_potential_energy() == pytest.approx(atoms.info["energy"], abs=1e-6)


def test_amino_scf_failures_are_skipped_and_counted(monkeypatch):
    calls = {"n": 0}
    real = gen_amino._label

    def flaky(atoms, charge):
        calls["n"] += 1
        return None if calls["n"] == 1 else real(atoms, charge)

    monkeypatch.setattr(gen_amino, "_label", flaky)
    report = {}
    frames = list(gen_amino.generate_amino(1, seed=5, report=report))
    assert len(frames) == 1 and report["failed"] == 1 and report["attempts"] == 2
    assert "energy" in frames[0].info


def test_elpasolite_prototype_geometry():
    assert len(ELPASOLITE_ELEMENTS) == len(set(ELPASOLITE_ELEMENTS)) == 39
    atoms = elpasolite("K", "Na", "Al", "F")
    assert sorted(atoms.get_chemical_symbols()) == sorted("K Na Al Al F F F F F F".split())
    a = np.linalg.norm(atoms.cell[0]) * np.sqrt(2)  # primitive fcc vector = a / sqrt(2)
    d = atoms.get_all_distances(mic=True)
    sym = np.array(atoms.get_chemical_symbols())
    k, na = np.flatnonzero(sym == "K")[0], np.flatnonzero(sym == "Na")[0]
    f = np.flatnonzero(sym == "F")
    # octahedra: six F around K and six around Na, on the cube edge K-F-Na of length a/2
    assert np.allclose(np.sort(d[k, f]), d[k, f][0]) and np.allclose(np.sort(d[na, f]), d[na, f][0])
    assert d[k, f][0] + d[na, f][0] == pytest.approx(a / 2)
    assert d[k, na] == pytest.approx(a / 2)
    # the 8c sites (Al) sit at the centres of K4Na4 cubes of edge a/2: a sqrt(3)/4 from each
    for al in np.flatnonzero(sym == "Al"):
        assert d[al, k] == pytest.approx(a * np.sqrt(3) / 4)
        assert d[al, na] == pytest.approx(a * np.sqrt(3) / 4)


def test_elpasolite_set_deterministic_and_distinct(tmp_path):
    p1 = generate("elpasolite", n=30, seed=2, cache=tmp_path)
    p2 = generate("elpasolite", n=30, seed=2, out=tmp_path / "copy.extxyz")
    assert _sha(p1) == _sha(p2)
    frames = list(read_frames(p1))
    assert len({f.info["sites"] for f in frames}) == 30
    assert all(f.info["energy_kind"] == "none" and "energy" not in f.info for f in frames)
    with pytest.raises(ValueError, match="distinct ABC2D6"):
        next(generate_elpasolite(25, elements=["H", "Li", "Na", "K"]))


def test_generate_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown generator"):
        generate("oxide", n=2, cache=tmp_path)
    with pytest.raises(ValueError, match="n must be"):
        generate("alloy", n=0, cache=tmp_path)
    with pytest.raises(ValueError, match="seed"):
        generate("alloy", n=2, seed=-1, cache=tmp_path)


def test_elpasolite_proxy_energies_reject_implausible_binding():
    """GFN1's SCF "converges" on all-metal cells to thousands of eV/atom: such cells are
    counted as implausible and never written; a real elpasolite binds by a few eV/atom."""
    from slimsoap.data.gen_elpasolite import (
        MAX_BINDING,
        MIN_BINDING,
        _proxy_energy,
        binding_energy,
    )

    good = elpasolite("K", "Na", "Li", "Cl")
    assert _proxy_energy(good) == "ok"
    assert -10.0 < binding_energy(good, good.info["energy"]) < 0.0
    bad = elpasolite("In", "K", "Mg", "Sr")
    assert _proxy_energy(bad) == "implausible"
    assert "energy" not in bad.info and "forces" not in bad.arrays
    assert MIN_BINDING < 0 < MAX_BINDING
    runaway = elpasolite("N", "S", "Br", "H")  # the SCF "converges" to +4.5e6 eV/atom
    assert _proxy_energy(runaway) == "implausible"
    assert "energy" not in runaway.info
    report = {}
    frames = list(generate_elpasolite(6, seed=0, elements=["In", "K", "Mg", "Sr", "Cl"],
                                      energies=True, report=report))  # fmt: skip
    assert report["written"] == len(frames) == 6
    for a in frames:
        assert MIN_BINDING <= binding_energy(a, a.info["energy"]) <= MAX_BINDING
