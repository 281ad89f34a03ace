"""
The compressed bispectrum
=========================

:class:`slimsoap.Bispectrum` goes one body order further than SOAP (ν = 3): triple
products of density coefficients coupled by Clebsch–Gordan coefficients. The species
compressions carry over (``nu3``, ``nu2mu1``, ``nu1mu2``, ``mu3``, ...), and the length
saved grows with the body order: S³ against S for ``nu1mu2``.
"""

import matplotlib.pyplot as plt
import numpy as np
from ase.build import bulk

import slimsoap

atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
atoms.symbols[::3] = "Ni"
atoms.rattle(0.05, seed=2)

for compression in ["nu3", "nu2mu1", "nu1mu2", "mu3"]:
    b = slimsoap.Bispectrum(["Ni", "Cu"], r_cut=4.0, n_max=3, l_max=2, compression=compression)
    F = b.compute(atoms)
    print(f"{compression:7s} {b.n_features:5d} features, values {F.values.shape}")

# %%
# Rotations leave it unchanged; a reflection (x → −x) too, with the default even parity
# (``parity="all"`` adds the odd-l1+l2+l3 entries, which change sign).
b = slimsoap.Bispectrum(["Ni", "Cu"], 4.0, 3, 2, compression="nu1mu2")
rotated = atoms.copy()
rotated.rotate(37, "x", rotate_cell=True)
rotated.rotate(71, "z", rotate_cell=True)
print(
    "rotation changes at most:",
    np.abs(b.compute(rotated).values - b.compute(atoms).values).max(),
)

mirrored = atoms.copy()
mirrored.positions[:, 0] *= -1  # the cubic cell maps onto itself
even = b.compute(atoms).values
print("reflection changes at most:", np.abs(b.compute(mirrored).values - even).max())

# %%
# Lengths with the number of elements, against SOAP's ν = 2 (N = 8, L = 4).
S = np.arange(1, 11)
fig, ax = plt.subplots(figsize=(5, 3.5))
for name in ["nu3", "nu2mu1", "nu1mu2", "mu3"]:
    lengths = [slimsoap.bispectrum_length(name, n_max=8, l_max=4, n_species=s) for s in S]
    ax.plot(S, lengths, marker="o", label=f"bispectrum {name}")
ax.plot(S, [slimsoap.descriptor_length("nu2", 8, 4, s) for s in S], "k--", label="SOAP nu2")
ax.set_xlabel("number of elements S")
ax.set_ylabel("features per atom")
ax.set_yscale("log")
ax.legend(fontsize=8)
fig.tight_layout()
