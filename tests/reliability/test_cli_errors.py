"""Every bad invocation of the command line ends in one line on stderr, never a traceback:
exit status 2 for usage errors, 1 for runtime errors, 130 for Ctrl-C (issue 13)."""

import re
import subprocess
import sys
import time

import numpy as np
import pytest
from ase.build import bulk

from slimsoap.cli import main as cli
from slimsoap.data.readers import write_extxyz


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "empty.xyz").write_text("")
    (d / "garbage.xyz").write_text("hello world\nthis is not xyz\n")
    (d / "nan.xyz").write_text("2\nProperties=species:S:1:pos:R:3\nCu 0 0 0\nCu nan 0 0\n")
    (d / "emptydir").mkdir()
    (d / "notes.txt").write_text("not a structure")
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    write_extxyz(d / "good.xyz", [atoms, atoms])
    rng = np.random.default_rng(0)
    np.save(d / "a.npy", rng.normal(size=(10, 3)))
    np.save(d / "short.npy", rng.normal(size=(4, 3)))
    np.save(d / "nan.npy", np.full((10, 3), np.nan))
    np.savez(d / "two.npz", x=np.zeros(3), y=np.zeros(3))
    (d / "calc.json").write_text("{not json")
    return d


USAGE, RUNTIME = 2, 1
# (argv with {d} for the files folder, exit status, pattern of the one stderr line)
CASES = [
    ([], USAGE, r"the following arguments are required: command"),
    (["bogus"], USAGE, r"invalid choice: 'bogus'"),
    (["--frobnicate", "demo"], USAGE, r"unrecognized arguments: --frobnicate"),
    (["demo", "--r-cut", "-1"], USAGE, r"argument --r-cut: must be a finite number > 0, got -1"),
    (["demo", "--r-cut", "nan"], USAGE, r"argument --r-cut: must be a finite number > 0"),
    (["demo", "--r-cut", "five"], USAGE, r"argument --r-cut: invalid float value: 'five'"),
    (["demo", "--sigma", "inf"], USAGE, r"argument --sigma: must be a finite number > 0"),
    (["demo", "--sigma", "0"], USAGE, r"argument --sigma: must be a finite number > 0"),
    (["demo", "--n-max", "0"], USAGE, r"argument --n-max: must be >= 1, got 0"),
    (["demo", "--l-max", "-1"], USAGE, r"argument --l-max: must be >= 0, got -1"),
    (["demo", "--repeat", "0"], USAGE, r"argument --repeat: must be >= 1"),
    (["demo", "--seed", "-3"], USAGE, r"argument --seed: must be >= 0, got -3"),
    (["demo", "--n-max", "2.5"], USAGE, r"argument --n-max: invalid int value: '2.5'"),
    (["demo", "--sigma", "1e-5"], RUNTIME, r"radial spline table would need about .* GiB"),
    (["data"], USAGE, r"required: data_command"),
    (["data", "summary"], USAGE, r"required: path"),
    (["data", "summary", "{d}/missing.xyz"], RUNTIME, r"missing.xyz' does not exist"),
    (["data", "summary", "{d}/empty.xyz"], RUNTIME, r"empty.xyz' holds no structures"),
    (["data", "summary", "{d}/emptydir"], RUNTIME, r"emptydir' holds no structures"),
    (["data", "summary", "{d}/garbage.xyz"], RUNTIME, r"Expected xyz header"),
    (["data", "summary", "{d}/notes.txt"], RUNTIME, r"cannot tell the format of"),
    (["data", "summary", "{d}/good.xyz", "--format", "pdb"], USAGE, r"argument --format"),
    (["data", "summary", "{d}/good.xyz", "--max-frames", "-1"], USAGE, r"--max-frames: must be"),
    (["data", "summary", "{d}/good.xyz", "--max-frames", "0"], USAGE, r"--max-frames: must be"),
    (["data", "summary", "{d}/good.xyz", "--r-cut", "0"], USAGE, r"argument --r-cut"),
    (["data", "generate", "quartz"], USAGE, r"argument kind: invalid choice: 'quartz'"),
    (["data", "generate", "alloy", "--n", "0"], USAGE, r"argument --n: must be >= 1, got 0"),
    (["data", "generate", "alloy", "--n", "-4"], USAGE, r"argument --n: must be >= 1"),
    (["data", "generate", "alloy", "--seed", "-1"], USAGE, r"argument --seed: must be >= 0"),
    (["data", "generate", "amino", "--elements", "H"], USAGE, r"argument --elements: applies"),
    (["data", "generate", "alloy", "--energies"], USAGE, r"argument --energies: applies"),
    (["imbalance", "{d}/a.npy"], USAGE, r"required: descriptors"),
    (["imbalance", "{d}/a.npy", "{d}/missing.npy"], RUNTIME, r"no feature file .*missing.npy"),
    (["imbalance", "{d}/a.npy", "{d}/short.npy"], RUNTIME, r"short. has 4 rows, reference has 10"),
    (["imbalance", "{d}/a.npy", "{d}/nan.npy"], RUNTIME, r"NaN or inf"),
    (["imbalance", "{d}/a.npy", "{d}/two.npz"], RUNTIME, r"two.npz: an .npz without a slimsoap"),
    (["imbalance", "{d}/a.npy", "{d}/notes.txt"], RUNTIME, r"notes.txt: expected a feature store"),
    (["imbalance", "{d}/a.npy", "{d}/empty.xyz"], RUNTIME, r"empty.xyz: expected a feature store"),
    (["imbalance", "{d}/a.npy", "{d}/a.npy", "--k", "0"], USAGE, r"argument --k: must be >= 1"),
    (["imbalance", "{d}/a.npy", "{d}/a.npy", "--k", "50"], RUNTIME, r"k = 50 needs at least"),
    (["imbalance", "{d}/a.npy", "{d}/a.npy", "--n-samples", "0"], USAGE, r"--n-samples: must"),
    (["imbalance", "{d}/a.npy", "{d}/a.npy", "--repeats", "0"], USAGE, r"--repeats: must be"),
    (["distance-correlation", "{d}/a.npy"], USAGE, r"required: b"),
    (["distance-correlation", "{d}/a.npy", "{d}/short.npy"], RUNTIME, r"10 vs 4 rows"),
    (["distance-correlation", "{d}/a.npy", "{d}/a.npy", "--bins", "0"], USAGE, r"--bins: must"),
    (["distance-correlation", "{d}/a.npy", "{d}/a.npy", "--spearman-pairs", "2"], RUNTIME,
     r"spearman_pairs must be >= 3"),
    (["recover", "{d}/a.npy"], USAGE, r"required: output"),
    (["recover", "{d}/missing.npz", "{d}/out.npz"], RUNTIME, r"missing.npz"),
    (["recover", "{d}/a.npy", "{d}/out.npz", "--rtol", "-1"], USAGE, r"--rtol: must be a finite"),
    (["recover", "{d}/a.npy", "{d}/out.npz", "--rtol", "nan"], USAGE, r"--rtol: must be a finite"),
    (["recover", "{d}/a.npy", "{d}/out.npz", "--chunk", "0"], USAGE, r"--chunk: must be >= 1"),
    (["featurize", "{d}/good.xyz"], USAGE, r"required: --out"),
    (["featurize", "{d}/missing.xyz", "--out", "{d}/s.zarr"], RUNTIME, r"does not exist"),
    (["featurize", "{d}/empty.xyz", "--out", "{d}/s.zarr"], RUNTIME, r"holds no structures"),
    (["featurize", "{d}/emptydir", "--out", "{d}/s.zarr", "--species", "Cu"], RUNTIME,
     r"holds no structures"),
    (["featurize", "{d}/nan.xyz", "--out", "{d}/s1.zarr", "--species", "Cu", "--no-progress"],
     RUNTIME,
     r"frame 0: positions of atoms \[1\] are NaN or inf"),
    (["featurize", "{d}/good.xyz", "--out", "{d}/s.zarr", "--workers", "0"], USAGE,
     r"argument --workers: must be >= 1, got 0"),
    (["featurize", "{d}/good.xyz", "--out", "{d}/s.zarr", "--batch-size", "0"], USAGE,
     r"argument --batch-size: must be >= 1"),
    (["featurize", "{d}/good.xyz", "--out", "{d}/s.zarr", "--n", "0"], USAGE, r"--n: must be"),
    (["featurize", "{d}/good.xyz", "--out", "{d}/s.zarr", "--scheduler", "no-such"], USAGE,
     r"argument --scheduler: 'no-such' is not 'local-cluster' or an address"),
    (["featurize", "{d}/good.xyz", "--out", "{d}/s.zarr", "--scheduler", "tcp://127.0.0.1:1"],
     RUNTIME, r"cannot reach the Dask scheduler at tcp://127.0.0.1:1 \(--scheduler\)"),
    (["featurize", "{d}/good.xyz", "--out", "{d}/s.zarr", "--species", "Xx"], RUNTIME,
     r"unknown chemical species 'Xx'"),
    (["featurize", "{d}/good.xyz", "--out", "{d}/s.zarr", "--compression", "bogus"], RUNTIME,
     r"unknown compression 'bogus'"),
    (["featurize", "{d}/good.xyz", "--out", "{d}/s.zarr", "--calculator", "{d}/missing.json"],
     RUNTIME, r"missing.json"),
    (["featurize", "{d}/good.xyz", "--out", "{d}/s.zarr", "--sigma", "-0.5"], USAGE,
     r"argument --sigma"),
    (["study", "--workers", "0"], USAGE, r"argument --workers: must be >= 1, got 0"),
    (["study", "--train-sizes", "8", "0"], USAGE, r"argument --train-sizes: must be >= 1"),
    (["study", "--max-environments", "0"], USAGE, r"--max-environments: must be >= 1"),
    (["study", "--n-max", "0"], USAGE, r"argument --n-max: must be >= 1"),
    (["study", "--scheduler", "tcp://127.0.0.1:1"], RUNTIME, r"cannot reach the Dask scheduler"),
    (["study", "--data", "{d}/empty.xyz", "--out", "{d}/st"], RUNTIME, r"holds no structures"),
]  # fmt: skip


