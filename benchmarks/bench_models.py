"""Model accuracy with compressed descriptors (paper §II.6, §II.7; issue 7).

Two questions, one sub-command each:

``emt``  — a sparse GP force field on a generated 5-metal EMT alloy set: held-out energy
           RMSE (meV/atom) and force RMSE (eV/Å), per configuration type, for the SOAP
           compressions nu2, nu1mu1 and nu1muhat1 side by side. Target (issue 7):
           nu1mu1 below 5 meV/atom and 0.1 eV/Å.
``qm9``  — learning curves of the energy model (U0) on QM9 for nu2, nu1mu1 and mu2,
           written as CSV, JSON and a log-log plot (paper Fig. 7).

Examples:
    python benchmarks/bench_models.py emt --n-train 300 --n-test 100 --n-sparse 300
    python benchmarks/bench_models.py qm9 --n-molecules 7000 --sizes 100 300 1000 3000 5000

Timings are printed per step; thread count is whatever NumPy/Numba use by default
(set OMP_NUM_THREADS / NUMBA_NUM_THREADS to pin it).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from slimsoap import SOAP
from slimsoap.models import (
    EnergyModel,
    PairBaseline,
    SparseGP,
    errors_by_config_type,
    learning_curve,
    read_targets,
)

ALLOY = ("Ni", "Cu", "Pd", "Ag", "Pt")


def _soap(species, compression, args):
    return SOAP(
        species,
        r_cut=args.r_cut,
        n_max=args.n_max,
        l_max=args.l_max,
        sigma=args.sigma,
        compression=compression,
        center_weight=args.center_weight,
    )


def bench_emt(args) -> dict:
    from slimsoap.data.gen_alloy import generate_alloy

    t0 = time.perf_counter()
    frames = list(generate_alloy(n=args.n_train + args.n_test, seed=args.seed, elements=ALLOY))
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(frames))
    train = [frames[i] for i in order[: args.n_train]]
    test = [frames[i] for i in order[args.n_train :]]
    print(
        f"generated {len(frames)} EMT configurations in {time.perf_counter() - t0:.1f} s "
        f"({sum(len(a) for a in train)} training atoms)"
    )
    results = {}
    for compression in args.compressions:
        desc = _soap(ALLOY, compression, args)
        t0 = time.perf_counter()
        f_train = desc.compute(train, gradients=True)
        f_test = desc.compute(test, gradients=True)
        t_desc = time.perf_counter() - t0
        model = SparseGP(
            desc,
            zeta=args.zeta,
            delta=args.delta,
            n_sparse=args.n_sparse,
            selection=args.selection,
            sigma_energy=args.sigma_energy,
            sigma_force=args.sigma_force,
            baseline=PairBaseline(r_cut=args.r_cut) if args.baseline else None,
        )
        targets = read_targets(train)
        targets.virial[:] = np.nan  # the SOAP calculator has no strain gradients yet
        t0 = time.perf_counter()
        model.fit(train, features=f_train, targets=targets)
        t_fit = time.perf_counter() - t0
        pred = model.predict(test, features=f_test)
        errs = errors_by_config_type(pred, read_targets(test), np.array([len(a) for a in test]))
        results[compression] = {
            "n_features": desc.n_features,
            "n_sparse_total": int(model.sparse_points_.shape[0]),
            "descriptor_s": t_desc,
            "fit_s": t_fit,
            "errors": errs,
        }
        e, f = errs["all"]["energy_rmse_per_atom"], errs["all"]["force_rmse"]
        print(
            f"{compression:>10s}  d={desc.n_features:6d}  E RMSE {1000 * e:7.2f} meV/atom  "
            f"F RMSE {f:.4f} eV/Å  (descriptors {t_desc:.0f} s, fit {t_fit:.0f} s)",
            flush=True,
        )
    print("\nper config type (energy meV/atom / force eV/Å):")
    types = [k for k in next(iter(results.values()))["errors"] if k != "all"]
    print(f"{'type':>16s}" + "".join(f"{c:>22s}" for c in results))
    for ct in types:
        cells = [
            f"{1000 * r['errors'][ct]['energy_rmse_per_atom']:8.2f} / "
            f"{r['errors'][ct]['force_rmse']:.3f}"
            for r in results.values()
        ]
        print(f"{ct:>16s}" + "".join(f"{c:>22s}" for c in cells))
    return results


def bench_qm9(args) -> dict:
    from slimsoap.data.qm9 import read_qm9pack

    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    frames = []
    for atoms in read_qm9pack(properties=False):
        frames.append(atoms)
        if len(frames) >= args.pool:
            break
    pick = rng.choice(len(frames), size=min(args.n_molecules, len(frames)), replace=False)
    frames = [frames[i] for i in pick]
    species = sorted({int(z) for a in frames for z in a.numbers})
    s = np.concatenate([np.full(len(a), k) for k, a in enumerate(frames)])
    numbers = np.concatenate([a.numbers for a in frames])
    E = np.array([a.info["energy"] for a in frames])
    print(f"read {len(frames)} QM9 molecules in {time.perf_counter() - t0:.1f} s")
    descriptors = {}
    for compression in args.compressions:
        t0 = time.perf_counter()
        descriptors[compression] = _soap(species, compression, args).compute(frames).values
        print(
            f"{compression}: {descriptors[compression].shape[1]} features, "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    model = EnergyModel(
        zeta=args.zeta,
        normalize=True,
        n_folds=args.folds,
        n_sparse=args.n_sparse,
        solver="primal" if args.zeta == 1 else "sparse",
    )
    lc = learning_curve(
        descriptors,
        s,
        E,
        numbers,
        args.sizes,
        n_repeats=args.repeats,
        n_test=args.n_test,
        model=model,
        random_state=args.seed,
        progress=True,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lc.to_csv(out / "qm9_learning_curve.csv")
    lc.to_json(out / "qm9_learning_curve.json")
    lc.plot(out / "qm9_learning_curve.png", metric="mae_structure", unit="kcal/mol", scale=23.0605)
    print("\nMAE per molecule (kcal/mol), mean ± std over repeats:")
    for row in lc.summary():
        print(
            f"{row['descriptor']:>10s} n={row['n_train']:6d}  "
            f"{23.0605 * row['mae_structure_mean']:8.3f} ± "
            f"{23.0605 * row['mae_structure_std']:.3f}"
        )
    return {"summary": lc.summary()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="which", required=True)
    for name in ("emt", "qm9"):
        q = sub.add_parser(name)
        q.add_argument("--r-cut", type=float, default=5.0 if name == "emt" else 4.0)
        q.add_argument("--n-max", type=int, default=6)
        q.add_argument("--l-max", type=int, default=4)
        q.add_argument("--sigma", type=float, default=0.5)
        q.add_argument("--center-weight", type=float, default=1.0)
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--json", help="write the results here")
    emt, qm9 = sub.choices["emt"], sub.choices["qm9"]
    emt.add_argument("--n-train", type=int, default=300)
    emt.add_argument("--n-test", type=int, default=100)
    emt.add_argument("--n-sparse", type=int, default=300, help="per centre species")
    emt.add_argument("--zeta", type=int, default=4)
    emt.add_argument("--delta", type=float, default=0.5)
    emt.add_argument("--selection", default="cur")
    emt.add_argument("--sigma-energy", type=float, default=0.001)
    emt.add_argument("--sigma-force", type=float, default=0.05)
    emt.add_argument("--no-baseline", dest="baseline", action="store_false")
    emt.add_argument("--compressions", nargs="+", default=["nu2", "nu1mu1", "nu1muhat1"])
    qm9.add_argument("--n-molecules", type=int, default=7000)
    qm9.add_argument("--pool", type=int, default=140000, help="molecules read before drawing")
    qm9.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000, 3000, 5000])
    qm9.add_argument("--repeats", type=int, default=3)
    qm9.add_argument("--n-test", type=int, default=1000)
    qm9.add_argument("--folds", type=int, default=10)
    qm9.add_argument("--zeta", type=int, default=1)
    qm9.add_argument("--n-sparse", type=int, default=2000)
    qm9.add_argument("--out", default="results/bench_models")
    qm9.add_argument("--compressions", nargs="+", default=["nu2", "nu1mu1", "mu2"])
    args = p.parse_args(argv)
    results = bench_emt(args) if args.which == "emt" else bench_qm9(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
