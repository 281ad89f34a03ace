"""Data set summary: element counts, S_env, energy range; the CLI around it."""

import argparse
import json

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from slimsoap.cli.data import add_subparser
from slimsoap.data.readers import write_extxyz
from slimsoap.data.summary import species_per_environment, summarize


def _frames():
    rocksalt = bulk("NaCl", "rocksalt", a=5.64)  # Na-Cl 2.82 Å, Na-Na 3.99 Å
    rocksalt.info.update(energy=-6.0, config_type="crystal")
    # an H2 molecule and an isolated Ar atom 10 Å away
    gas = Atoms("H2Ar", positions=[[0, 0, 0], [0, 0, 0.74], [10, 0, 0]])
    gas.info.update(energy=-1.5)
    gas.arrays["forces"] = np.zeros((3, 3))
    return [rocksalt, gas]


def test_species_per_environment():
    rocksalt, gas = _frames()
    assert species_per_environment(rocksalt, 2.0).tolist() == [1, 1]
    assert species_per_environment(rocksalt, 3.0).tolist() == [2, 2]
    assert species_per_environment(gas, 5.0).tolist() == [1, 1, 1]


def test_summary_counts():
    s = summarize(_frames(), r_cut=3.0)
    assert s["n_frames"] == 2 and s["n_atoms"] == 5
    assert s["elements"] == {
        "H": {"atoms": 2, "frames": 1},
        "Na": {"atoms": 1, "frames": 1},
        "Cl": {"atoms": 1, "frames": 1},
        "Ar": {"atoms": 1, "frames": 1},
    }
    assert list(s["elements"]) == ["H", "Na", "Cl", "Ar"]  # by atomic number
    assert s["config_types"] == {"crystal": 1, "unknown": 1}
    assert s["s_env"]["histogram"] == {1: 3, 2: 2}
    assert s["energy"]["min"] == -6.0 and s["energy"]["max"] == -1.5
    assert s["energy"]["per_atom_min"] == -3.0 and s["energy"]["per_atom_max"] == -0.5
    assert s["periodic_frames"] == 1 and s["frames_with_forces"] == 1
    with pytest.raises(ValueError, match="no frames"):
        summarize([])


def _parser():
    parser = argparse.ArgumentParser(prog="slimsoap")
    add_subparser(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cli_summary_and_generate(tmp_path, capsys):
    path = tmp_path / "set.extxyz"
    write_extxyz(path, _frames())
    args = _parser().parse_args(["data", "summary", str(path), "--r-cut", "3", "--json"])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["s_env"]["histogram"] == {"1": 3, "2": 2}
    args = _parser().parse_args(["data", "summary", str(path)])
    args.func(args)
    assert "S_env within 5.0 Å" in capsys.readouterr().out
    out = tmp_path / "elp.extxyz"
    argv = ["data", "generate", "elpasolite", "--n", "3", "--seed", "1", "--out", str(out)]
    args = _parser().parse_args(argv)
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_text().count("elpasolite") == 3
