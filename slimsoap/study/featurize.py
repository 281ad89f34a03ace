"""Featurise data sets into feature stores, locally or on a Dask cluster (DESIGN §2).

:func:`featurize` cuts the frames into batches of ``batch_size``; each batch is computed and
written as one part of a :class:`~slimsoap.io.store.FeatureStore` by whoever computes it
(:func:`slimsoap.io.store.write_part`), and this process commits the parts in order:

- locally (default) the batches run in this process, with a tqdm progress bar;
- with a ``dask.distributed.Client`` each batch is one task: the worker reads its frames
  itself when ``frames`` is an indexed file (:class:`~slimsoap.study.sources.ExtxyzFrames`,
  what ``slimsoap featurize`` uses for extxyz input; otherwise the frames travel with the
  task), rebuilds the calculator from its JSON and fitted arrays (seed included, so every
  worker computes the same descriptor), writes its part of the store and returns only the
  part's sizes and a digest of its frames. This process schedules at most ``max_pending``
  tasks at a time and commits the parts in order as they finish: it never holds frames
  or results, and the store is identical, byte for byte, to the local one.

Each commit writes the sizes and a digest of the frames so far (a SHA-256 chained over the
batches) in one metadata write; running the same call again after a crash, ``kill -9``,
Ctrl-C (:class:`FeaturizeInterrupted`) or a lost worker resumes after the committed parts
(DESIGN §9). A Dask task whose worker dies is run again by the scheduler; its part is
written afresh (parts are renamed into place whole, so two attempts never mix).

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
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
from ase import Atoms

from slimsoap._runtime.interrupts import was_interrupted
from slimsoap._validation import check_bool, check_int
from slimsoap.features import Features
from slimsoap.io.registry import calculator_from_dict
from slimsoap.io.store import FeatureStore, PartTarget, write_part
from slimsoap.study.sources import ExtxyzFrames, FrameSlice
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

#: A batch: its frames, or where a worker reads them.
Batch = list[Atoms] | FrameSlice


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


def _frames_of(batch: Batch) -> list[Atoms]:
    return batch.read() if isinstance(batch, FrameSlice) else batch


def _run_batch(
    calculator, target: PartTarget, k: int, batch: Batch, gradients: bool, sparse: bool
) -> tuple[dict, str]:
    """Compute batch ``k`` and write it as part ``k``: (the part's sizes, its frames' digest).

    Ctrl-C is held while the frames are read and while the part is written (it cuts only
    the computation short), so neither a reader nor zarr's writer thread is left half-way."""
    with _deferred_interrupt():
        frames = _frames_of(batch)
    features, numbers, energy = compute_batch(calculator, frames, gradients, sparse)
    with _deferred_interrupt():
        part = write_part(target, k, features, numbers, energy, n_frames=len(frames))
    return part, frames_digest(frames)


def _remote_batch(payload: Payload, target, k, batch, gradients, sparse) -> tuple[dict, str]:
    """:func:`_run_batch` on a Dask worker."""
    return _run_batch(_calculator_from_payload(payload), target, k, batch, gradients, sparse)


def _remote_digest(batch: Batch) -> str:
    return frames_digest(_frames_of(batch))


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


def _chain(digest: str, batch_digest: str) -> str:
    """The digest of the batches so far, extended by one batch's :func:`frames_digest`."""
    return hashlib.sha256(f"{digest}:{batch_digest}".encode()).hexdigest()


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


