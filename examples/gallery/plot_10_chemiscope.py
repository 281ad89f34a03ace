"""
A chemiscope map of the descriptors
===================================

:func:`slimsoap.io.chemiscope.write_chemiscope` writes a file that the `chemiscope
<https://chemiscope.org>`_ viewer opens: the structures, their properties and a 2-D map of
their descriptors (PCA or a sketch-map). Here the map of 60 EMT alloy cells by their mean
ν,μ = 1,1 features, coloured by energy per atom; the same map is drawn below with
matplotlib.
"""

import gzip
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import slimsoap
from slimsoap.data import generate, read_frames
from slimsoap.io.chemiscope import pca_map, write_chemiscope

frames = list(read_frames(generate("alloy", n=60, seed=0)))
species = sorted({s for atoms in frames for s in atoms.get_chemical_symbols()})
soap = slimsoap.SOAP(species, r_cut=4.5, n_max=4, l_max=3, compression="nu1mu1")
F = soap.compute(frames)
energy = np.array([a.info["energy"] / len(a) for a in frames])

path = Path(tempfile.mkdtemp()) / "alloy.json.gz"
write_chemiscope(path, frames, F, properties={"energy per atom": energy}, projection="pca")
print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")

# %%
# What is in the file (it is gzipped JSON):
with gzip.open(path, "rt") as f:
    data = json.load(f)
print("structures:", len(data["structures"]))
print("properties:", sorted(data["properties"]))
print(
    "map axes:",
    data["settings"]["map"]["x"]["property"],
    data["settings"]["map"]["y"]["property"],
)

# %%
# The same projection, one point per structure (the mean of its atoms' rows).
means = np.array([F.values[F.frame_index == f].mean(axis=0) for f in range(F.n_frames)])
xy = pca_map(means)
stored = np.array([data["properties"][f"pca[{k}]"]["values"] for k in (1, 2)]).T
print("same map as in the file:", np.allclose(xy, stored))
fig, ax = plt.subplots(figsize=(5.5, 4))
points = ax.scatter(xy[:, 0], xy[:, 1], c=energy, cmap="viridis")
fig.colorbar(points, label="energy per atom (eV)")
ax.set_xlabel("PCA 1")
ax.set_ylabel("PCA 2")
fig.tight_layout()
