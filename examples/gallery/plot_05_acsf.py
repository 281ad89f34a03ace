"""
Atom-centred symmetry functions
===============================

:class:`slimsoap.ACSF` computes Behler–Parrinello symmetry functions (G2 radial, G4/G5
angular) with the same species compressions as SOAP: ``nu2`` keeps every element pair
apart, ``nu1mu1`` pairs one element channel with the summed density and ``mu2`` sums over
all elements.
"""

import matplotlib.pyplot as plt
import numpy as np
from ase.build import molecule

import slimsoap

frames = [molecule(name) for name in ["CH3CH2OH", "CH3COOH", "CH3CONH2", "CH3NO2"]]
species = ["H", "C", "N", "O"]

for compression in ["nu2", "nu1mu1", "mu2"]:
    acsf = slimsoap.ACSF.preset("behler", species, 6.0, compression=compression)
    F = acsf.compute(frames)
    print(f"{compression:7s} {acsf.n_features:4d} features, values {F.values.shape}")

# %%
# Gradients are analytic, as for SOAP: check one against finite differences.
acsf = slimsoap.ACSF.preset("behler", species, 6.0, compression="nu1mu1")
atoms = frames[0]
F = acsf.compute(atoms, gradients=True)
h = 1e-5
plus, minus = atoms.copy(), atoms.copy()
plus.positions[2, 1] += h
minus.positions[2, 1] -= h
numeric = (acsf.compute(plus).values - acsf.compute(minus).values) / (2 * h)
pair = np.flatnonzero((F.gradient_pairs[:, 0] == 0) & (F.gradient_pairs[:, 1] == 2))[0]
print("max |analytic - numeric|:", np.abs(F.gradients[pair, 1] - numeric[0]).max())

# %%
# The features of the carbon and oxygen atoms of ethanol.
X = acsf.compute(frames[0]).values
symbols = frames[0].get_chemical_symbols()
fig, ax = plt.subplots(figsize=(7, 3.5))
for i, symbol in enumerate(symbols):
    if symbol != "H":
        ax.plot(X[i], label=f"atom {i} ({symbol})")
ax.set_xlabel("feature")
ax.set_ylabel("value")
ax.set_yscale("symlog", linthresh=1e-3)
ax.legend()
fig.tight_layout()