def _resume(frames, store: FeatureStore, batch_size: int, settings: dict, client):
    """``(batches after the committed ones, digest so far)`` once the committed frames are
    checked to be the first frames of ``frames`` (their digest; workers read and hash them
    when a client is given and ``frames`` is an indexed file). A short last batch (a run
    over fewer frames) is uncommitted when ``frames`` goes on past it, so that the store
    ends up as one run over all of ``frames`` would have made it."""
    sizes = store.part_sizes("n_frames").tolist()
    if isinstance(frames, ExtxyzFrames):
        committed = [frames.slice(k * batch_size, k * batch_size + n) for k, n in enumerate(sizes)]
        found = [b.stop - b.start for b in committed]
        if client is not None:
            digests = client.gather(client.map(_remote_digest, committed, pure=False))
        else:
            digests = [_remote_digest(b) for b in committed]
        more = len(frames) > sum(found)
        stream = None
    else:
        stream = iter(frames)
        committed = [list(itertools.islice(stream, n)) for n in sizes]
        found = [len(b) for b in committed]
        digests = [frames_digest(b) for b in committed]
        following = list(itertools.islice(stream, 1))
        more, stream = bool(following), itertools.chain(following, stream)
    chain = [frames_digest([])]
    for d in digests:
        chain.append(_chain(chain[-1], d))
    if (
        found != sizes
        or any(n != batch_size for n in sizes[:-1])
        or chain[-1] != (store.progress or {}).get("digest")
    ):
        raise FileExistsError(
            f"cannot resume {os.fspath(store.path)!r}: its {store.n_frames} committed frames are "
            "not the first frames of this input; pass overwrite=True (--overwrite) to replace "
            "it, or choose another path"
        )
    if sizes and sizes[-1] < batch_size and more:
        store.rollback(1, progress={**settings, "digest": chain[-2]})
        if stream is not None:
            stream = itertools.chain(committed[-1], stream)
    if stream is None:
        return frames.slices(batch_size, store.n_parts), chain[store.n_parts]
    return fixed_size_batches(stream, batch_size), chain[store.n_parts]


