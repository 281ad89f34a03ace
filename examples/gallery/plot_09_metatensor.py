"""
Features as a metatensor TensorMap
==================================

:func:`slimsoap.io.metatensor.to_tensormap` turns :class:`slimsoap.Features` into a
metatensor ``TensorMap`` with featomic's names: keys by centre (and neighbour) type,
samples ``(system, atom)``, properties ``(l, n_1, n_2)``, and position and strain
gradients. Species sparsity becomes absent blocks. ``.mts`` files round-trip through
:func:`slimsoap.io.load_features` like every other feature file.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from ase.build import bulk, molecule

import slimsoap
from slimsoap.io.metatensor import from_tensormap, to_tensormap, write_mts

frames = [molecule("CH3CH2OH"), molecule("CH3COOH"), molecule("CH3CONH2")]
soap = slimsoap.SOAP(["H", "C", "N", "O"], r_cut=4.0, n_max=3, l_max=2, compression="nu1mu1")
F = soap.compute(frames, gradients=True)
tm = to_tensormap(F, soap, frames)
print(tm)

# %%
# The first block: hydrogen centres and the hydrogen channel of the first density (the
# second, summed over elements, is ``channel_2``).
key = tm.keys[0]
block = tm.block(key)
print("key", dict(zip(tm.keys.names, key.values.tolist())))
print("samples", block.samples.names, block.values.shape)
print("properties", block.properties.names)
print("gradients", block.gradients_list())

# %%
# Back to slimsoap's layout, exactly; and through an ``.mts`` file.
back = from_tensormap(tm)
print("values equal:", np.array_equal(back.values, F.values))
path = Path(tempfile.mkdtemp()) / "molecules.mts"
write_mts(path, F, soap, frames)
stored, calculator = slimsoap.io.load_features(path)
print("from the file:", np.array_equal(stored.values, F.values), type(calculator).__name__)

# %%
# Many elements: a 39-element calculator on a Ni/Cu cell gives only the blocks of the
# species present.
cell = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
cell.symbols[::3] = "Ni"
big = slimsoap.SOAP(list(range(1, 40)), 4.0, 3, 2, compression="nu1mu1")
tm_big = to_tensormap(big.compute(cell, sparse=True), big, cell)
print(len(tm_big.keys), "blocks:", [tuple(k.values.tolist()) for k in tm_big.keys])

# %%
fig, ax = plt.subplots(figsize=(6, 3))
sizes = [tm.block(k).values.shape[0] for k in tm.keys]
ax.bar([str(tuple(k.values.tolist())) for k in tm.keys], sizes)
ax.set_xlabel(", ".join(tm.keys.names))
ax.set_ylabel("samples (atoms)")
ax.tick_params(axis="x", rotation=60, labelsize=7)
fig.tight_layout()
