"""Train a small neural network potential on EMT energies and forces with ν,μ=1,1 features.

The descriptors come from :func:`slimsoap.torch.descriptors`, a tensor whose backward pass
runs through slimsoap's pair gradients, so the forces are F = -∂E/∂r by autograd and the
force loss trains the network through a second backward pass. Runs in well under a minute:

    python examples/torch_emt.py [--epochs 300] [--frames 48]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from ase.build import bulk
from ase.calculators.emt import EMT

from slimsoap import SOAP
from slimsoap.torch import descriptors

SPECIES = ["Cu", "Au"]


def emt_frames(n: int, seed: int) -> list:
    """Rattled and strained 8-atom Cu–Au fcc cells with EMT energies (eV) and forces (eV/Å)."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", a=3.8, cubic=True).repeat((2, 1, 1))
        atoms.symbols = rng.choice(SPECIES, len(atoms))
        strain = np.eye(3) + rng.uniform(-0.02, 0.02, (3, 3))
        atoms.set_cell(atoms.cell @ strain, scale_atoms=True)
        atoms.positions += rng.normal(scale=0.08, size=atoms.positions.shape)
        atoms.calc = EMT()
        atoms.info["energy"] = atoms.get_potential_energy()
        atoms.arrays["forces"] = atoms.get_forces()
        atoms.calc = None
        frames.append(atoms)
    return frames


class AtomicNetwork(torch.nn.Module):
    """E = Σ_i [NN(x_i) + e_species(i)]: a shared per-atom network plus species offsets."""

    def __init__(self, n_features: int, n_species: int, mean, scale):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean))
        self.register_buffer("scale", torch.as_tensor(scale))
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n_features, 32), torch.nn.SiLU(), torch.nn.Linear(32, 1)
        )
        self.offsets = torch.nn.Parameter(torch.zeros(n_species))

    def forward(self, x, species, frame_index, n_frames):
        atomic = self.net((x - self.mean) / self.scale)[:, 0] + self.offsets[species]
        return torch.zeros(n_frames, dtype=x.dtype).index_add(0, frame_index, atomic)


def prepare(soap, frames):
    """Descriptors (graph kept for the force passes), positions, labels and indices."""
    positions = torch.tensor(np.concatenate([a.positions for a in frames]), requires_grad=True)
    x = descriptors(soap, frames, positions)
    species = torch.as_tensor(np.concatenate([np.searchsorted(soap.species_z, a.numbers)
                                              for a in frames]))  # fmt: skip
    frame_index = torch.as_tensor(np.repeat(np.arange(len(frames)), [len(a) for a in frames]))
    energies = torch.tensor([a.info["energy"] for a in frames])
    forces = torch.as_tensor(np.concatenate([a.arrays["forces"] for a in frames]))
    return x, positions, species, frame_index, energies, forces


def predict(model, data, create_graph):
    x, positions, species, frame_index, _, _ = data
    energy = model(x, species, frame_index, int(frame_index[-1]) + 1)
    (grad,) = torch.autograd.grad(energy.sum(), positions, create_graph=create_graph,
                                  retain_graph=True)  # fmt: skip
    return energy, -grad


def errors(model, data) -> tuple[float, float]:
    """RMSE of the energy per atom (meV/atom) and of the force components (meV/Å)."""
    energy, forces = predict(model, data, create_graph=False)
    n_atoms = torch.bincount(data[3])
    e_rmse = torch.sqrt(torch.mean(((energy - data[4]) / n_atoms) ** 2)).item()
    f_rmse = torch.sqrt(torch.mean((forces - data[5]) ** 2)).item()
    return 1000 * e_rmse, 1000 * f_rmse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--frames", type=int, default=48, help="training frames (+ 16 test)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    train_frames, test_frames = emt_frames(args.frames, seed=1), emt_frames(16, seed=2)
    soap = SOAP(SPECIES, r_cut=4.5, n_max=4, l_max=3, sigma=0.5, compression="nu1mu1")
    train, test = prepare(soap, train_frames), prepare(soap, test_frames)
    x = train[0].detach()
    model = AtomicNetwork(soap.n_features, len(SPECIES), x.mean(0), x.std(0) + 1e-8).double()
    with torch.no_grad():  # start the offsets at the mean energy per atom
        model.offsets[:] = (train[4].sum() / len(train[2])).item()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    n_atoms = torch.bincount(train[3]).double()
    for epoch in range(args.epochs + 1):
        energy, forces = predict(model, train, create_graph=True)
        loss_e = torch.mean(((energy - train[4]) / n_atoms) ** 2)
        loss_f = torch.mean((forces - train[5]) ** 2)
        loss = loss_e + 0.1 * loss_f
        optimiser.zero_grad()
        loss.backward(retain_graph=True)
        optimiser.step()
        if epoch % max(1, args.epochs // 3) == 0:
            print(f"epoch {epoch:4d}  train loss {loss.item():.3e}")
    e_test, f_test = errors(model, test)
    e_train, f_train = errors(model, train)
    print(f"{soap.n_features} nu1mu1 features, {args.frames} training / 16 test frames")
    print(f"energy RMSE: train {e_train:.1f}, test {e_test:.1f} meV/atom")
    print(f"force RMSE:  train {f_train:.1f}, test {f_test:.1f} meV/Å")
    print(f"force std of the test set: {1000 * test[5].std().item():.1f} meV/Å")
    print(f"total time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
