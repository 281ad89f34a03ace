"""Featurise data sets into feature stores, locally or on a Dask cluster (DESIGN §2).

:func:`featurize` streams frames in batches through a calculator and appends each batch to a
:class:`~slimsoap.io.store.FeatureStore`, so only a few batches are ever in memory:

- locally (default) the batches run in this process, with a tqdm progress bar;
- with a ``dask.distributed.Client`` each batch is one task: the frames travel with the
  task, the worker rebuilds the calculator from its JSON and fitted arrays (seed included,
  so every worker computes the same descriptor) and returns the batch's features; this
  process writes them to the store in frame order, keeping at most ``max_pending`` batches
  in flight. The store is therefore identical to the local one, value for value.

:func:`make_client` gives a client for ``"local-cluster"`` (a ``LocalCluster`` on this
machine) or for the address of a running scheduler.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from functools import lru_cache

import numpy as np
from ase import Atoms

from slimsoap.features import Features
from slimsoap.io.registry import calculator_from_dict
from slimsoap.io.store import FeatureStore


def batches(frames: Iterable[Atoms], batch_size: int) -> Iterator[list[Atoms]]:
    """Consecutive lists of ``batch_size`` frames (the last may be shorter)."""
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    it = iter(frames)
    while batch := list(itertools.islice(it, int(batch_size))):
        yield batch


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

    Args:
        frames: any iterable of ``ase.Atoms`` (a list, or a reader streaming a file).
        calculator: a registered calculator (``slimsoap.SOAP``, ``slimsoap.ACSF``): its
            ``to_dict()`` and fitted arrays are stored with the values, and it is rebuilt
            from them on Dask workers.
        store_path: directory of the new store (``*.zarr``).
        batch_size: frames per batch (one Dask task each).
        client: a ``dask.distributed.Client``; ``None`` computes in this process.
        gradients: also store position gradients (∂x/∂r, 1/Å).
        sparse: store CSR values built from the species present, and with ``gradients``
            species-block sparse gradient rows (SOAP only).
        overwrite: replace an existing store.
        progress: show a tqdm progress bar (frames).
        max_pending: Dask only: batches in flight at once (default 2 per worker thread);
            bounds this process's memory to about that many batches.
        chunk_rows: rows per zarr chunk (default about 4 MiB of values).

    Returns:
        The store, open for reading (``.values()``, ``.dask_values()``, ``.read()``).
    """
    from tqdm.auto import tqdm

    total = len(frames) if hasattr(frames, "__len__") else None
    store = FeatureStore.create(
        store_path, calculator, sparse, gradients, chunk_rows=chunk_rows, overwrite=overwrite
    )
    bar = tqdm(total=total, unit="frame", disable=not progress, desc="featurize")

    def write(result, n_frames):
        features, numbers, energy = result
        store.append(features, numbers, energy, n_frames=n_frames)
        bar.update(n_frames)

    try:
        if client is None:
            for batch in batches(frames, batch_size):
                write(compute_batch(calculator, batch, gradients, sparse), len(batch))
        else:
            payload = _payload(calculator)
            if max_pending is None:
                max_pending = 2 * max(sum(client.nthreads().values()), 1)
            pending: deque = deque()
            for batch in batches(frames, batch_size):
                future = client.submit(_remote_batch, payload, batch, gradients, sparse, pure=False)
                pending.append((future, len(batch)))
                if len(pending) >= max_pending:
                    future, n = pending.popleft()
                    write(future.result(), n)
            while pending:
                future, n = pending.popleft()
                write(future.result(), n)
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
