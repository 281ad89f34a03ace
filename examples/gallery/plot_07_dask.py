"""
Scaling out with Dask
=====================

:func:`slimsoap.featurize` computes descriptors batch by batch into an appendable zarr
store, one part per batch. Given a ``dask.distributed`` client the batches run on its
workers: the calculator travels as its ``to_dict()`` and fitted arrays and is rebuilt
there, and with an :class:`~slimsoap.study.sources.ExtxyzFrames` index of an extxyz file
each worker reads its own frames and writes its own part of the store; the client holds
neither frames nor results and only commits the parts' sizes. Here a tiny local cluster of
two single-threaded workers; the same code runs on a cluster by passing its scheduler's
address to ``Client`` (or ``slimsoap featurize --scheduler ADDRESS``).
"""

import logging
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster

import slimsoap
from slimsoap.data import generate, read_frames
from slimsoap.study.sources import ExtxyzFrames

path = generate("alloy", n=60, seed=0)  # an extxyz file in the data cache
frames = list(read_frames(path))
species = sorted({s for atoms in frames for s in atoms.get_chemical_symbols()})
soap = slimsoap.SOAP(species, r_cut=4.5, n_max=4, l_max=3, compression="nu1mu1")
out = Path(tempfile.mkdtemp())

cluster = LocalCluster(
    n_workers=2,
    threads_per_worker=1,
    dashboard_address=":0",
    silence_logs=logging.ERROR,
)
with cluster:
    with Client(cluster) as client:
        store = slimsoap.featurize(
            ExtxyzFrames(path),  # workers read frames by byte offset
            soap,
            out / "alloy.zarr",
            batch_size=10,
            client=client,
            progress=False,
        )
print("stored values:", store.values().shape)
parts = sorted(p.name for p in (out / "alloy.zarr" / "parts").iterdir() if p.is_dir())
print("parts written by the workers:", parts)

# %%
# The store holds the calculator: :func:`slimsoap.io.load_features` reads features and
# calculator back, and the numbers equal a computation in this process.
features, calculator = slimsoap.io.load_features(out / "alloy.zarr")
local = soap.compute(frames).values
print("calculator rebuilt:", calculator.to_dict() == soap.to_dict())
print("equal to local compute:", np.array_equal(features.values, local))

# %%
# Atoms per frame, as stored with the values (``frame_index``).
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(np.arange(features.n_frames), np.bincount(features.frame_index))
ax.set_xlabel("frame")
ax.set_ylabel("atoms (rows in the store)")
fig.tight_layout()
