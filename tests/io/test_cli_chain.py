"""The command line chains: ``featurize`` writes a zarr store that ``imbalance``,
``distance-correlation`` and ``recover`` read (one IO layer, ``load_features``)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from structures import random_alloy

import slimsoap
from slimsoap import SOAP, imbalance_plane
from slimsoap.cli.main import main
from slimsoap.data import read_frames, write_extxyz
from slimsoap.io import read_features

ROOT = Path(slimsoap.__file__).resolve().parents[1]


def slimsoap_cli(*args, cwd):
    """Run ``slimsoap ARGS`` in a fresh process (this checkout first on the path)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-m", "slimsoap.cli.main", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("chain") / "data.xyz"
    write_extxyz(path, [random_alloy(["Cu", "Ag", "Au"], repeat=1, seed=s) for s in range(3)])
    return path


HYPER = ["--r-cut", "4", "--n-max", "3", "--l-max", "2", "--no-progress"]


def test_featurize_then_imbalance_and_recover_from_the_command_line(data):
    work = data.parent
    slimsoap_cli("featurize", data, "--compression", "random", "--seed", "4", "--out",
                 "S.zarr", *HYPER, cwd=work)  # fmt: skip
    slimsoap_cli("featurize", data, "--compression", "nu2", "--out", "F.zarr", *HYPER, cwd=work)
    out = slimsoap_cli("imbalance", "F.zarr", "S.zarr", "F.zarr", cwd=work)
    rows = {line.split()[0]: line.split()[1::2] for line in out.splitlines()[2:]}
    # the numbers are those of the analysis on the descriptors the stores hold
    frames = list(read_frames(data))
    ref = SOAP(["Cu", "Ag", "Au"], 4.0, 3, 2).compute(frames).values
    rnd = SOAP(["Cu", "Ag", "Au"], 4.0, 3, 2, compression="random", seed=4).compute(frames)
    plane = imbalance_plane(ref, {"S": rnd.values, "F": ref})
    for i, name in enumerate(plane.names):
        want = [plane.from_reference[i], plane.to_reference[i]]
        assert rows[name] == [f"{v:.4f}" for v in want]
    slimsoap_cli("recover", "S.zarr", "R.npz", "--original", "F.zarr", cwd=work)
    recovered, calc = read_features(work / "R.npz")
    assert calc.to_dict() == SOAP(["Cu", "Ag", "Au"], 4.0, 3, 2).to_dict()
    assert np.abs(recovered.values - ref).max() <= 1e-8 * np.abs(ref).max()
    # and the recovered file feeds the analyses in turn
    out = slimsoap_cli("distance-correlation", "F.zarr", "R.npz", cwd=work)
    assert "distance Pearson  1.0000" in out


def test_chain_in_process_with_a_saved_calculator(data, tmp_path, capsys):
    from slimsoap.io import save_calculator

    calc = SOAP(["Cu", "Ag", "Au"], 4.0, 3, 2, compression="random_sym", seed=8)
    save_calculator(tmp_path / "calc.npz", calc)
    store = tmp_path / "T.zarr"
    assert main(["featurize", str(data), "--calculator", str(tmp_path / "calc.npz"),
                 "--out", str(store), "--no-progress"]) == 0  # fmt: skip
    assert main(["recover", str(store), str(tmp_path / "R.npz")]) == 0
    assert "random_sym (seed 8)" in capsys.readouterr().out
    assert main(["imbalance", str(store), str(tmp_path / "R.npz")]) == 0
