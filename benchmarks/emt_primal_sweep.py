"""Fast hyper-parameter sweep for the EMT force field of ``bench_models.py emt`` (issue 7).

With ζ=1 and at least d sparse points per species (full span), the sparse GP is exactly
ridge regression on the normalised descriptor: ε(x) = w_s·x̂ with prior |w_s|²/δ². This
script builds that primal problem once per descriptor setting, keeps the normal-equation
blocks of energies, forces and virials apart, and then solves for a grid of (σ_E, σ_F,
σ_V, δ) in seconds. At σ_E 2 meV/atom, σ_F 0.05 eV/Å, σ_V 20 meV/atom, δ 0.5 eV it
reproduces the SparseGP numbers of ``bench_models.py emt --n-sparse 320`` (row ``REF``).

Split: the test set is always the 150 held-out configurations of the 600-configuration
set (the one ``bench_models.py emt`` uses); training uses its 450 training configurations
first and then further configurations of the larger generated set (a superset: every
configuration is seeded by its type and index), so the test set never changes.

Example (the σ = 0.2 Å row of benchmarks/results/README.md):
    python benchmarks/emt_primal_sweep.py --compression nu1mu1 --sigma 0.2 --n-train 450 750
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from slimsoap import SOAP
from slimsoap.data import generate, read_frames
from slimsoap.models import PairBaseline, errors_by_config_type, read_targets
from slimsoap.models.ridge import element_counts, fit_chemical_potentials
from slimsoap.models.sparse_gp import Prediction

ALLOY = ("Ni", "Cu", "Pd", "Ag", "Pt")
REF = {"sE": 0.002, "sF": 0.05, "sV": 0.02, "delta": 0.5}
GRID = [
    dict(sE=e, sF=f, sV=v, delta=d)
    for e, f, v, d in itertools.product(
        [0.0005, 0.001, 0.002], [0.03, 0.05, 0.1], [0.005, 0.01, 0.02], [0.5, 2.0]
    )
]


def split(n_configs: int) -> tuple[list, list]:
    """(test frames, training frames in order of use) as described in the module doc."""
    frames = list(read_frames(generate("alloy", n=n_configs, seed=0, elements=list(ALLOY))))
    pool = list(read_frames(generate("alloy", n=600, seed=0, elements=list(ALLOY))))

    def key(a):
        return (a.info["config_type"], len(a), round(float(a.info["energy"]), 8))

    where = {key(a): i for i, a in enumerate(frames)}
    first = [where[key(pool[i])] for i in np.random.default_rng(0).permutation(600)]
    rest = np.array(sorted(set(range(len(frames))) - set(first)), dtype=int)
    order = first + rest[np.random.default_rng(1).permutation(len(rest))].tolist()
    return [frames[i] for i in order[:150]], [frames[i] for i in order[150:]]


class Primal:
    """Design rows ∂(E, F, W)/∂(w, c_2b) of the full-span ζ=1 model plus pair baseline."""

    def __init__(self, desc, baseline: PairBaseline, elements: np.ndarray):
        self.desc, self.baseline, self.elements = desc, baseline, elements
        self.d = desc.n_features
        self.n_gp = len(elements) * self.d
        self.n_cols = self.n_gp + baseline.n_columns(len(elements))

    def design(self, frames: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """energy (F, P), forces (n_atoms, 3, P) = −∂E/∂r, virial (F, 3, 3, P) = −∂E/∂ε."""
        feats = self.desc.compute(frames, gradients=True)
        X = np.asarray(feats.values, dtype=float)
        norms = np.linalg.norm(X, axis=1)
        norms[norms == 0] = 1.0
        Xh = X / norms[:, None]
        spc = np.searchsorted(self.elements, np.concatenate([a.numbers for a in frames]))
        foa = np.repeat(np.arange(len(frames)), [len(a) for a in frames])
        n, d, P = len(foa), self.d, self.n_cols
        AE, AF, AV = (
            np.zeros((len(frames), P)),
            np.zeros((n, 3, P)),
            np.zeros((len(frames), 3, 3, P)),
        )
        pairs, sg = feats.gradient_pairs, feats.strain_gradients.transpose(0, 2, 1, 3)
        for s in range(len(self.elements)):
            cols = slice(s * d, (s + 1) * d)
            mine = np.flatnonzero(spc == s)
            np.add.at(AE[:, cols], foa[mine], Xh[mine])
            sel = np.flatnonzero(spc[pairs[:, 0]] == s)
            rows, g = pairs[sel, 0], feats.gradients[sel]
            # ∂x̂/∂r = (g − x̂(x̂·g)) / |x|
            gx = np.einsum("pcd,pd->pc", g, Xh[rows])
            dxh = (g - gx[:, :, None] * Xh[rows][:, None, :]) / norms[rows, None, None]
            to_atom = sp.csr_matrix(
                (np.ones(len(sel)), (pairs[sel, 1], np.arange(len(sel)))), shape=(n, len(sel))
            )
            AF[:, :, cols] -= (to_atom @ dxh.reshape(len(sel), -1)).reshape(n, 3, d)
            s_i = sg[mine]
            sx = np.einsum("iabd,id->iab", s_i, Xh[mine])
            dsh = (s_i - sx[..., None] * Xh[mine][:, None, None, :]) / norms[mine, None, None, None]
            np.subtract.at(AV[:, :, :, cols], foa[mine], dsh)
        be, bf, bv = self.baseline.design(frames, self.elements)
        AE[:, self.n_gp :], AF[:, :, self.n_gp :], AV[:, :, :, self.n_gp :] = be, bf, bv
        return AE, AF, AV


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--compression", default="nu1mu1")
    p.add_argument("--n-max", type=int, default=4)
    p.add_argument("--l-max", type=int, default=3)
    p.add_argument("--sigma", type=float, default=0.2)
    p.add_argument("--r-cut", type=float, default=5.5)
    p.add_argument("--cutoff-width", type=float, default=1.0)
    p.add_argument("--n-train", type=int, nargs="+", default=[450], help="increasing sizes")
    args = p.parse_args(argv)
    test, train = split(150 + max(args.n_train) if max(args.n_train) > 450 else 600)
    desc = SOAP(
        ALLOY,
        r_cut=args.r_cut,
        n_max=args.n_max,
        l_max=args.l_max,
        sigma=args.sigma,
        cutoff_width=args.cutoff_width,
        compression=args.compression,
    )
    elements = np.unique(np.concatenate([a.numbers for a in test + train]))
    model = Primal(desc, PairBaseline(r_cut=args.r_cut, n_basis=16), elements)
    P = model.n_cols
    t0 = time.perf_counter()
    G = {k: np.zeros((P, P)) for k in "EFV"}
    b = {k: np.zeros(P) for k in "EFV"}
    AE_all, done = [], 0
    tAE, tAF, tAV = model.design(test)
    ref, n_test = read_targets(test), np.array([len(a) for a in test])

    def counts(frames):
        foa = np.repeat(np.arange(len(frames)), [len(a) for a in frames])
        return element_counts(
            np.concatenate([a.numbers for a in frames]), foa, elements, len(frames)
        )

    for n_train in args.n_train:
        for a in range(done, n_train, 20):
            sub = train[a : min(a + 20, n_train)]
            AE, AF, AV = model.design(sub)
            t = read_targets(sub)
            root = np.sqrt([len(x) for x in sub])
            AE_all.append(AE / root[:, None])
            F, V = AF.reshape(-1, P), (AV / root[:, None, None, None]).reshape(-1, P)
            G["F"] += F.T @ F
            b["F"] += F.T @ t.forces.ravel()
            G["V"] += V.T @ V
            b["V"] += V.T @ (t.virial / root[:, None, None]).ravel()
        done = n_train
        frames = train[:n_train]
        energy = read_targets(frames).energy
        c = counts(frames)
        e0 = fit_chemical_potentials(c, energy)
        AE = np.concatenate(AE_all)
        G["E"], b["E"] = AE.T @ AE, AE.T @ ((energy - c @ e0) / np.sqrt(c.sum(axis=1)))
        print(
            f"{args.compression} d={desc.n_features} σ={args.sigma} n_max={args.n_max} "
            f"l_max={args.l_max}: {n_train} train ({time.perf_counter() - t0:.0f} s)"
        )
        results = []
        for h in GRID:
            prior = np.full(P, 1 / h["delta"] ** 2)
            prior[model.n_gp :] = 1.0  # the baseline's δ_2b = 1 eV, as PairBaseline's default
            scale = {"E": h["sE"], "F": h["sF"], "V": h["sV"]}
            H = sum(G[k] / scale[k] ** 2 for k in "EFV") + np.diag(prior)
            w = scipy.linalg.solve(H, sum(b[k] / scale[k] ** 2 for k in "EFV"), assume_a="pos")
            pred = Prediction(counts(test) @ e0 + tAE @ w, tAF @ w, tAV @ w)
            results.append((h, errors_by_config_type(pred, ref, n_test)))
        results.sort(key=lambda r: r[1]["all"]["energy_rmse_per_atom"])
        for h, err in [r for r in results if r[0] == REF] + results[:3]:
            tag = "REF " if h == REF else "best"
            cells = " ".join(
                f"{ct}:{1000 * v['energy_rmse_per_atom']:.2f}/{v['force_rmse']:.3f}/"
                f"{1000 * v['virial_rmse_per_atom']:.1f}"
                for ct, v in err.items()
            )
            print(f"  {tag} {h}  {cells}", flush=True)


if __name__ == "__main__":
    main()
