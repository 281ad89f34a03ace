"""Values throughput on every kind of structure: slimsoap vs DScribe and featomic (issue 19).

Question: how many atoms per second does each code compute ν=2 (``nu2``) and ν,μ=1,1
(``nu1mu1``) values for, on big cells, small periodic cells and molecules, with matched
hyper-parameters, and how close does slimsoap's contraction run to the machine's limit?

Structure sets (deterministic):

- ``fcc256``: 10 rattled 256-atom fcc cells of 5 elements (Ni Cu Pd Ag Pt), as bench_soap;
- ``cells4``: 200 rattled 4-atom cubic fcc cells of the same 5 elements;
- ``cells1``: 400 rattled 1-atom primitive fcc cells of the same 5 elements;
- ``qm9``: the first 500 QM9 molecules of qm9pack (H C N O F).

Default hyper-parameters r_cut 5 Å, n_max 8, l_max 6, σ 0.5 Å, cosine cutoff width 0.5 Å;
``--spread`` adds a few combinations of r_cut 4–6, N 4–12, L 4–9 and S 1–8 species (on the
4-atom cells, species drawn from 8 metals). DScribe computes ``nu2`` as ``off`` and
``nu1mu1`` as ``mu1nu1``; featomic has no ν,μ=1,1, so its full power spectrum stands in for
both (it does more work there: the nu1mu1 ratio against featomic is optimistic).

Each (code, set, compression, hyper-parameters) runs in its own subprocess, so peak RSS
(``resource.getrusage``) is its own, with NUMBA_NUM_THREADS, OMP_NUM_THREADS,
RAYON_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS = ``--threads`` (default 1) and
DScribe's n_jobs the same; one warm-up, then the median of ``--repeats`` (≥ 5) calls.
For slimsoap the row also gives the contraction's flop count per atom (per l: the
projections X_l W1_l, X_l W2_l and the stored entries of p_l, 2 flops per multiply-add)
and its achieved GFLOP/s (contraction alone, on the set's coefficients), against the
target of ``TARGET_GFLOPS`` and against the machine's practical peak (``peak``: one
thread's 1000³ dgemm, measured in the same process; ``of peak`` the share reached).

Run: ``python benchmarks/bench_speed.py [--sets ...] [--compressions ...] [--codes ...]
[--threads N] [--repeats R] [--rounds K] [--quick] [--spread] [--baseline PATH]``;
``--rounds K`` runs K processes per code, the codes interleaved, and reports medians over
them, and ``--clock cpu`` times process CPU time instead of wall time (both for a loaded
machine; CPU time with one thread only). ``--quick``: a quarter of each set (at least 2
frames) and 5 repeats. ``--baseline PATH`` adds ``slimsoap@base``, the slimsoap checkout at
PATH (its ``PYTHONPATH``), interleaved with the others, for before/after ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_soap import SIGMA, SPECIES, THREAD_VARS, WIDTH  # noqa: E402
from bench_soap import frames as fcc256_frames  # noqa: E402
from timing import median_row, run_worker  # noqa: E402

#: Full sizes (frames) of the structure sets.
SETS = {"fcc256": 10, "cells4": 200, "cells1": 400, "qm9": 500}
QM9_SPECIES = ["H", "C", "N", "O", "F"]
#: Metals of the spread in S (the first S of them).
METALS8 = ["Ni", "Cu", "Pd", "Ag", "Pt", "Au", "Al", "Rh"]
#: (r_cut, n_max, l_max, n_species) of the default run and of ``--spread``.
DEFAULT = (5.0, 8, 6, 5)
SPREAD = [(4.0, 4, 4, 1), (6.0, 12, 9, 8), (5.0, 6, 8, 3), (4.5, 10, 5, 8)]
#: GFLOP/s the contraction should reach on one core (issue 19, target 6).
TARGET_GFLOPS = 6.0
CODES = ["slimsoap", "dscribe", "featomic"]
DSCRIBE_MODE = {"nu2": "off", "nu1mu1": "mu1nu1"}


def structure_set(name: str, n_frames: int, n_species: int = 5) -> tuple[list, list[str]]:
    """The frames of a set and the species they hold."""
    import numpy as np
    from ase.build import bulk

    if name == "fcc256":
        return fcc256_frames(n_frames), list(SPECIES)
    if name == "qm9":
        import itertools

        from slimsoap.data.qm9 import read_qm9pack

        return list(itertools.islice(read_qm9pack(properties=False), n_frames)), QM9_SPECIES
    species = list(SPECIES) if n_species == 5 else METALS8[:n_species]
    rng = np.random.default_rng(19)
    out = []
    for _ in range(n_frames):
        atoms = bulk("Cu", "fcc", a=3.7, cubic=name == "cells4")
        atoms.symbols = rng.choice(species, len(atoms))
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        out.append(atoms)
    return out, species


def contraction_flops(soap) -> int:
    """Flops per atom of slimsoap's contraction (2 per multiply-add): per l, the projections
    X_l W (skipped for identity maps) and the stored entries of p_l."""
    flops = 0
    c = len(soap.species_z) * soap._contraction.N
    for l, b in enumerate(soap.channels.blocks):
        m = 2 * l + 1
        for w in (b.w1,) if b.symmetric else (b.w1, b.w2):
            flops += 0 if w is None else 2 * m * c * w.shape[1]
        flops += 2 * m * len(b.rows)
    return flops


def make_runner(code, frames, species, compression, r_cut, n_max, l_max):
    """A zero-argument function computing the values of ``frames`` with ``code``."""
    periodic = bool(frames[0].pbc.any())
    if code == "slimsoap":
        from slimsoap import SOAP

        soap = SOAP(
            species, r_cut, n_max, l_max, SIGMA, cutoff_width=WIDTH, compression=compression
        )
        return lambda: soap.compute(frames), soap
    if code == "dscribe":
        from dscribe.descriptors import SOAP as DS

        ds = DS(
            species=species,
            r_cut=r_cut,
            n_max=n_max,
            l_max=l_max,
            sigma=SIGMA,
            rbf="gto",
            periodic=periodic,
            compression={"mode": DSCRIBE_MODE[compression]},
        )
        return lambda: ds.create(frames, n_jobs=int(os.environ["OMP_NUM_THREADS"])), None
    if code == "featomic":
        import featomic

        calc = featomic.SoapPowerSpectrum(
            cutoff={"radius": r_cut, "smoothing": {"type": "ShiftedCosine", "width": WIDTH}},
            density={"type": "Gaussian", "width": SIGMA},
            basis={
                "type": "TensorProduct",
                "max_angular": l_max,
                "radial": {"type": "Gto", "max_radial": n_max - 1},
            },
        )
        return lambda: calc.compute(frames), None
    raise ValueError(code)


def contraction_rate(soap, frames) -> float:
    """GFLOP/s of slimsoap's contraction alone, on the coefficients of ``frames``."""
    import numpy as np
    from timing import median_time

    from slimsoap.soap.expansion import coefficient_blocks

    c = np.concatenate([soap.expand(a, f).coefficients for f, a in enumerate(frames)])
    blocks = list(coefficient_blocks(c, soap.l_max))  # per-l X_l, as the expansion writes them
    seconds = median_time(lambda: soap._contraction.values(blocks), 5)
    return contraction_flops(soap) * len(c) / seconds / 1e9


