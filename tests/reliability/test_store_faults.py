"""Nothing lost, stores you can trust, resume (issue 13, DESIGN §9).

- ``--overwrite`` replaces only a slimsoap store; a failed run removes only what it created;
- a deleted chunk and a flipped byte are reported, naming the array and the chunk;
- a batch of another calculator is refused;
- ``kill -9`` or Ctrl-C part way through ``slimsoap featurize``, then the same command again,
  gives a store equal, array for array, to an uninterrupted run.
"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from slimsoap import SOAP
from slimsoap.cli.main import main
from slimsoap.data import generate, read_frames, write_extxyz
from slimsoap.io import load_features
from slimsoap.io.store import FeatureStore, StoreCorruptionError
from slimsoap.study.featurize import FeaturizeInterrupted, featurize

SPECIES = ["Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"]
HYPER = ["--r-cut", "4", "--n-max", "3", "--l-max", "2", "--no-progress"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    return generate("alloy", n=40, seed=0, out=root / "alloy.extxyz")


@pytest.fixture(scope="module")
def frames(data):
    return list(read_frames(data))


def _soap(seed=0, compression="nu2"):
    kw = {"seed": seed} if compression == "random" else {}
    return SOAP(SPECIES, 4.0, 3, 2, 0.5, compression=compression, **kw)


def _arrays(path):
    """Every file of a store (path relative to the store → bytes): what a resumed run must
    reproduce exactly."""
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def _assert_same_store(a, b):
    files_a, files_b = _arrays(a), _arrays(b)
    assert sorted(files_a) == sorted(files_b)
    for name in files_a:
        assert files_a[name] == files_b[name], name


@pytest.fixture(scope="module")
def reference(tmp_path_factory, frames):
    """The uninterrupted store of the CLI command the fault tests run."""
    path = tmp_path_factory.mktemp("ref") / "ref.zarr"
    featurize(frames, _soap(), path, batch_size=1, progress=False)
    return path


#: Frames of the signal tests: a margin so that a fast machine is still working when the
#: signal arrives.
N_LONG = 200


@pytest.fixture(scope="module")
def long_data(tmp_path_factory, frames):
    """The 40 generated frames five times over, as one extxyz file."""
    path = tmp_path_factory.mktemp("long") / "long.extxyz"
    write_extxyz(path, frames * (N_LONG // len(frames)))
    return path


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory, long_data):
    """The uninterrupted store of the signal tests' command."""
    path = tmp_path_factory.mktemp("longref") / "ref.zarr"
    featurize(list(read_frames(long_data)), _soap(), path, batch_size=1, progress=False)
    return path


def _command(data, out):
    args = ["featurize", str(data), "--out", str(out), "--species", *SPECIES, *HYPER]
    return [sys.executable, "-m", "slimsoap.cli.main", *args, "--batch-size", "1"]


def _committed(path):
    try:
        return json.loads((path / "zarr.json").read_text())["attributes"]["n_frames"]
    except (OSError, ValueError, KeyError):
        return 0