def _run(argv, capsys):
    status = cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.err


@pytest.mark.parametrize("argv, status, pattern", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_invocation_is_one_line(files, capsys, argv, status, pattern):
    argv = [a.format(d=files) for a in argv]
    try:
        got, err = _run(argv, capsys)
    except SystemExit as exc:  # argparse's own errors exit from inside parse_args
        got, err = exc.code, capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert re.search(pattern, lines[0]), lines[0]
    assert lines[0].startswith("slimsoap")
    assert got == status, lines[0]


def test_unreachable_scheduler_fails_within_seconds(files, capsys):
    t0 = time.perf_counter()
    # 192.0.2.1 (TEST-NET-1) is never routed: the connection times out rather than refuses
    status, err = _run(
        ["featurize", f"{files}/good.xyz", "--out", f"{files}/t.zarr", "--species", "Cu",
         "--scheduler", "tcp://192.0.2.1:8786"],
        capsys,
    )  # fmt: skip
    assert time.perf_counter() - t0 < cli.SCHEDULER_TIMEOUT + 2
    assert status == RUNTIME and len(err.strip().splitlines()) == 1
    assert "cannot reach the Dask scheduler at tcp://192.0.2.1:8786" in err


def _interrupt(args):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "command", [["demo"], ["data", "summary", "x.xyz"], ["imbalance", "a.npy", "b.npy"],
                ["recover", "a.npz", "b.npz"], ["featurize", "x.xyz", "--out", "s.zarr"],
                ["study"], ["distance-correlation", "a.npy", "b.npy"]],
)  # fmt: skip
def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys, command):
    parser = cli.build_parser()
    args = parser.parse_args(command)
    args.func = _interrupt
    monkeypatch.setattr(cli, "build_parser", lambda: _Fixed(args))
    status, err = _run(command, capsys)
    assert status == 130 and err == "slimsoap: error: interrupted\n"


