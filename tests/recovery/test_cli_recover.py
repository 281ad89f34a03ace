"""The ``slimsoap recover`` handler on features written to disk."""

import argparse

import numpy as np
import pytest
from structures import random_cluster

from slimsoap import SOAP
from slimsoap.cli.recover import add_subparser
from slimsoap.io import read_features, write_features


def test_recover_command(tmp_path, capsys):
    frames = [random_cluster(["H", "C", "O", "C"], seed=s) for s in range(3)]
    soap = SOAP(["H", "C", "O"], 3.5, 3, 3, compression="random", seed=21)
    full_soap = SOAP(["H", "C", "O"], 3.5, 3, 3)
    write_features(tmp_path / "c.npz", soap.compute(frames), soap)
    write_features(tmp_path / "full.npz", full_soap.compute(frames), full_soap)
    parser = argparse.ArgumentParser()
    add_subparser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "recover",
            str(tmp_path / "c.npz"),
            str(tmp_path / "r.npz"),
            "--original",
            str(tmp_path / "full.npz"),
        ]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    err = float(out.split("max relative recovery error:")[1].split()[0])
    assert err <= 1e-8
    rec, rec_soap, extra = read_features(tmp_path / "r.npz", with_extra=True)
    assert rec_soap.to_dict() == full_soap.to_dict()
    ref = full_soap.compute(frames).values
    assert np.abs(rec.values - ref).max() <= 1e-8 * np.abs(ref).max()
    assert extra["rank"].shape == extra["condition"].shape == (12, 4)
    np.testing.assert_array_equal(rec.frame_index, soap.compute(frames).frame_index)


def test_recover_refuses_features_without_their_calculator(tmp_path):
    soap = SOAP(["H", "C", "O"], 3.5, 3, 3, compression="random", seed=21)
    np.save(tmp_path / "bare.npy", soap.compute(random_cluster(["H", "C", "O"], seed=1)).values)
    parser = argparse.ArgumentParser()
    add_subparser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["recover", str(tmp_path / "bare.npy"), str(tmp_path / "r.npz")])
    with pytest.raises(ValueError, match="holds no calculator"):
        args.func(args)
    assert not (tmp_path / "r.npz").exists()
