"""
Descriptors in torch, with autograd
===================================

:func:`slimsoap.torch.descriptors` returns the descriptors as a tensor that depends on a
``positions`` tensor (and optionally a ``strain`` tensor): the backward pass runs through
slimsoap's analytic pair and strain gradients, so a torch model's forces F = −∂E/∂r and
virial come from ``torch.autograd``, and a force loss trains it. Here a tiny per-atom
network fitted to EMT energies and forces of Cu/Au cells.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from ase.build import bulk
from ase.calculators.emt import EMT

import slimsoap
from slimsoap.torch import descriptors

torch.manual_seed(0)
SPECIES = ["Cu", "Au"]


def emt_cell(rng):
    atoms = bulk("Cu", "fcc", a=3.8, cubic=True).repeat((2, 1, 1))
    atoms.symbols = rng.choice(SPECIES, len(atoms))
    atoms.positions += rng.normal(scale=0.08, size=atoms.positions.shape)
    atoms.calc = EMT()
    atoms.info["energy"] = atoms.get_potential_energy()
    atoms.arrays["forces"] = atoms.get_forces()
    atoms.calc = None
    return atoms


rng = np.random.default_rng(0)
frames = [emt_cell(rng) for _ in range(16)]
soap = slimsoap.SOAP(SPECIES, r_cut=4.5, n_max=3, l_max=2, compression="nu1mu1")

# %%
# Forces by autograd equal slimsoap's own gradients contracted with ∂E/∂x: check it for
# E = Σ x (the sum of every feature).
positions = torch.tensor(frames[0].positions, requires_grad=True)
x = descriptors(soap, frames[0], positions)
(grad,) = torch.autograd.grad(x.sum(), positions)
F = soap.compute(frames[0], gradients=True)
reference = np.zeros((len(frames[0]), 3))
np.add.at(reference, F.gradient_pairs[:, 1], F.gradients.sum(axis=2))
print(
    "autograd = slimsoap gradients:",
    np.allclose(grad.numpy(), reference, rtol=0, atol=1e-12),
)

# %%
# A per-atom network E = Σ_i NN(x_i), trained on energies and forces.
positions = torch.tensor(np.concatenate([a.positions for a in frames]), requires_grad=True)
frame_index = torch.as_tensor(np.repeat(np.arange(len(frames)), [len(a) for a in frames]))
energy = torch.tensor([a.info["energy"] for a in frames])
forces = torch.tensor(np.concatenate([a.arrays["forces"] for a in frames]))

x0 = descriptors(soap, frames).detach()
mean, scale = x0.mean(0), x0.std(0) + 1e-8
net = torch.nn.Sequential(
    torch.nn.Linear(soap.n_features, 16), torch.nn.SiLU(), torch.nn.Linear(16, 1)
).double()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
history = []
for _ in range(60):
    optimizer.zero_grad()
    x = descriptors(soap, frames, positions)
    atomic = net((x - mean) / scale)[:, 0]
    predicted = torch.zeros(len(frames), dtype=x.dtype).index_add(0, frame_index, atomic)
    (minus_f,) = torch.autograd.grad(predicted.sum(), positions, create_graph=True)
    loss_e = torch.mean((predicted - energy) ** 2)
    loss_f = torch.mean((-minus_f - forces) ** 2)
    (loss_e + loss_f).backward()
    optimizer.step()
    history.append((loss_e.item(), loss_f.item()))
print(
    f"after {len(history)} epochs: energy MSE {history[-1][0]:.2e} eV², "
    f"force MSE {history[-1][1]:.2e} (eV/Å)²"
)

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.semilogy([h[0] for h in history], label="energy (eV²)")
ax.semilogy([h[1] for h in history], label="forces ((eV/Å)²)")
ax.set_xlabel("epoch")
ax.set_ylabel("training MSE")
ax.legend()
fig.tight_layout()
