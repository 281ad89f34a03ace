"""Full SOAP power spectrum: slimsoap vs DScribe, featomic and quippy, single-threaded.

Question: how many atoms per second does each code compute the full ν=2 spectrum (and its
position gradients) for, on the same structures with the same hyper-parameters, and at what
peak memory?

Structures: 10 frames of a rattled 256-atom fcc alloy of 5 elements (Ni, Cu, Pd, Ag, Pt);
r_cut 5 Å, n_max 8, l_max 6, σ 0.5 Å, cosine cutoff width 0.5 Å. Gradients: 2 frames,
with respect to positions, then positions and strain (cell). slimsoap runs twice: dense
gradient rows (n_pairs, 3, n_features), and ``sparse=True`` (species-block rows: each pair
stores only the columns its neighbour's species can change, as featomic's blocks do).
Each code runs in its own process (so peak RSS is its own) with NUMBA_NUM_THREADS,
OMP_NUM_THREADS, RAYON_NUM_THREADS, OPENBLAS_NUM_THREADS = 1; one warm-up, then the median
of ≥5 repeats. Modes: ``values`` (ν=2), ``values-nu1mu1`` (ν,μ=1,1: DScribe's ``mu1nu1``
compression; featomic and quippy have no such mode), ``positions``, ``positions+strain``.

Run: ``python benchmarks/bench_soap.py [modes] [--threads N] [--baseline PATH] [--stages]``.
N sets every thread variable and DScribe's n_jobs (default 1). ``--baseline PATH`` adds
``slimsoap@base``, the slimsoap checkout at PATH (its ``PYTHONPATH``), run in the same
session for before/after ratios. ``--stages`` prints, for the ``values`` modes, where
slimsoap's time goes (thread CPU time per stage over the 10 frames: neighbours, radial
integrals, expansion into per-l blocks, contraction with the projections X_l W of maps that
are not the identity), the flops per atom of each stage and the
rate achieved, against this machine's single-thread dgemm rate (1000³, OpenBLAS) as the
practical peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

THREAD_VARS = [
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
]
SPECIES = ["Ni", "Cu", "Pd", "Ag", "Pt"]
R_CUT, N_MAX, L_MAX, SIGMA, WIDTH = 5.0, 8, 6, 0.5, 0.5
REPEATS = 5


def frames(n):
    import numpy as np
    from ase.build import bulk

    rng = np.random.default_rng(42)
    out = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(4)
        atoms.symbols = rng.choice(SPECIES, len(atoms))
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        out.append(atoms)
    return out


def featomic_hypers() -> dict:
    """featomic's SoapPowerSpectrum hyper-parameters for the benchmark's basis and cutoff."""
    return dict(
        cutoff={"radius": R_CUT, "smoothing": {"type": "ShiftedCosine", "width": WIDTH}},
        density={"type": "Gaussian", "width": SIGMA},
        basis={
            "type": "TensorProduct",
            "max_angular": L_MAX,
            "radial": {"type": "Gto", "max_radial": N_MAX - 1},
        },
    )


#: What is differentiated: nothing (ν=2, ν,μ=1,1), positions, positions and strain.
MODES = ["values", "values-nu1mu1", "positions", "positions+strain"]


def make_runner(code, mode):
    """A zero-argument function computing the descriptor of the benchmark frames."""
    gradients = not mode.startswith("values")
    strain = mode == "positions+strain"
    compression = "nu1mu1" if mode == "values-nu1mu1" else "nu2"
    data = frames(2 if gradients else 10)
    if code.startswith("slimsoap"):
        from slimsoap import SOAP

        soap = SOAP(
            SPECIES, R_CUT, N_MAX, L_MAX, SIGMA, cutoff_width=WIDTH, compression=compression
        )
        sparse = code == "slimsoap-sparse"
        return (
            lambda: soap.compute(data, gradients=gradients, sparse=sparse, strain=strain),
            data,
        )
    if code == "dscribe":
        from dscribe.descriptors import SOAP as DS

        ds = DS(
            species=SPECIES,
            r_cut=R_CUT,
            n_max=N_MAX,
            l_max=L_MAX,
            sigma=SIGMA,
            rbf="gto",
            periodic=True,
            compression={"mode": "mu1nu1" if compression == "nu1mu1" else "off"},
        )
        return lambda: ds.create(data, n_jobs=int(os.environ["OMP_NUM_THREADS"])), data
    if code == "featomic":
        import featomic

        calc = featomic.SoapPowerSpectrum(**featomic_hypers())
        grads = mode.split("+") if gradients else []
        return lambda: calc.compute(data, gradients=grads), data
    if code == "quippy":
        from ase.data import atomic_numbers
        from quippy.descriptors import Descriptor

        zs = sorted(atomic_numbers[s] for s in SPECIES)
        zlist = " ".join(map(str, zs))
        desc = Descriptor(
            f"soap cutoff={R_CUT} cutoff_transition_width={WIDTH} l_max={L_MAX} "
            f"n_max={N_MAX} atom_sigma={SIGMA} n_species={len(zs)} species_Z={{{zlist}}} "
            f"n_Z={len(zs)} Z={{{zlist}}} normalise=F"
        )
        return lambda: [desc.calc(a, grad=gradients) for a in data], data
    raise ValueError(code)


def worker(code, mode):
    import resource

    from timing import median_time

    run, data = make_runner(code, mode)
    seconds = median_time(run, REPEATS)
    n_atoms = sum(len(a) for a in data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"code": code, "atoms_per_s": n_atoms / seconds, "peak_mb": peak}))


def codes(mode):
    """Codes that compute this: DScribe has no analytical gradients for periodic cells,
    quippy's soap no strain gradients."""
    return {
        "values": ["slimsoap", "dscribe", "featomic", "quippy"],
        "values-nu1mu1": ["slimsoap", "dscribe"],
        "positions": ["slimsoap", "slimsoap-sparse", "featomic", "quippy"],
        "positions+strain": ["slimsoap", "slimsoap-sparse", "featomic"],
    }[mode]


