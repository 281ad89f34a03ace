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
of ≥5 repeats. Run: ``python benchmarks/bench_soap.py [modes] [--threads N]`` (N sets every
thread variable and DScribe's n_jobs; default 1).
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


#: What is differentiated: nothing, positions, positions and strain.
MODES = ["values", "positions", "positions+strain"]


def make_runner(code, mode):
    """A zero-argument function computing the descriptor of the benchmark frames."""
    gradients = mode != "values"
    strain = mode == "positions+strain"
    data = frames(2 if gradients else 10)
    if code.startswith("slimsoap"):
        from slimsoap import SOAP

        soap = SOAP(SPECIES, R_CUT, N_MAX, L_MAX, SIGMA, cutoff_width=WIDTH)
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
            compression={"mode": "off"},
        )
        return lambda: ds.create(data, n_jobs=int(os.environ["OMP_NUM_THREADS"])), data
    if code == "featomic":
        import featomic

        calc = featomic.SoapPowerSpectrum(
            cutoff={"radius": R_CUT, "smoothing": {"type": "ShiftedCosine", "width": WIDTH}},
            density={"type": "Gaussian", "width": SIGMA},
            basis={
                "type": "TensorProduct",
                "max_angular": L_MAX,
                "radial": {"type": "Gto", "max_radial": N_MAX - 1},
            },
        )
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
        "positions": ["slimsoap", "slimsoap-sparse", "featomic", "quippy"],
        "positions+strain": ["slimsoap", "slimsoap-sparse", "featomic"],
    }[mode]


def main():
    args = sys.argv[1:]
    threads = "1"
    if "--threads" in args:
        k = args.index("--threads")
        threads = args[k + 1]
        del args[k : k + 2]
    env = dict(os.environ, **{v: threads for v in THREAD_VARS})
    modes = args or MODES
    rows = {}
    for mode in modes:
        for code in codes(mode):
            out = subprocess.run(
                [sys.executable, __file__, "--worker", code, mode],
                env=env,
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
    for mode in modes:
        frames_n = 10 if mode == "values" else 2
        print(f"\n{mode} ({frames_n} frames)")
        print(f"{'code':<17}{'atoms/s':>10}{'best slimsoap ×':>17}{'peak RSS MB':>13}")
        ours = [rows.get((c, mode)) for c in ("slimsoap", "slimsoap-sparse")]
        best = max((r["atoms_per_s"] for r in ours if r), default=float("nan"))
        for code in codes(mode):
            r = rows[(code, mode)]
            if r is None:
                print(f"{code:<17}{'failed':>10}")
                continue
            ratio = best / r["atoms_per_s"]
            print(f"{code:<17}{r['atoms_per_s']:>10.0f}{ratio:>17.2f}{r['peak_mb']:>13.0f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
