"""Dask workers read their own frames and write their own parts of the store (issue 19).

- an extxyz index reads, range by range, exactly the frames read_frames streams;
- local and Dask runs, with the frames read by the workers or sent to them, give stores
  equal byte for byte;
- a worker killed mid-run: the run (or the same command again) still ends with the store
  of an uninterrupted run, byte for byte.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from slimsoap import SOAP
from slimsoap.data import generate, read_frames, write_extxyz
from slimsoap.io.store import FeatureStore
from slimsoap.study.featurize import featurize
from slimsoap.study.sources import ExtxyzFrames, indexed_frames

SPECIES = ["Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask")
    return generate("alloy", n=30, seed=3, out=root / "alloy.extxyz")


@pytest.fixture(scope="module")
def frames(data):
    return list(read_frames(data))


def _soap():
    return SOAP(SPECIES, 4.0, 3, 2, 0.5, compression="random", seed=5)


def _files(path):
    """Every file of a store, relative path → bytes."""
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def _same_frame(a, b):
    np.testing.assert_array_equal(a.numbers, b.numbers)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.cell.array, b.cell.array)
    np.testing.assert_array_equal(a.pbc, b.pbc)
    assert sorted(a.info) == sorted(b.info)
    for key in a.info:
        np.testing.assert_array_equal(a.info[key], b.info[key])
    assert sorted(a.arrays) == sorted(b.arrays)
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])


def test_index_reads_the_frames_read_frames_streams(data, frames):
    index = ExtxyzFrames(data)
    assert len(index) == len(frames)
    np.testing.assert_array_equal(index.n_atoms, [len(a) for a in frames])
    got = [a for s in index.slices(7) for a in s.read()]
    for a, b in zip(got, frames, strict=True):
        _same_frame(a, b)
    for a, b in zip(index.slice(11, 13).read(), frames[11:13], strict=True):
        _same_frame(a, b)
    assert len(ExtxyzFrames(data, n=4)) == 4
    assert [s.start for s in index.slices(7, first=2)] == [14, 21, 28]
    assert indexed_frames(data) is not None
    assert indexed_frames(data.with_suffix(".json")) is None  # not extxyz: streamed


def test_index_stops_where_ase_stops_and_names_bad_input(tmp_path, frames):
    text = tmp_path / "blank.extxyz"
    write_extxyz(text, frames[:3])
    with open(text, "a") as fh:
        fh.write("\n")
    write_extxyz(text, frames[3:5], append=True)
    assert len(ExtxyzFrames(text)) == len(list(read_frames(text))) == 3
    bad = tmp_path / "bad.extxyz"
    bad.write_text("two\ncomment\n")
    with pytest.raises(ValueError, match=r"frame 0 \(byte 0\) does not start with its number"):
        ExtxyzFrames(bad)
    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    with pytest.raises(ValueError, match="holds no structures"):
        ExtxyzFrames(empty)
    changed = tmp_path / "changed.extxyz"
    write_extxyz(changed, frames[:2])
    index = ExtxyzFrames(changed)
    write_extxyz(changed, frames[:3])
    with pytest.raises(ValueError, match="changed while it was being featurised"):
        index.slice(0, 2).read()


@pytest.fixture(scope="module")
def local_store(tmp_path_factory, frames):
    path = tmp_path_factory.mktemp("local") / "s.zarr"
    featurize(frames, _soap(), path, batch_size=4, gradients=True, sparse=True, progress=False)
    return path


def test_local_and_dask_stores_are_equal_byte_for_byte(tmp_path, data, frames, local_store):
    from dask.distributed import Client, LocalCluster

    kw = {"batch_size": 4, "gradients": True, "sparse": True, "progress": False}
    indexed = featurize(ExtxyzFrames(data), _soap(), tmp_path / "i.zarr", **kw)
    assert _files(indexed.path) == _files(local_store)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as client,
    ):
        read_by_workers = featurize(
            ExtxyzFrames(data), _soap(), tmp_path / "w.zarr", client=client, max_pending=3, **kw
        )
        sent = featurize(iter(frames), _soap(), tmp_path / "t.zarr", client=client, **kw)
        # resume on Dask: the committed batches are checked by workers reading them
        partial = tmp_path / "r.zarr"
        featurize(ExtxyzFrames(data, n=9), _soap(), partial, client=client, **kw)
        resumed = featurize(ExtxyzFrames(data), _soap(), partial, client=client, **kw)
    for store in (read_by_workers, sent, resumed):
        assert _files(store.path) == _files(local_store)
    whole = _soap().compute(frames, gradients=True, sparse=True)
    got = FeatureStore.open(local_store).read()
    np.testing.assert_array_equal(got.values.toarray(), whole.values.toarray())
    np.testing.assert_array_equal(got.gradient_pairs, whole.gradient_pairs)
    with pytest.raises(FileExistsError, match="its 30 committed frames are not the first"):
        featurize(frames[::-1], _soap(), local_store, **kw)


# --- a worker killed mid-run ----------------------------------------------------------------

N_LONG = 120  # frames: enough that the run is still going when a worker is killed


@pytest.fixture(scope="module")
def long_data(tmp_path_factory, frames):
    path = tmp_path_factory.mktemp("long") / "long.extxyz"
    write_extxyz(path, frames * (N_LONG // len(frames)))
    return path


def _command(data, out, *extra):
    hyper = ["--r-cut", "4", "--n-max", "3", "--l-max", "2", "--batch-size", "2"]
    args = ["featurize", str(data), "--out", str(out), "--species", *SPECIES, *hyper]
    args += ["--no-progress", *extra]
    return [sys.executable, "-m", "slimsoap.cli.main", *args]


def _committed(out):
    try:
        return FeatureStore.open(out).n_frames
    except (OSError, ValueError, KeyError):
        return 0


def _workers(pid):
    """Dask worker processes started (through multiprocessing) by process ``pid``."""
    import psutil

    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in cmdline or "forkserver" in cmdline and "main" in cmdline:
            found.append(child)
    return [p for p in found if "resource_tracker" not in " ".join(p.cmdline())]


def test_a_killed_worker_then_the_same_command_gives_the_uninterrupted_store(tmp_path, long_data):
    reference = tmp_path / "ref.zarr"
    done = subprocess.run(_command(long_data, reference), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "s.zarr"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    cluster = ("--scheduler", "local-cluster", "--workers", "2")
    proc = subprocess.Popen(
        _command(long_data, out, *cluster), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    deadline = time.monotonic() + 600
    while _committed(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _workers(proc.pid)
    assert proc.poll() is None and workers, "the run ended before a worker could be killed"
    killed_at = _committed(out)
    workers[0].send_signal(signal.SIGKILL)
    proc.communicate(timeout=600)  # Dask reruns the lost tasks, or the run fails: either way
    assert killed_at < N_LONG
    again = subprocess.run(_command(long_data, out, *cluster), capture_output=True, text=True,
                           env=env, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert _files(out) == _files(reference)


def _environment(keys):
    return {k: os.environ.get(k) for k in keys}


def test_local_cluster_workers_keep_glibcs_malloc_default(monkeypatch):
    """Dask's MALLOC_TRIM_THRESHOLD_ (65536) makes every large array a fresh mmap (~40 % more
    CPU per batch): make_client's workers run without it, with one BLAS thread each."""
    from slimsoap.study.featurize import make_client

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    keys = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    with make_client("local-cluster", 1) as client:
        (env,) = client.run(_environment, keys).values()
    assert env == {
        "MALLOC_TRIM_THRESHOLD_": None,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ  # the nanny did not poison this process