def stage_table(compression: str) -> None:
    """Print where slimsoap's values time goes, stage by stage, with flops and rates."""
    import time

    import numpy as np

    from slimsoap import SOAP
    from slimsoap._kernels.contraction import packed_values
    from slimsoap._kernels.soap import expand_blocks
    from slimsoap._validation import species_index
    from slimsoap.systems.cutoff import cosine_cutoff
    from slimsoap.systems.neighbours import neighbour_list

    data = frames(10)
    soap = SOAP(SPECIES, R_CUT, N_MAX, L_MAX, SIGMA, cutoff_width=WIDTH, compression=compression)
    soap.compute(data[:1])
    con, basis = soap._contraction, soap.basis
    L1, N = L_MAX + 1, N_MAX
    clock = time.thread_time
    spent = dict.fromkeys(["neighbours", "radial", "expansion", "contraction"], 0.0)
    n_pairs = 0
    for atoms in data:
        t0 = clock()
        nl = neighbour_list(atoms, R_CUT, 0, True)
        t1 = clock()
        radial, _ = basis.integrals(nl.distances, derivatives=False)
        fc, _ = cosine_cutoff(nl.distances, R_CUT, WIDTH)
        t2 = clock()
        species = species_index(atoms.numbers, soap.species_z, 0)
        blocks = tuple(np.empty((len(atoms), 2 * l + 1, len(SPECIES) * N)) for l in range(L1))
        args = (nl.offsets, species, species[nl.neighbours], nl.vectors, nl.distances)
        expand_blocks(*args, radial, fc, basis.at_origin(), 1.0, L_MAX, blocks, 0, len(atoms))
        t3 = clock()
        out = np.empty((len(atoms), con.n_features))
        packed_values(blocks, con.value_arrays, out, 0, len(atoms))
        spent["neighbours"] += t1 - t0
        spent["radial"] += t2 - t1
        spent["expansion"] += t3 - t2
        spent["contraction"] += clock() - t3
        n_pairs += len(nl.distances)
    n_atoms = sum(len(a) for a in data)
    pairs = n_pairs / n_atoms
    # flops per atom: radial, quintic Hermite (5 FMA per value); expansion, per pair the
    # harmonics (~4 per lm), g = f I (1 per value) and the (L+1)² N accumulation (2 each)
    # contraction: the stored entries (2 M per entry) and the projections X_l W of maps
    # that are not the identity (2 flops per non-zero of W per m)
    contraction = 0
    for l, b in enumerate(con.maps.blocks):
        M = 2 * l + 1
        contraction += 2 * b.size * M
        for w in (b.w1,) if b.symmetric else (b.w1, b.w2):
            contraction += 0 if w is None else 2 * M * int(np.count_nonzero(w))
    flops = {
        "neighbours": 0,
        "radial": pairs * 10 * L1 * N,
        "expansion": pairs * (4 * L1 * L1 + L1 * N + 2 * L1 * L1 * N),
        "contraction": contraction,
    }
    a = np.random.default_rng(0).random((1000, 1000))
    a @ a
    t = clock()
    a @ a
    peak = 2e9 / (clock() - t)
    total = sum(spent.values())
    print(
        f"\nstages of slimsoap {compression} values, 10 frames, {pairs:.1f} pairs/atom, "
        f"thread CPU time; dgemm peak on this machine {peak / 1e9:.1f} GFLOP/s (1 thread)"
    )
    print(
        f"{'stage':<13}{'ms/frame':>9}{'share':>7}{'atoms/s':>10}{'flop/atom':>11}"
        f"{'GFLOP/s':>9}{'of peak':>9}"
    )
    for k, v in spent.items():
        rate = flops[k] * n_atoms / v if v > 0 else 0.0
        print(
            f"{k:<13}{1e3 * v / len(data):>9.2f}{100 * v / total:>6.0f}%{n_atoms / v:>10.0f}"
            f"{flops[k]:>11.0f}{rate / 1e9:>9.2f}{100 * rate / peak:>8.1f}%"
        )
    print(f"{'sum':<13}{1e3 * total / len(data):>9.2f}{100:>6.0f}%{n_atoms / total:>10.0f}")


