"""Body-order-four invariants: slimsoap's Bispectrum vs featomic's DensityCorrelations.

Question: how many atoms per second does each code compute the full body-order-four
invariants (ν = 3, λ = 0, proper scalars) for, single-threaded, on the same structures with
a matched basis size — and how much do the species compressions save?

Structures: rattled fcc alloys of 3 elements (Ni, Cu, Pd), 32-atom cells; r_cut 4 Å,
n_max 4, l_max 3, σ 0.5 Å, cosine cutoff width 0.5 Å. featomic: SphericalExpansion (GTO,
max_radial = n_max - 1, max_angular = l_max), neighbour types moved to properties, then
``DensityCorrelations(n_correlations=2, skip_redundant=True)`` selecting
(o3_lambda, o3_sigma) = (0, 1), intermediate angular cutoff l_max; its blocks (one per
centre type and (l1, l2, k2, l3)) hold the full (S·N)³ property product, without the
symmetry reduction slimsoap stores (so featomic's length is larger for the same
information). slimsoap: ``Bispectrum(compression=..., parity="even")``. Both codes include
their own expansion. Every thread variable is set to 1 before anything is imported; one
warm-up, then the median of the repeats. flops/atom are those of slimsoap's contraction
kernels (:meth:`Bispectrum.flops_per_atom`, expansion excluded).

Run: ``python benchmarks/bench_bispectrum.py [--quick]`` (``--quick``: 1 frame, 3 repeats).

The learning curve (what body order four adds over ν=2 and ν,μ=1,1 at equal length) is
``benchmarks/bench_bispectrum_lc.py``.

Peak: this machine's cores (AMD EPYC, AVX-512 executed as two 256-bit FMA pipes, 2.6 GHz)
do at most 16 double-precision flops per cycle, ≈ 41.6 Gflop/s per core; the ``% peak``
column is the contraction's flops/atom × atoms/s against that (the expansion's time is in
the denominator too, so it is a lower bound for the kernels).
"""

from __future__ import annotations

import os
import sys

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "RAYON_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "MKL_NUM_THREADS"):  # fmt: skip
    os.environ[_var] = "1"

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

SPECIES = ["Ni", "Cu", "Pd"]
R_CUT, N_MAX, L_MAX, SIGMA, WIDTH = 4.0, 4, 3, 0.5, 0.5
#: Double-precision peak of one core (flop/s): 16 flops/cycle × 2.6 GHz (module doc).
PEAK = 16 * 2.6e9
COMPRESSIONS = ["nu3", "nu2mu1", "nu1mu2", "mu3", "nu1muhat2", "random"]


def frames(n):
    from ase.build import bulk

    rng = np.random.default_rng(42)
    out = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(2)
        atoms.symbols = rng.choice(SPECIES, len(atoms))
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        out.append(atoms)
    return out


def featomic_runner(data):
    """(run, n_features per atom) of featomic's ν = 3, λ = 0 invariants."""
    import featomic
    from featomic.clebsch_gordan import DensityCorrelations
    from metatensor import Labels

    expansion = featomic.SphericalExpansion(
        cutoff={"radius": R_CUT, "smoothing": {"type": "ShiftedCosine", "width": WIDTH}},
        density={"type": "Gaussian", "width": SIGMA},
        basis={
            "type": "TensorProduct",
            "max_angular": L_MAX,
            "radial": {"type": "Gto", "max_radial": N_MAX - 1},
        },
    )
    correlations = DensityCorrelations(n_correlations=2, max_angular=L_MAX, skip_redundant=True)
    keys = Labels(["o3_lambda", "o3_sigma"], np.array([[0, 1]]))

    def run():
        rho = expansion.compute(data).keys_to_properties("neighbor_type")
        return correlations.compute(rho, angular_cutoff=L_MAX, selected_keys=keys)

    out = run()
    per_type: dict[int, int] = {}
    for key, block in out.items():
        z = int(key["center_type"])
        per_type[z] = per_type.get(z, 0) + block.values.shape[-1]
    return run, max(per_type.values())


def interleaved(runs: dict, repeats: int) -> dict:
    """{name: median wall time (s)} of ``runs`` ({name: callable}), one warm-up each, then
    ``repeats`` rounds in which every code runs once (so load changes hit all alike)."""
    import time

    for fn in runs.values():
        fn()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def main():
    from slimsoap.bispectrum.calculator import Bispectrum
    from slimsoap.systems.neighbours import neighbour_list

    quick = "--quick" in sys.argv[1:]
    data = frames(1 if quick else 4)
    repeats = 3 if quick else 7
    n_atoms = sum(len(a) for a in data)
    pairs = np.mean([np.diff(neighbour_list(a, R_CUT).offsets).mean() for a in data])
    lines = [
        f"body order four, {len(SPECIES)}-element fcc, {len(data)} × {len(data[0])} atoms, "
        f"r_cut {R_CUT} Å, n_max {N_MAX}, l_max {L_MAX}, {pairs:.1f} neighbours/atom; "
        f"1 thread; median of {repeats} interleaved rounds",
        "",
        f"{'code':<30}{'features':>9}{'atoms/s':>10}{'Mflop/atom':>12}{'Gflop/s':>9}"
        f"{'% peak':>8}{'vs featomic':>13}",
    ]
    run, n_feat = featomic_runner(data)
    runs, info = {"featomic DensityCorr.": run}, {"featomic DensityCorr.": (n_feat, None, 1)}
    for name in COMPRESSIONS:
        calc = Bispectrum(SPECIES, R_CUT, N_MAX, L_MAX, compression=name, sigma=SIGMA,
                          cutoff_width=WIDTH)  # fmt: skip
        runs[f"slimsoap {name}"] = lambda c=calc: c.compute(data)
        info[f"slimsoap {name}"] = (calc.n_features, calc.flops_per_atom(pairs), 1)
    calc = Bispectrum(SPECIES, R_CUT, N_MAX, L_MAX, sigma=SIGMA, cutoff_width=WIDTH)
    runs["slimsoap nu3 sparse"] = lambda: calc.compute(data, sparse=True)
    info["slimsoap nu3 sparse"] = (calc.n_features, calc.flops_per_atom(pairs), 1)
    runs["slimsoap nu3 + gradients"] = lambda: calc.compute(data[:1], gradients=True)
    share = len(data[0]) / n_atoms  # the gradient run computes the first frame only
    info["slimsoap nu3 + gradients"] = (calc.n_features, calc.flops_per_atom(pairs, True), share)
    medians = interleaved(runs, repeats)
    ref = n_atoms / medians["featomic DensityCorr."]
    for name, t in medians.items():
        n_feat, flops, share = info[name]
        rate = share * n_atoms / t
        cells = ["—"] * 3 if flops is None else [
            f"{flops / 1e6:.2f}", f"{flops * rate / 1e9:.2f}", f"{100 * flops * rate / PEAK:.1f}"
        ]  # fmt: skip
        versus = "(no peer)" if "gradients" in name else f"{rate / ref:.2f}"
        lines.append(f"{name:<30}{n_feat:>9}{rate:>10.0f}{cells[0]:>12}{cells[1]:>9}"
                     f"{cells[2]:>8}{versus:>13}")  # fmt: skip
    print("\n".join(lines))
    if not quick:
        out = Path(__file__).parent / "results" / "bench_bispectrum.txt"
        out.write_text("\n".join(lines) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