def worker(spec: dict) -> None:
    import resource

    from timing import dgemm_gflops, median_time

    frames, species = structure_set(spec["set"], spec["frames"], spec["n_species"])
    run, soap = make_runner(
        spec["code"],
        frames,
        species,
        spec["compression"],
        spec["r_cut"],
        spec["n_max"],
        spec["l_max"],
    )
    seconds = median_time(run, spec["repeats"], clock=spec["clock"])
    out = {"atoms_per_s": sum(len(a) for a in frames) / seconds}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if soap is not None:
        out["flops_per_atom"] = contraction_flops(soap)
        out["gflops"] = contraction_rate(soap, frames)
        out["peak_gflops"] = dgemm_gflops()
    print(json.dumps(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    p.add_argument(
        "--compressions", nargs="+", default=["nu2", "nu1mu1"], choices=["nu2", "nu1mu1"]
    )
    p.add_argument("--codes", nargs="+", default=CODES, choices=CODES)
    p.add_argument("--threads", default="1")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time, or process CPU time (a loaded machine; 1 thread only)",
    )
    p.add_argument("--rounds", type=int, default=1, help="processes per code, interleaved")
    p.add_argument("--quick", action="store_true", help="a quarter of each set, 5 repeats")
    p.add_argument("--spread", action="store_true", help="also the hyper-parameter spread")
    p.add_argument(
        "--baseline",
        metavar="PATH",
        help="also slimsoap@base, the slimsoap checkout at PATH (its PYTHONPATH), interleaved",
    )
    args = p.parse_args()
    if args.repeats < 5:
        p.error("--repeats must be >= 5 (medians of at least 5 calls)")
    if args.clock == "cpu" and args.threads != "1":
        p.error("--clock cpu adds up the CPU time of every thread: use it with --threads 1")
    env = dict(os.environ, **{v: args.threads for v in THREAD_VARS})
    codes = args.codes + (["slimsoap@base"] if args.baseline else [])
    base_env = dict(env, PYTHONPATH=args.baseline or "")
    params = [DEFAULT] + (SPREAD if args.spread else [])
    print(
        f"values, every code on {args.threads} thread(s) ({', '.join(THREAD_VARS)} = "
        f"{args.threads}; DScribe n_jobs = {args.threads}); median of {args.repeats} after a "
        f"warm-up ({args.clock} clock) in each of {args.rounds} interleaved process(es) per "
        "code, median over them; "
        f"σ {SIGMA} Å, cutoff width {WIDTH} Å; featomic computes the full spectrum"
        f" for both compressions; contraction target {TARGET_GFLOPS:g} GFLOP/s"
    )
    head = (
        f"{'set':<8}{'frames':>7}{'rc/N/L/S':>12}{'compression':>12}{'code':>14}"
        f"{'atoms/s':>10}{'× best peer':>12}{'peak MB':>9}{'flop/atom':>11}{'GFLOP/s':>9}"
        f"{'peak':>7}{'of peak':>9}"
    )
    print(head)
    for r_cut, n_max, l_max, n_species in params:
        sets = args.sets if (r_cut, n_max, l_max, n_species) == DEFAULT else ["cells4"]
        for name in sets:
            n_frames = max(2, SETS[name] // 4) if args.quick else SETS[name]
            for compression in args.compressions:
                runs = {code: [] for code in codes}
                for _ in range(args.rounds):  # codes interleaved: load changes hit all alike
                    for code in codes:
                        spec = dict(
                            code=code.split("@")[0], set=name, frames=n_frames,
                            n_species=n_species, compression=compression, r_cut=r_cut,
                            n_max=n_max, l_max=l_max, repeats=args.repeats, clock=args.clock,
                        )  # fmt: skip
                        run_env = base_env if code == "slimsoap@base" else env
                        runs[code].append(run_worker(__file__, spec, run_env))
                rows = {code: median_row(r) for code, r in runs.items()}
                peers = [rows[c]["atoms_per_s"] for c in ("dscribe", "featomic") if rows.get(c)]
                best = max(peers, default=float("nan"))
                for code, r in rows.items():
                    hp = f"{r_cut:g}/{n_max}/{l_max}/{n_species}"
                    lead = f"{name:<8}{n_frames:>7}{hp:>12}{compression:>12}{code:>14}"
                    if r is None:
                        print(f"{lead}{'failed':>10}")
                        continue
                    ratio = " " * 12
                    if code.startswith("slimsoap"):
                        ratio = f"{r['atoms_per_s'] / best:>12.2f}"
                    extra = ""
                    if "gflops" in r:
                        share = r["gflops"] / r["peak_gflops"]
                        extra = (
                            f"{int(r['flops_per_atom']):>11,}{r['gflops']:>9.2f}"
                            f"{r['peak_gflops']:>7.1f}{share:>9.1%}"
                        )
                    print(f"{lead}{r['atoms_per_s']:>10.0f}{ratio}{r['peak_mb']:>9.0f}{extra}")
                sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(json.loads(sys.argv[2]))
    else:
        main()
