"""ACSF throughput, single thread: slimsoap vs DScribe, values and position gradients.

Question: is slimsoap's ACSF at least 2x faster than DScribe's for the values, and its
analytic gradients at least 10x faster than DScribe's (numerical) ``derivatives``?

Systems (same structures, same parameters for both codes: the Behler preset, 8 G2 + 18 G4,
with G1 included as DScribe always does, so both give identical nu2 vectors of
5·9 + 15·18 = 315 and 4·9 + 10·18 = 216 features):
  (a) 256-atom 5-element rattled fcc alloy (Cu, Ag, Au, Ni, Pd), periodic, r_cut 6 Å;
  (b) 60 small molecules from ASE's g2 collection with only H, C, N, O, r_cut 4 Å (QM9-like).

Run:  python benchmarks/bench_acsf.py [--repeats 5]
Throughput is atoms (centres) per second, median over repeats, after one warm-up call
(slimsoap only; DScribe needs none). DScribe's numerical derivatives cost ~6 descriptor
evaluations per displaced atom, linear in the number displaced, so in frames larger than
--max-displaced atoms only that many are displaced and the time is scaled to all atoms
(the row label shows the factor); slimsoap always computes every gradient.
"""

from __future__ import annotations

import os

os.environ["NUMBA_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from ase.build import bulk, molecule  # noqa: E402
from ase.collections import g2  # noqa: E402
from dscribe.descriptors import ACSF as DScribeACSF  # noqa: E402
from timing import median_time  # noqa: E402

from slimsoap.acsf.calculator import ACSF  # noqa: E402
from slimsoap.acsf.presets import behler_preset  # noqa: E402

METALS = ["Cu", "Ag", "Au", "Ni", "Pd"]
ORGANIC = ["H", "C", "N", "O"]


def alloy() -> list:
    rng = np.random.default_rng(0)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4)
    atoms.symbols = rng.choice(METALS, len(atoms))
    atoms.rattle(0.1, seed=1)
    return [atoms]


def molecules(n: int = 60) -> list:
    names = [m for m in g2.names if set(molecule(m).get_chemical_symbols()) <= set(ORGANIC)]
    return [molecule(name) for name in names[:n] if len(molecule(name)) > 1]


def run_case(name, frames, species, r_cut, periodic, repeats, grad_repeats, max_displaced):
    params = behler_preset(r_cut)
    n_atoms = sum(len(f) for f in frames)
    peer = DScribeACSF(r_cut=r_cut, species=species, periodic=periodic, **params)
    ours = {
        c: ACSF(species, r_cut, g1=True, compression=c, **params)
        for c in ("nu2", "nu1mu1", "mu2", "weighted")
    }
    check = ours["nu2"].compute(frames).values
    ref = np.vstack([peer.create(f) for f in frames])
    assert np.allclose(check, ref, rtol=1e-10, atol=1e-12), "values differ from DScribe"
    rows = []
    t_peer = median_time(lambda: peer.create(frames), repeats)
    rows.append((name, "values", "dscribe nu2", peer.get_number_of_features(), t_peer, t_peer))
    for c, calc in ours.items():
        t = median_time(lambda calc=calc: calc.compute(frames), repeats)
        rows.append((name, "values", f"slimsoap {c}", calc.n_features, t, t_peer))
    # DScribe differentiates by displacing every atom (6 descriptor evaluations around each):
    # its cost is linear in the displaced atoms, so large frames are timed on a subset
    # (``include``) and scaled to all atoms; the label says when.
    n_disp = [min(len(f), max_displaced) for f in frames]
    t_sub = median_time(
        lambda: [
            peer.derivatives(f, include=list(range(k)), attach=True, return_descriptor=True)
            for f, k in zip(frames, n_disp, strict=True)
        ],
        grad_repeats,
        warmup=False,
    )
    t_peer_g = t_sub * n_atoms / sum(n_disp)
    label = "dscribe nu2 (numerical)"
    if sum(n_disp) < n_atoms:
        label = f"dscribe nu2 (num., x{n_atoms / sum(n_disp):g})"
    rows.append((name, "gradients", label, ref.shape[1], t_peer_g, t_peer_g))
    for c in ("nu2", "nu1mu1"):
        calc = ours[c]
        t = median_time(lambda calc=calc: calc.compute(frames, gradients=True), repeats)
        rows.append((name, "gradients", f"slimsoap {c} (analytic)", calc.n_features, t, t_peer_g))
    return [(s, k, code, nf, n_atoms / t, tp / t) for s, k, code, nf, t, tp in rows], n_atoms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--grad-repeats", type=int, default=5)
    parser.add_argument(
        "--max-displaced",
        type=int,
        default=16,
        help="DScribe derivatives: atoms displaced per frame, scaled to all (default 16)",
    )
    args = parser.parse_args()
    import numba

    print(
        f"threads: NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, "
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, DScribe n_jobs=1; "
        f"median of {args.repeats} (gradients {args.grad_repeats}) after a warm-up"
    )
    cases = [
        ("alloy256 S=5 rc=6", alloy(), METALS, 6.0, True),
        ("g2 molecules S=4 rc=4", molecules(), ORGANIC, 4.0, False),
    ]
    header = (
        f"{'system':24s} {'what':9s} {'code':26s} {'n_feat':>6s} {'atoms/s':>11s} {'speedup':>8s}"
    )
    print(header)
    print("-" * len(header))
    for name, frames, species, r_cut, periodic in cases:
        rows, n_atoms = run_case(
            name,
            frames,
            species,
            r_cut,
            periodic,
            args.repeats,
            args.grad_repeats,
            args.max_displaced,
        )
        for s, k, code, nf, rate, ratio in rows:
            print(f"{s:24s} {k:9s} {code:26s} {nf:6d} {rate:11.4g} {ratio:7.1f}x")
        print(f"  ({n_atoms} atoms in {len(frames)} frame(s); speedup = DScribe time / time)")


if __name__ == "__main__":
    main()