def _start_and_signal(data, out, sig, after_frames=2):
    """Run the featurize command; send ``sig`` once ``after_frames`` frames are committed."""
    proc = subprocess.Popen(
        _command(data, out),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # a shell starts background jobs with SIGINT ignored, and Python keeps it so: give the
        # command the default disposition, as an interactive terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while _committed(out) < after_frames and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


# --- resume ---------------------------------------------------------------------------------


def test_kill_9_then_the_same_command_resumes_to_an_identical_store(
    long_data, long_reference, tmp_path
):
    out = tmp_path / "s.zarr"
    status, _ = _start_and_signal(long_data, out, signal.SIGKILL)
    assert status == -signal.SIGKILL
    killed_at = FeatureStore.open(out).n_frames
    assert 2 <= killed_at < N_LONG  # killed part way
    again = subprocess.run(_command(long_data, out), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert FeatureStore.open(out).n_frames == N_LONG
    _assert_same_store(out, long_reference)


def test_ctrl_c_says_how_many_rows_were_committed_and_resumes(long_data, long_reference, tmp_path):
    out = tmp_path / "s.zarr"
    status, err = _start_and_signal(long_data, out, signal.SIGINT)
    store = FeatureStore.open(out)
    assert status == 130, err
    assert err == (
        f"slimsoap: error: interrupted: {store.n_rows} rows ({store.n_frames} frames) "
        f"committed to {out}; run the same command again to resume\n"
    )
    assert 2 <= store.n_frames < N_LONG
    again = subprocess.run(_command(long_data, out), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"resuming {out}: {store.n_frames} frames committed\n" in again.stdout
    _assert_same_store(out, long_reference)


def _interrupted_after(frames, n):
    for f, atoms in enumerate(frames):
        if f == n:
            raise KeyboardInterrupt
        yield atoms


def test_interrupted_featurize_in_process_resumes(frames, reference, tmp_path):
    out = tmp_path / "s.zarr"
    with pytest.raises(FeaturizeInterrupted, match=r"interrupted: \d+ rows \(5 frames\)") as err:
        featurize(_interrupted_after(frames, 5), _soap(), out, batch_size=1, progress=False)
    assert err.value.n_frames == 5 and err.value.n_rows == sum(len(a) for a in frames[:5])
    featurize(iter(frames), _soap(), out, batch_size=1, progress=False)
    _assert_same_store(out, reference)
    # a finished store: running again changes nothing
    featurize(frames, _soap(), out, batch_size=1, progress=False)
    _assert_same_store(out, reference)


def _interrupted_in_kernel_after(frames, n):
    """As Ctrl-C that lands while a Numba function returns: a SystemError caused by it."""
    for f, atoms in enumerate(frames):
        if f == n:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as cause:
                raise SystemError("returned a result with an exception set") from cause
        yield atoms


def test_ctrl_c_inside_a_kernel_commits_and_resumes(frames, reference, tmp_path):
    out = tmp_path / "s.zarr"
    with pytest.raises(FeaturizeInterrupted, match=r"interrupted: \d+ rows \(5 frames\)"):
        featurize(_interrupted_in_kernel_after(frames, 5), _soap(), out, batch_size=1,
                  progress=False)  # fmt: skip
    featurize(iter(frames), _soap(), out, batch_size=1, progress=False)
    _assert_same_store(out, reference)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"batch_size": 2}, r"written with other settings \(batch_size=1, not 2\)"),
        ({"sparse": True}, r"sparse=False, not True"),
        (
            {"calculator": "random"},
            r"it holds features of another calculator: parameters \['compression', 'seed'\]",
        ),
        ({"frames": "reversed"}, r"its 5 committed frames are not the first frames of this"),
    ],
)
def test_resume_refuses_another_command(frames, tmp_path, change, message):
    out = tmp_path / "s.zarr"
    with pytest.raises(FeaturizeInterrupted):
        featurize(_interrupted_after(frames, 5), _soap(), out, batch_size=1, progress=False)
    before = _arrays(out)
    kwargs = {"batch_size": 1, "progress": False}
    kwargs.update({k: v for k, v in change.items() if k in ("batch_size", "sparse")})
    calc = _soap(compression=change.get("calculator", "nu2"))
    given = frames[::-1] if "frames" in change else frames
    with pytest.raises(FileExistsError, match=message):
        featurize(given, calc, out, **kwargs)
    assert _arrays(out) == before  # the store is untouched


# --- nothing lost ---------------------------------------------------------------------------