def main():
    args = sys.argv[1:]
    threads, baseline, stages = "1", None, "--stages" in args
    if stages:
        args.remove("--stages")
    if "--threads" in args:
        k = args.index("--threads")
        threads = args[k + 1]
        del args[k : k + 2]
    if "--baseline" in args:
        k = args.index("--baseline")
        baseline = args[k + 1]
        del args[k : k + 2]
    env = dict(os.environ, **{v: threads for v in THREAD_VARS})
    modes = args or MODES
    rows = {}
    for mode in modes:
        for code in codes(mode) + (["slimsoap@base"] if baseline else []):
            run_env = env if code != "slimsoap@base" else dict(env, PYTHONPATH=baseline)
            out = subprocess.run(
                [sys.executable, __file__, "--worker", code.split("@")[0], mode],
                env=run_env,
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                rows[(code, mode)] = None
                print(f"{code} {mode} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            rows[(code, mode)] = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"\nfull SOAP power spectrum, 5-element 256-atom fcc, r_cut {R_CUT}, n_max {N_MAX}, "
        f"l_max {L_MAX}; every code on {threads} thread(s) ({', '.join(THREAD_VARS)} = "
        f"{threads}; DScribe n_jobs = {threads}; quippy is single-threaded)"
    )
    if baseline:
        print(f"slimsoap@base: the checkout at {baseline}")
    for mode in modes:
        frames_n = 10 if mode.startswith("values") else 2
        print(f"\n{mode} ({frames_n} frames)")
        print(f"{'code':<17}{'atoms/s':>10}{'best slimsoap ×':>17}{'peak RSS MB':>13}")
        ours = [rows.get((c, mode)) for c in ("slimsoap", "slimsoap-sparse")]
        best = max((r["atoms_per_s"] for r in ours if r), default=float("nan"))
        for code in codes(mode) + (["slimsoap@base"] if baseline else []):
            r = rows[(code, mode)]
            if r is None:
                print(f"{code:<17}{'failed':>10}")
                continue
            ratio = best / r["atoms_per_s"]
            print(f"{code:<17}{r['atoms_per_s']:>10.0f}{ratio:>17.2f}{r['peak_mb']:>13.0f}")
    if stages:
        os.environ.update({v: threads for v in THREAD_VARS})
        for mode in modes:
            if mode.startswith("values"):
                stage_table("nu1mu1" if mode == "values-nu1mu1" else "nu2")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
