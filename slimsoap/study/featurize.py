"""Featurise data sets into feature stores, locally or on a Dask cluster (DESIGN §2).

:func:`featurize` streams frames in batches through a calculator and appends each batch to a
:class:`~slimsoap.io.store.FeatureStore`, so only a few batches are ever in memory:

- locally (default) the batches run in this process, with a tqdm progress bar;
- with a ``dask.distributed.Client`` each batch is one task: the frames travel with the
  task, the worker rebuilds the calculator from its JSON and fitted arrays (seed included,
  so every worker computes the same descriptor) and returns the batch's features; this
  process writes them to the store in frame order, keeping at most ``max_pending`` batches
  in flight. The store is therefore identical to the local one, value for value.

Each batch is committed (rows, then sizes and a digest of the frames so far, in one
metadata write); running the same call again after a crash, ``kill -9`` or Ctrl-C
(:class:`FeaturizeInterrupted`) resumes after the committed frames (DESIGN §9).

:func:`make_client` gives a client for ``"local-cluster"`` (a ``LocalCluster`` on this
machine) or for the address of a running scheduler.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
from ase import Atoms

from slimsoap._validation import check_bool, check_int
from slimsoap.features import Features
from slimsoap.io.registry import calculator_from_dict
from slimsoap.io.store import FeatureStore
from slimsoap.systems.batching import fixed_size_batches


def compute_batch(
    calculator, frames: list[Atoms], gradients: bool = False, sparse: bool = False
) -> tuple[Features, np.ndarray, np.ndarray]:
    """One batch: (features, atomic numbers per row, energy per frame in eV or NaN)."""
    kwargs = {"sparse": True} if sparse else {}
    features = calculator.compute(frames, gradients=gradients, **kwargs)
    numbers = np.concatenate([a.numbers for a in frames]).astype(np.int64)
    energy = np.array([float(a.info.get("energy", np.nan)) for a in frames])
    return features, numbers, energy


#: A calculator in transit to a worker: its JSON and its fitted arrays as
#: (name, dtype, shape, bytes) — hashable, so a worker caches what it rebuilt.
Payload = tuple[str, tuple[tuple[str, str, tuple[int, ...], bytes], ...]]


def _payload(calculator) -> Payload:
    fitted = tuple(
        (name, a.dtype.str, a.shape, np.ascontiguousarray(a).tobytes())
        for name, a in sorted(calculator.fitted_arrays().items())
    )
    return json.dumps(calculator.to_dict()), fitted


@lru_cache(maxsize=8)
def _calculator_from_payload(payload: Payload):
    """Calculators rebuilt on a worker, cached so a worker builds each one once."""
    text, fitted = payload
    arrays = {n: np.frombuffer(b, dtype=d).reshape(shape) for n, d, shape, b in fitted}
    return calculator_from_dict(json.loads(text), arrays)


def _remote_batch(payload: Payload, frames: list[Atoms], gradients: bool, sparse: bool):
    return compute_batch(_calculator_from_payload(payload), frames, gradients, sparse)


class FeaturizeInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`featurize`; the message says what was committed.

    Attributes:
        path: the store; ``n_rows`` and ``n_frames``: what it holds (committed batches).
    """

    def __init__(self, path: Path, n_rows: int, n_frames: int):
        super().__init__(
            f"interrupted: {n_rows} rows ({n_frames} frames) committed to {os.fspath(path)}; "
            "run the same command again to resume"
        )
        self.path, self.n_rows, self.n_frames = path, n_rows, n_frames


def frames_digest(frames: Iterable[Atoms], digest: str = "") -> str:
    """SHA-256 (hex) chained over ``frames`` from ``digest``: what identifies the input a
    store was made from (atomic numbers, positions, cell, pbc and ``info["energy"]``)."""
    for atoms in frames:
        h = hashlib.sha256(digest.encode())
        for part in (atoms.numbers.astype(np.int64), atoms.positions, atoms.cell.array):
            h.update(np.ascontiguousarray(part, dtype=part.dtype).tobytes())
        h.update(np.asarray(atoms.pbc, dtype=bool).tobytes())
        h.update(repr(float(atoms.info.get("energy", np.nan))).encode())
        digest = h.hexdigest()
    return digest


