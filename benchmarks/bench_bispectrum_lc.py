"""What body order four adds: learning curves of sparse-GP force fields (energies and
forces) on EMT alloys for the power spectrum and the compressed bispectrum at about equal
descriptor length (issue 17).

Question: at ~430-510 features per atom, does a body-order-four descriptor (``nu3``,
``nu2mu1``, ``nu1mu2``, ``nu2muhat1``) learn EMT energies and forces better than the
three-body SOAP ``nu2`` and ``nu1mu1``?

Data: ``slimsoap.data.generate("alloy", n=220, seed=0, elements=Cu/Ag/Au)`` (EMT: solid
solutions, strained cells, vacancies, surfaces, liquid snapshots; 8-32 atoms). A fixed,
seeded test set of 60 configurations; nested training sets (the first n of a seeded
permutation of the other 160). Every descriptor: r_cut 5.5 Å (EMT interacts out to
≈5.4-5.9 Å), cosine cutoff width 1 Å, σ 0.5 Å, centre weight 1. Model: ``SparseGP``
with the linear kernel (ζ = 1) on normalised features, so that the fitted local energy has
exactly the body order of its descriptor; δ 0.5 eV, as many CUR sparse points per species
as features (capped by the environments available: the full span once the training set is
large enough), σ_E 2 meV/atom, σ_F 0.05 eV/Å, a jointly fitted 16-Gaussian pair baseline
(as ``bench_models.py emt``); fitted to energies and forces (no virials). Errors: energy
RMSE per atom (meV/atom) and force-component RMSE (eV/Å) on the test set. Threads: every
thread variable set to 1.

Run: ``python benchmarks/bench_bispectrum_lc.py [--quick]`` (writes
``benchmarks/results/bispectrum_learning_curve.{txt,png}``; ``--quick``: two sizes, two
descriptors, nothing written).
"""

from __future__ import annotations

import os
import sys

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ELEMENTS = ["Cu", "Ag", "Au"]
N_CONFIGS, N_TEST, SIZES = 220, 60, [20, 40, 80, 160]
R_CUT, WIDTH, SIGMA = 5.5, 1.0, 0.5
TEST_CHUNK = 10
OUT = Path(__file__).parent / "results" / "bispectrum_learning_curve"


class NoStrain:
    """A calculator whose gradients come without strain gradients (no virials are fitted,
    so the sparse GP never reads them)."""

    def __init__(self, calc):
        self.calc, self.n_features = calc, calc.n_features

    def compute(self, frames, gradients: bool = False):
        return self.calc.compute(frames, gradients=gradients, strain=False)


def descriptors() -> dict:
    """{label: calculator}, lengths within 426-513."""
    from slimsoap import SOAP
    from slimsoap.bispectrum.calculator import Bispectrum

    kw = {"sigma": SIGMA, "cutoff_width": WIDTH}
    return {
        "SOAP nu2 (N5 L3)": SOAP(ELEMENTS, R_CUT, 5, 3, compression="nu2", **kw),
        "SOAP nu1mu1 (N5 L5)": SOAP(ELEMENTS, R_CUT, 5, 5, compression="nu1mu1", **kw),
        "B nu3 (N2 L2)": Bispectrum(ELEMENTS, R_CUT, 2, 2, compression="nu3", **kw),
        "B nu2mu1 (N2 L2)": Bispectrum(ELEMENTS, R_CUT, 2, 2, compression="nu2mu1", **kw),
        "B nu1mu2 (N3 L2)": Bispectrum(ELEMENTS, R_CUT, 3, 2, compression="nu1mu2", **kw),
        "B nu2muhat1 (N3 L2)": Bispectrum(ELEMENTS, R_CUT, 3, 2, compression="nu2muhat1", **kw),
    }