def test_overwrite_refuses_a_directory_that_is_not_a_store(data, tmp_path, capsys):
    work = tmp_path / "thesis"
    work.mkdir()
    (work / "chapter1.tex").write_text("precious")
    argv = ["featurize", str(data), "--out", str(work), "--species", *SPECIES, *HYPER]
    assert main([*argv, "--overwrite", "--n", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"refusing to replace '{work}': not a slimsoap feature store" in err
    assert "'chapter1.tex'" in err
    assert (work / "chapter1.tex").read_text() == "precious"
    with pytest.raises(FileExistsError, match="not a slimsoap feature store"):
        FeatureStore.create(work, _soap(), overwrite=True)
    with pytest.raises(FileExistsError, match="not a slimsoap feature store"):
        featurize([bulk("Cu")], SOAP(["Cu"], 3.0, 2, 1), work, overwrite=True, progress=False)
    assert sorted(p.name for p in work.iterdir()) == ["chapter1.tex"]


def test_overwrite_of_the_working_directory_is_refused(data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("notes.txt").write_text("keep")
    argv = ["featurize", str(data), "--out", ".", "--species", *SPECIES, *HYPER, "--n", "2"]
    assert main([*argv, "--overwrite"]) == 1
    assert "refusing to replace '.'" in capsys.readouterr().err
    assert Path("notes.txt").read_text() == "keep"


def test_overwrite_refuses_a_file_and_a_store_holding_foreign_files(frames, tmp_path):
    calc = SOAP(["Cu"], 3.0, 2, 1)
    cu = [bulk("Cu")]
    (tmp_path / "file.zarr").write_text("x")
    with pytest.raises(FileExistsError, match="it is a file, not a slimsoap feature store"):
        FeatureStore.create(tmp_path / "file.zarr", calc, overwrite=True)
    store = tmp_path / "s.zarr"
    featurize(cu, calc, store, progress=False)
    (store / "mine.txt").write_text("x")
    with pytest.raises(FileExistsError, match=r"a slimsoap store that also holds 'mine.txt'"):
        featurize(cu, calc, store, overwrite=True, progress=False)
    assert (store / "mine.txt").exists()
    (store / "mine.txt").unlink()
    featurize(cu * 2, calc, store, overwrite=True, progress=False)  # a store is replaced
    assert FeatureStore.open(store).n_frames == 2


@pytest.mark.parametrize("where", ["new", "empty directory"])
def test_failed_featurize_removes_only_what_it_created(frames, tmp_path, where):
    out = tmp_path / "s.zarr"
    if where == "empty directory":
        out.mkdir()
    with pytest.raises(ValueError, match=r"frame 0 contains species \['Al'"):
        featurize(frames, SOAP(["Cu"], 3.0, 2, 1), out, progress=False)
    assert out.exists() == (where == "empty directory")
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        featurize(frames, _soap(), out, batch_size=0, progress=False)
    assert not out.exists() or not any(out.iterdir())
    # the retry is not blocked by a stub
    featurize(frames[:2], _soap(), out, progress=False)
    assert FeatureStore.open(out).n_frames == 2


def test_failed_cli_featurize_leaves_no_stub(data, tmp_path, capsys):
    out = tmp_path / "s.zarr"
    argv = ["featurize", str(data), "--out", str(out), *HYPER, "--n", "3"]
    assert main([*argv, "--species", "Cu"]) == 1
    assert "not in the calculator's species" in capsys.readouterr().err
    assert not out.exists()
    assert main([*argv, "--species", *SPECIES]) == 0


def test_generate_out_refuses_what_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "mine.extxyz"
    out.write_text("my own file")
    argv = ["data", "generate", "alloy", "--n", "2", "--out", str(out)]
    assert main(argv) == 1
    assert "exists and is not the data set these arguments generate" in capsys.readouterr().err
    assert out.read_text() == "my own file"
    (tmp_path / "mine.json").write_text("my notes")
    assert main([*argv, "--overwrite"]) == 1
    assert "mine.json' (the metadata beside --out): it exists and was not written" in (
        capsys.readouterr().err
    )
    assert (tmp_path / "mine.json").read_text() == "my notes"
    assert out.read_text() == "my own file"
    # a set generated there before is reused, and replaced only with --overwrite
    fresh = tmp_path / "set.extxyz"
    assert main(["data", "generate", "alloy", "--n", "2", "--out", str(fresh)]) == 0
    stamp = fresh.stat().st_mtime_ns
    assert main(["data", "generate", "alloy", "--n", "2", "--out", str(fresh)]) == 0
    assert fresh.stat().st_mtime_ns == stamp
    assert main(["data", "generate", "alloy", "--n", "3", "--out", str(fresh)]) == 1
    assert main(["data", "generate", "alloy", "--n", "3", "--out", str(fresh), "--overwrite"]) == 0
    assert len(list(read_frames(fresh))) == 3


@pytest.fixture
def random_npz(tmp_path, frames):
    from slimsoap.io import write_features

    soap = _soap(compression="random")
    return write_features(tmp_path / "c.npz", soap.compute(frames[:2]), soap)


@pytest.mark.parametrize(
    "output, status, message",
    [
        ("{in}", 2, r"argument output: is the input file"),
        ("{dir}/noext", 2, r"argument output: must be an .npz file name, got '.*noext'"),
        ("{dir}/exists.npz", 1, r"exists.npz' exists; pass --overwrite to replace it"),
    ],
)
def test_recover_never_overwrites_its_input_or_another_file(
    random_npz, capsys, output, status, message
):
    (random_npz.parent / "exists.npz").write_bytes(b"keep")
    before = random_npz.read_bytes()
    output = output.format(**{"in": random_npz, "dir": random_npz.parent})
    assert main(["recover", str(random_npz), output]) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    import re

    assert re.search(message, err), err
    assert random_npz.read_bytes() == before
    assert (random_npz.parent / "exists.npz").read_bytes() == b"keep"
    assert not (random_npz.parent / "noext").exists()
    assert not (random_npz.parent / "noext.npz").exists()


# --- stores you can trust -------------------------------------------------------------------


@pytest.fixture
def small_store(tmp_path, frames):
    path = tmp_path / "s.zarr"
    featurize(frames[:6], _soap(), path, batch_size=2, chunk_rows=16, progress=False)
    return path


def test_a_deleted_chunk_is_reported(small_store, capsys):
    store = FeatureStore.open(small_store)
    row0 = int(store.frame_index.searchsorted(2))  # part 1 starts at frame 2
    (small_store / "parts" / "000001" / "values" / "c" / "0" / "0").unlink()
    missing = (
        rf"chunk 'c/0/0' of array 'parts/000001/values' \(rows {row0}-{row0 + 15}\) is missing"
    )
    with pytest.raises(StoreCorruptionError, match=missing):
        load_features(small_store)
    np.testing.assert_array_equal(store.values(0, row0).shape, (row0, _soap().n_features))
    with pytest.raises(StoreCorruptionError, match="is missing"):
        store.values(row0 - 2, row0 + 2)
    with pytest.raises(StoreCorruptionError, match="is missing"):
        store.dask_values()
    assert main(["imbalance", str(small_store), str(small_store)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "chunk 'c/0/0' of array 'parts/000001/values'" in err


@pytest.mark.parametrize("name, key", [("values", "c/1/0"), ("frame_index", "c/0"),
                                       ("energy", "c/0"), ("numbers", "c/0")])  # fmt: skip
def test_a_flipped_byte_is_reported(small_store, name, key):
    chunk = small_store / "parts" / "000000" / name / key
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    chunk.write_bytes(bytes(raw))
    store = FeatureStore.open(small_store)
    read = {"values": store.values}.get(name, lambda: getattr(store, name))
    with pytest.raises(StoreCorruptionError, match=f"chunk '{key}' of array 'parts/000000/{name}' "
                       ".*fails its checksum: the file was changed or damaged"):  # fmt: skip
        read()


def test_a_chunk_of_zeros_is_written_and_read(tmp_path):
    """Chunks equal to the fill value are written too, so absence always means damage."""
    from slimsoap.features import Features

    path = tmp_path / "z.zarr"
    store = FeatureStore.create(path, None, chunk_rows=2)
    store.append(Features(np.zeros((5, 3)), np.zeros(5, dtype=np.int64)), np.zeros(5))
    chunks = path / "parts" / "000000" / "values" / "c"
    assert sorted(p.name for p in chunks.iterdir()) == ["0", "1", "2"]
    np.testing.assert_array_equal(FeatureStore.open(path).values(), np.zeros((5, 3)))


def test_a_batch_of_another_calculator_is_refused(tmp_path, frames):
    soap = _soap(seed=0, compression="random")
    other = _soap(seed=1, compression="random")  # the same width
    assert other.n_features == soap.n_features
    path = tmp_path / "s.zarr"
    store = FeatureStore.create(path, soap)
    numbers = frames[0].numbers
    store.append(soap.compute(frames[:1]), numbers, calculator=soap)
    with pytest.raises(ValueError, match=r"another calculator: parameters \['seed'\] differ"):
        store.append(other.compute(frames[:1]), numbers, calculator=other)
    with pytest.raises(ValueError, match="pass the calculator that computed the batch"):
        store.append(other.compute(frames[:1]), numbers)
    assert FeatureStore.open(path).n_frames == 1


def test_a_batch_with_other_fitted_arrays_is_refused(tmp_path, frames):
    def fitted(sub):
        return SOAP(SPECIES, 4.0, 3, 2, compression="optimal_radial", n_components=2).fit(sub)

    a, b = fitted(frames[:4]), fitted(frames[4:8])
    assert a.to_dict() == b.to_dict() and a.n_features == b.n_features
    store = FeatureStore.create(tmp_path / "s.zarr", a)
    with pytest.raises(ValueError, match="its fitted array 'components.l0' differs"):
        store.append(b.compute(frames[:1]), frames[0].numbers, calculator=b)
    store.append(a.compute(frames[:1]), frames[0].numbers, calculator=a)


def test_ctrl_c_inside_a_compiled_function_counts_as_ctrl_c(monkeypatch, capsys):
    """CPython turns an interrupt that lands as a Numba function returns into
    "SystemError: ... returned a result with an exception set" caused by the
    KeyboardInterrupt (seen once in CI): it is still Ctrl-C, exit status 130."""
    from slimsoap._runtime.interrupts import was_interrupted
    from slimsoap.cli import main as cli

    def landed() -> SystemError:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as cause:
            err = SystemError("CPUDispatcher(...) returned a result with an exception set")
            err.__cause__ = cause
            return err

    assert was_interrupted(KeyboardInterrupt()) and was_interrupted(landed())
    assert not was_interrupted(SystemError("other")) and not was_interrupted(ValueError())

    def run(args):
        raise landed()

    monkeypatch.setattr(cli, "check_values", lambda args: None)
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(
        parser, "parse_args", lambda argv: type("A", (), {"func": staticmethod(run)})()
    )
    assert cli.main(["featurize"]) == 130
    assert capsys.readouterr().err == "slimsoap: error: interrupted\n"