@contextlib.contextmanager
def _deferred_interrupt():
    """Hold Ctrl-C while a batch is written and committed; raise it afterwards (so zarr's
    writes are never cut short). A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _open_for_resume(path: Path, calculator, settings: dict) -> FeatureStore:
    """The existing store at ``path`` reopened for append, if this run may continue it."""
    try:
        store = FeatureStore.open(path, mode="a")
    except (ValueError, FileNotFoundError):
        raise FileExistsError(
            f"{os.fspath(path)!r} exists and is not a slimsoap feature store of this version; "
            "choose another path (overwrite=True replaces only a slimsoap store)"
        ) from None
    progress = store.progress or {}
    stored = {k: progress.get(k) for k in settings}
    if stored != settings:
        diff = sorted(k for k in settings if stored[k] != settings[k])
        given = ", ".join(f"{k}={stored[k]!r}, not {settings[k]!r}" for k in diff)
        reason = f"it was written with other settings ({given})"
    else:
        try:
            store.check_calculator(calculator)
            return store
        except ValueError as err:
            reason = "it " + str(err).removeprefix(f"{os.fspath(path)!r} ")
    raise FileExistsError(
        f"cannot resume {os.fspath(path)!r}: {reason}; pass overwrite=True (--overwrite) to "
        "replace it, or choose another path"
    )


def _skip_committed(frames: Iterator[Atoms], store: FeatureStore) -> str:
    """Consume the frames ``store`` already holds, checking they are the same ones."""
    n = store.n_frames
    done = list(itertools.islice(frames, n))
    digest = frames_digest(done)
    if len(done) < n or digest != store.progress.get("digest"):
        raise FileExistsError(
            f"cannot resume {os.fspath(store.path)!r}: its {n} committed frames are not the "
            "first frames of this input; pass overwrite=True (--overwrite) to replace it, or "
            "choose another path"
        )
    return digest


def featurize(
    frames: Iterable[Atoms],
    calculator,
    store_path: str | os.PathLike,
    batch_size: int = 64,
    client=None,
    gradients: bool = False,
    sparse: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    max_pending: int | None = None,
    chunk_rows: int | None = None,
) -> FeatureStore:
    """Descriptors of every atom of ``frames``, written batch by batch to a zarr store.

    Each batch is committed (rows written, then the sizes and this run's progress record)
    before the next is written. If ``store_path`` already holds a store written by this
    function with the same calculator (``to_dict()`` and fitted arrays), ``batch_size``,
    ``gradients`` and ``sparse``, and its committed frames are the first frames of
    ``frames`` (checked by a digest), the run resumes after them: the store ends up equal,
    array for array, to that of an uninterrupted run. A run that fails before committing
    anything removes the store it created.

    Args:
        frames: any iterable of ``ase.Atoms`` (a list, or a reader streaming a file).
        calculator: a registered calculator (``slimsoap.SOAP``, ``slimsoap.ACSF``): its
            ``to_dict()`` and fitted arrays are stored with the values, and it is rebuilt
            from them on Dask workers.
        store_path: directory of the store (``*.zarr``).
        batch_size: frames per batch (one Dask task each), >= 1.
        client: a ``dask.distributed.Client``; ``None`` computes in this process.
        gradients: also store position gradients (∂x/∂r, 1/Å).
        sparse: store CSR values built from the species present, and with ``gradients``
            species-block sparse gradient rows (SOAP only).
        overwrite: replace an existing slimsoap store (anything else is refused) instead of
            resuming it.
        progress: show a tqdm progress bar (frames).
        max_pending: Dask only: batches in flight at once (default 2 per worker thread);
            bounds this process's memory to about that many batches.
        chunk_rows: rows per zarr chunk (default about 4 MiB of values).

    Returns:
        The store, open for reading (``.values()``, ``.dask_values()``, ``.read()``).

    Raises:
        FeaturizeInterrupted: on Ctrl-C, after the batch being written was committed.
        FileExistsError: ``store_path`` holds something this run may neither resume nor
            replace.
    """
    from tqdm.auto import tqdm

    batch_size = check_int("batch_size", batch_size, 1)
    if max_pending is not None:
        max_pending = check_int("max_pending", max_pending, 1)
    gradients, sparse = check_bool("gradients", gradients), check_bool("sparse", sparse)
    overwrite = check_bool("overwrite", overwrite)
    if chunk_rows is not None:
        chunk_rows = check_int("chunk_rows", chunk_rows, 1)
    settings = {"batch_size": batch_size, "gradients": gradients, "sparse": sparse}
    path = Path(store_path)
    total = len(frames) if hasattr(frames, "__len__") else None
    stream = iter(frames)
    was_empty_dir = path.is_dir() and not path.is_symlink() and not any(path.iterdir())
    occupied = (path.exists() or path.is_symlink()) and not was_empty_dir
    if occupied and not overwrite:
        store, created = _open_for_resume(path, calculator, settings), False
        digest = _skip_committed(stream, store)
    else:
        store = FeatureStore.create(
            path, calculator, sparse, gradients, chunk_rows=chunk_rows, overwrite=overwrite
        )
        created, digest = True, frames_digest([])
    done = store.n_frames
    bar = tqdm(total=total, initial=done, unit="frame", disable=not progress, desc="featurize")

    def write(result, batch):
        nonlocal digest
        features, numbers, energy = result
        digest = frames_digest(batch, digest)
        with _deferred_interrupt():
            store.append(
                features, numbers, energy, n_frames=len(batch), calculator=calculator,
                progress={**settings, "digest": digest},
            )  # fmt: skip
        bar.update(len(batch))

    try:
        if client is None:
            for batch in fixed_size_batches(stream, batch_size):
                write(compute_batch(calculator, batch, gradients, sparse), batch)
        else:
            payload = _payload(calculator)
            if max_pending is None:
                max_pending = 2 * max(sum(client.nthreads().values()), 1)
            pending: deque = deque()
            for batch in fixed_size_batches(stream, batch_size):
                future = client.submit(_remote_batch, payload, batch, gradients, sparse, pure=False)
                pending.append((future, batch))
                if len(pending) >= max_pending:
                    future, batch = pending.popleft()
                    write(future.result(), batch)
            while pending:
                future, batch = pending.popleft()
                write(future.result(), batch)
    except KeyboardInterrupt:
        raise FeaturizeInterrupted(store.path, store.n_rows, store.n_frames) from None
    except BaseException:
        if created and store.n_frames == 0:
            shutil.rmtree(store.path)  # only what this run created, and nothing committed
            if was_empty_dir:
                store.path.mkdir()
        raise
    finally:
        bar.close()
    return FeatureStore.open(store.path)


@contextlib.contextmanager
def make_client(scheduler: str | None, n_workers: int | None = None):
    """Context manager yielding a Dask client, or ``None`` for local computation.

    Args:
        scheduler: ``None`` (no Dask), ``"local-cluster"`` (a ``LocalCluster`` of
            ``n_workers`` single-threaded worker processes on this machine, default the
            number of CPUs) or a scheduler address such as ``"tcp://10.0.0.1:8786"``.
        n_workers: workers of the local cluster.
    """
    if scheduler is None:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Dask scheduling needs: pip install 'slimsoap[scale]'") from exc
    if scheduler == "local-cluster":
        n = n_workers or os.cpu_count() or 1
        with (
            LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    else:
        with Client(scheduler) as client:
            yield client