def main():
    from slimsoap.data import generate, read_frames
    from slimsoap.models import PairBaseline, SparseGP, read_targets

    quick = "--quick" in sys.argv[1:]
    sizes = SIZES[:2] if quick else SIZES
    t0 = time.perf_counter()
    frames = list(read_frames(generate("alloy", n=N_CONFIGS, seed=0, elements=ELEMENTS)))
    order = np.random.default_rng(0).permutation(len(frames))
    test = [frames[k] for k in order[:N_TEST]]
    pool = [frames[k] for k in order[N_TEST:]]
    truth = read_targets(test)
    n_atoms = np.array([len(a) for a in test])
    lines = [
        f"EMT {'/'.join(ELEMENTS)} ({time.perf_counter() - t0:.0f} s to generate/read): "
        f"{len(pool)} training candidates ({sum(len(a) for a in pool)} atoms), {N_TEST} test "
        f"frames ({n_atoms.sum()} atoms); r_cut {R_CUT} Å, width {WIDTH} Å, σ {SIGMA} Å",
        "sparse GP, ζ=1, δ 0.5 eV, pair baseline, energies + forces; 1 thread",
        "",
        f"{'descriptor':<22}{'length':>7}" + "".join(f"{n:>16}" for n in sizes),
        f"{'':<29}" + "".join(f"{'meV/at  eV/Å':>16}" for _ in sizes),
    ]
    print("\n".join(lines), flush=True)
    curves = {}
    for name, calc in list(descriptors().items())[: 2 if quick else None]:
        t1, models = time.perf_counter(), []
        for n in sizes:
            train = pool[:n]
            targets = read_targets(train)
            targets.virial[:] = np.nan
            model = SparseGP(
                NoStrain(calc), zeta=1, delta=0.5, n_sparse=calc.n_features,
                sigma_energy=0.002, sigma_force=0.05,
                baseline=PairBaseline(r_cut=R_CUT, n_basis=16),
            )  # fmt: skip
            models.append(model.fit(train, targets=targets))
        energy = np.zeros((len(models), len(test)))
        forces = np.zeros((len(models), n_atoms.sum(), 3))
        first = np.r_[0, np.cumsum(n_atoms)]
        for a in range(0, len(test), TEST_CHUNK):  # test features once for every model
            b = min(a + TEST_CHUNK, len(test))
            features = calc.compute(test[a:b], gradients=True, strain=False)
            for k, model in enumerate(models):
                pred = model.predict(test[a:b], features=features)
                energy[k, a:b], forces[k, first[a] : first[b]] = pred.energy, pred.forces
        errors = [
            (
                np.sqrt(np.mean(((e - truth.energy) / n_atoms) ** 2)) * 1e3,
                np.sqrt(np.mean((f - truth.forces) ** 2)),
            )
            for e, f in zip(energy, forces)
        ]
        curves[name] = (calc.n_features, errors)
        row = f"{name:<22}{calc.n_features:>7}" + "".join(f"{e:>9.2f} {f:>6.3f}" for e, f in errors)
        lines.append(row + f"   ({time.perf_counter() - t1:.0f} s)")
        print(lines[-1], flush=True)
    lines.append(f"total {time.perf_counter() - t0:.0f} s")
    print(lines[-1])
    if quick:
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.with_suffix(".txt").write_text("\n".join(lines) + "\n")
    plot(curves, sizes)
    print(f"wrote {OUT}.txt and .png")


def plot(curves: dict, sizes: list[int]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, (length, errors) in curves.items():
        style = "--" if name.startswith("SOAP") else "-"
        for ax, k in zip(axes, range(2)):
            ax.loglog(sizes, [e[k] for e in errors], style, marker="o", label=f"{name}, {length}")
    axes[0].set_ylabel("energy RMSE (meV/atom)")
    axes[1].set_ylabel("force RMSE (eV/Å)")
    for ax in axes:
        ax.set_xlabel("training configurations")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
    axes[0].legend(fontsize=7)
    fig.suptitle("EMT Cu/Ag/Au, sparse GP on energies + forces: body order 3 (dashed) vs 4")
    fig.tight_layout()
    fig.savefig(OUT.with_suffix(".png"), dpi=120)


if __name__ == "__main__":
    main()
