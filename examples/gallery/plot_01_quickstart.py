"""
Quick start
===========

A SOAP calculator, its features and gradients on a small Ni/Cu cell, and what the
compression buys: the ν,μ = 1,1 descriptor against the full ν = 2 power spectrum.
"""

import matplotlib.pyplot as plt
import numpy as np
from ase.build import bulk

import slimsoap

atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
atoms.symbols[::3] = "Ni"

soap = slimsoap.SOAP(["Ni", "Cu"], r_cut=4.0, n_max=4, l_max=3, compression="nu1mu1")
print("features per atom:", soap.n_features)

# %%
# Values and gradients
# --------------------
# ``compute`` returns a :class:`slimsoap.Features`: ``values`` is (n_atoms, n_features);
# with ``gradients=True`` every [centre, neighbour] pair has a (3, n_features) block
# ∂x/∂r (1/Å) and every centre a (3, 3, n_features) strain gradient.
F = soap.compute(atoms, gradients=True)
print("values", F.values.shape)
print("gradient pairs", F.gradient_pairs.shape, "gradients", F.gradients.shape)
print("strain gradients", F.strain_gradients.shape)

# %%
# A finite-difference check of one gradient block: move atom 1 along x by ±h.
h = 1e-5
plus, minus = atoms.copy(), atoms.copy()
plus.positions[1, 0] += h
minus.positions[1, 0] -= h
numeric = (soap.compute(plus).values - soap.compute(minus).values) / (2 * h)
pair = np.flatnonzero((F.gradient_pairs[:, 0] == 0) & (F.gradient_pairs[:, 1] == 1))[0]
error = np.abs(F.gradients[pair, 0] - numeric[0]).max()
print("max |analytic - numeric| of d x_0 / d x_1:", error)

# %%
# Lengths with the number of elements
# -----------------------------------
# The full power spectrum grows as S², the compressed ones linearly (or not at all):
# :func:`slimsoap.descriptor_length` gives the length without building a calculator.
n_species = np.arange(1, 41)
fig, ax = plt.subplots(figsize=(5, 3.5))
for name in ["nu2", "nu1mu1", "mu2"]:
    lengths = [slimsoap.descriptor_length(name, n_max=8, l_max=6, n_species=s) for s in n_species]
    ax.plot(n_species, lengths, label=name)
ax.set_xlabel("number of elements S")
ax.set_ylabel("features per atom (N=8, L=6)")
ax.set_yscale("log")
ax.legend()
fig.tight_layout()
