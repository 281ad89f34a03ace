"""
39 elements with sparse output
==============================

A calculator over 39 elements (H to Y) describes any structure made of them, but a single
frame only holds a few: with ``sparse=True`` each row is built from the species present
and stored as a ``scipy.sparse.csr_matrix``, so memory follows the species of the frame,
not of the calculator.
"""

import matplotlib.pyplot as plt
import numpy as np
from ase.build import bulk

import slimsoap

atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
atoms.symbols[::3] = "Ni"
atoms.symbols[1::4] = "Al"

elements = list(range(1, 40))
for name in ["nu2", "nu1mu1"]:
    soap = slimsoap.SOAP(elements, r_cut=4.0, n_max=4, l_max=3, compression=name)
    X = soap.compute(atoms, sparse=True).values
    print(
        f"{name:7s} {soap.n_features:7d} columns, {X.nnz / X.shape[0]:6.0f} stored per row, "
        f"{X.data.nbytes / 1024:.0f} KiB of values"
    )

# %%
# Sparse rows are the dense rows: the columns named like those of a calculator over the
# three elements present (``labels()``: ``(l, channel_1, channel_2)``) hold its values,
# and every other column is zero.
small = slimsoap.SOAP(["Al", "Ni", "Cu"], 4.0, 4, 3, compression="nu1mu1")
big = slimsoap.SOAP(elements, 4.0, 4, 3, compression="nu1mu1")
X = big.compute(atoms, sparse=True).values.toarray()
column = {label: k for k, label in enumerate(big.labels())}
present = [column[label] for label in small.labels()]
print("present columns equal:", np.allclose(X[:, present], small.compute(atoms).values))
print("other columns zero:", not np.delete(X, present, axis=1).any())

# %%
# Gradients too: each (row, atom) entry keeps only the columns its species can change.
G = big.compute(atoms, gradients=True, sparse=True).gradients
print(type(G).__name__, "dense rows of 5 entries:", G[0:5].shape)

# %%
# Lengths: the full spectrum grows as S², ν,μ = 1,1 as S; the stored entries per row follow
# the number of species present.
S = np.arange(1, 40)
fig, ax = plt.subplots(figsize=(5, 3.5))
for name in ["nu2", "nu1mu1", "mu2"]:
    ax.plot(S, [slimsoap.descriptor_length(name, 4, 3, s) for s in S], label=name)
ax.axvline(3, color="grey", ls=":", label="species in this cell")
ax.set_xlabel("elements of the calculator S")
ax.set_ylabel("columns (N=4, L=3)")
ax.set_yscale("log")
ax.legend()
fig.tight_layout()