class _Fixed:
    def __init__(self, args):
        self.args = args

    def parse_args(self, argv):
        return self.args


def test_unexpected_errors_are_one_line_too(monkeypatch, capsys):
    def broken(args):
        return [][1]

    args = cli.build_parser().parse_args(["demo"])
    args.func = broken
    monkeypatch.setattr(cli, "build_parser", lambda: _Fixed(args))
    status, err = _run(["demo"], capsys)
    assert status == RUNTIME and len(err.splitlines()) == 1
    assert "unexpected IndexError: list index out of range" in err and "--debug" in err


@pytest.mark.parametrize("where", ["first", "last"])
def test_debug_shows_the_traceback(files, where):
    argv = ["data", "summary", f"{files}/empty.xyz"]
    argv = ["--debug", *argv] if where == "first" else [*argv, "--debug"]
    with pytest.raises(ValueError, match="holds no structures"):
        cli.main(argv)


def test_console_script_subprocess(files):
    """The installed entry point: one line, status 1, and no traceback."""
    run = subprocess.run(
        [sys.executable, "-m", "slimsoap.cli.main", "data", "summary", f"{files}/empty.xyz"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "slimsoap.cli.main", "demo", "--workers", "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2 and run.stderr.count("\n") == 1


def test_good_invocation_still_works(files, capsys):
    assert cli.main(["data", "summary", f"{files}/good.xyz", "--json"]) == 0
    assert '"n_frames": 2' in capsys.readouterr().out