def featurize(
    frames: Iterable[Atoms] | ExtxyzFrames,
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

    Each batch is one part of the store; parts are committed in order (the sizes and this
    run's progress record). If ``store_path`` already holds a store written by this
    function with the same calculator (``to_dict()`` and fitted arrays), ``batch_size``,
    ``gradients`` and ``sparse``, and its committed frames are the first frames of
    ``frames`` (checked by a digest), the run resumes after them: the store ends up equal,
    byte for byte, to that of an uninterrupted run, local or on Dask. A run that fails
    before committing anything removes the store it created.

    Args:
        frames: any iterable of ``ase.Atoms`` (a list, or a reader streaming a file), or an
            :class:`~slimsoap.study.sources.ExtxyzFrames` index of a file, from which Dask
            workers read their batches themselves (the file must be visible to them at
            the same path).
        calculator: a registered calculator (``slimsoap.SOAP``, ``slimsoap.ACSF``): its
            ``to_dict()`` and fitted arrays are stored with the values, and it is rebuilt
            from them on Dask workers.
        store_path: directory of the store (``*.zarr``); with a client, the workers write
            into it, so it must be visible to them at the same path.
        batch_size: frames per batch (one part of the store, one Dask task), >= 1.
        client: a ``dask.distributed.Client``; ``None`` computes in this process.
        gradients: also store position gradients (∂x/∂r, 1/Å).
        sparse: store CSR values built from the species present, and with ``gradients``
            species-block sparse gradient rows (SOAP only).
        overwrite: replace an existing slimsoap store (anything else is refused) instead of
            resuming it.
        progress: show a tqdm progress bar (frames).
        max_pending: Dask only: tasks in flight at once (default 2 per worker thread).
        chunk_rows: rows per zarr chunk (default about 4 MiB of values).

    Returns:
        The store, open for reading (``.values()``, ``.dask_values()``, ``.read()``).

    Raises:
        FeaturizeInterrupted: on Ctrl-C, after the batch being committed was committed.
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
    was_empty_dir = path.is_dir() and not path.is_symlink() and not any(path.iterdir())
    occupied = (path.exists() or path.is_symlink()) and not was_empty_dir
    if occupied and not overwrite:
        store, created = _open_for_resume(path, calculator, settings), False
        batches, digest = _resume(frames, store, batch_size, settings, client)
    else:
        store = FeatureStore.create(
            path, calculator, sparse, gradients, chunk_rows=chunk_rows, overwrite=overwrite
        )
        created, digest = True, frames_digest([])
        store.commit(0, progress={**settings, "digest": digest})  # resumable from the start
        if isinstance(frames, ExtxyzFrames):
            batches = frames.slices(batch_size)
        else:
            batches = fixed_size_batches(frames, batch_size)
    bar = tqdm(
        total=total, initial=store.n_frames, unit="frame", disable=not progress, desc="featurize"
    )
    done: dict[int, tuple[dict, str]] = {}  # parts written, not yet committed

    def commit_ready():
        """Commit the parts written so far that follow the committed ones, in order."""
        nonlocal digest
        k, frames_done = store.n_parts, 0
        while k in done:
            part, batch_digest = done.pop(k)
            digest, frames_done, k = (
                _chain(digest, batch_digest),
                frames_done + part["n_frames"],
                k + 1,
            )
        if k > store.n_parts:
            with _deferred_interrupt():
                store.commit(k - store.n_parts, progress={**settings, "digest": digest})
            bar.update(frames_done)

    pending: dict = {}  # Dask futures in flight → their part
    try:
        first = store.n_parts
        if client is None:
            for k, batch in enumerate(batches, start=first):
                done[k] = _run_batch(calculator, store.target(), k, batch, gradients, sparse)
                commit_ready()
        else:
            _run_on_dask(
                client, _payload(calculator), store, batches, first, gradients, sparse,
                max_pending, done, commit_ready, pending,
            )  # fmt: skip
    except BaseException as err:
        if was_interrupted(err):
            _release(client, pending, wait=False)
            raise FeaturizeInterrupted(store.path, store.n_rows, store.n_frames) from None
        _release(client, pending, wait=True)  # no worker writes into what is removed next
        if created and store.n_frames == 0:
            shutil.rmtree(store.path)  # only what this run created, and nothing committed
            if was_empty_dir:
                store.path.mkdir()
        raise
    finally:
        bar.close()
    return FeatureStore.open(store.path)


def _run_on_dask(
    client,
    payload,
    store,
    batches,
    first,
    gradients,
    sparse,
    max_pending,
    done,
    commit_ready,
    pending: dict,
) -> None:
    """Submit the batches as tasks, at most ``max_pending`` in flight and none more than
    ``4 * max_pending`` parts past the last committed one, committing parts as they are
    written. ``pending`` (future → part) holds the tasks in flight, for the caller to
    release if this stops early."""
    from dask.distributed import as_completed

    if max_pending is None:
        max_pending = 2 * max(sum(client.nthreads().values()), 1)
    numbered = enumerate(batches, start=first)
    finished = as_completed()
    next_k = first

    def submit() -> None:
        nonlocal next_k
        while len(pending) < max_pending and next_k < store.n_parts + 4 * max_pending:
            item = next(numbered, None)
            if item is None:
                return
            k, batch = item
            target = store.target()
            future = client.submit(
                _remote_batch, payload, target, k, batch, gradients, sparse, pure=False
            )
            pending[future], next_k = k, k + 1
            finished.add(future)

    submit()
    for future in finished:
        done[pending.pop(future)] = future.result()
        future.release()
        commit_ready()
        submit()


def _release(client, pending: dict, wait: bool) -> None:
    """Cancel the tasks still in flight, after they finished if ``wait`` (so that none
    writes into a store that is removed next; their errors are not raised)."""
    if client is None or not pending:
        return
    futures = list(pending)
    if wait:
        from dask.distributed import wait as wait_for

        wait_for(futures)
    client.cancel(futures)
    pending.clear()


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
        import dask

        n = n_workers or os.cpu_count() or 1
        quiet = {
            "distributed.worker.profile.enabled": False,  # CPU of idle workers
            # Dask's default MALLOC_TRIM_THRESHOLD_=65536 pins glibc's mmap threshold, so every
            # large array a batch allocates is a fresh mmap: 7x the page faults and ~40 % more
            # CPU per batch (measured on 1,500 alloy frames); workers keep glibc's default
            "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
        }
        with (
            dask.config.set(quiet),
            LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    else:
        with Client(scheduler) as client:
            yield client
