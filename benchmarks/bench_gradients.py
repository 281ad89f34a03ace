"""Sparse position gradients: slimsoap vs featomic (and DScribe on molecules), issue 19.

Question: how many atoms per second does each code compute the full SOAP power spectrum
(ν=2) with its position gradients for, on big cells, small periodic cells and molecules,
at what peak memory, and how close does slimsoap's gradient kernel run to the machine?

Structure sets (the builders of ``bench_speed``): ``fcc256``, 2 rattled 256-atom fcc cells
of 5 elements (bench_soap's ``positions`` frames); ``cells4``, 200 rattled 4-atom cubic
cells; ``cells1``, 400 rattled 1-atom primitive cells; ``qm9``, the first 100 QM9 molecules.
r_cut 5 Å, n_max 8, l_max 6, σ 0.5 Å, cosine cutoff width 0.5 Å.

Codes: slimsoap ``compute(gradients=True, sparse=True, strain=False)`` (species-block
rows, as featomic's blocks); featomic ``SoapPowerSpectrum.compute(gradients=["positions"])``
with its own GTO basis (the issue's baseline); DScribe ``derivatives(method="analytical")``
where it has them (molecules only; dense (centres, atoms, 3, F) arrays). Each (code, set)
runs in its own process (peak RSS, ``ru_maxrss``, its own) with NUMBA_NUM_THREADS,
OMP_NUM_THREADS, RAYON_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS = 1 and DScribe's
n_jobs = 1; one warm-up call, then the median of ``--repeats`` (≥ 5) calls; ``--rounds K``
runs K processes per code, codes interleaved, and reports medians over them.

For slimsoap the row also gives the flops per atom of the gradient kernel
(:func:`gradient_flops`, 2 per multiply-add) and the rate it achieves, over the whole call
and in the kernel alone (its share of the time in brackets), against this machine's
single-thread dgemm rate (1000³, OpenBLAS) as the practical peak.

Fair race: before timing, ``--check`` (default on) compares one frame of each set with
featomic run on slimsoap's own radial integrals (:func:`slimsoap.io.translate.soap_to_featomic`,
factors from :func:`~slimsoap.io.translate.featomic_columns`), every gradient entry of every
block, and one small molecule (all atoms within r_cut − width, where DScribe's hard cutoff
agrees) with DScribe's analytical derivatives (:func:`~slimsoap.io.translate.dscribe_columns`),
pairs i ≠ j only: DScribe holds a centre in place when its own atom moves.

``--strain``: strain gradients too (slimsoap ``strain=True``, featomic's ``"strain"``
gradients; no DScribe; the flop model counts the strain sums).

Run: ``python benchmarks/bench_gradients.py [--sets ...] [--codes ...] [--repeats R]
[--rounds K] [--no-check] [--strain]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_soap import L_MAX, N_MAX, R_CUT, SIGMA, THREAD_VARS, WIDTH, featomic_hypers  # noqa: E402
from bench_speed import structure_set  # noqa: E402
from timing import median_row, run_worker  # noqa: E402

SETS = {"fcc256": 2, "cells4": 200, "cells1": 400, "qm9": 100}
CODES = ["slimsoap", "featomic", "dscribe"]


def has_code(code: str, name: str, strain: bool = False) -> bool:
    """DScribe's analytical derivatives are for finite systems only (and have no strain)."""
    return code != "dscribe" or (name == "qm9" and not strain)


def slimsoap_calculator(species):
    from slimsoap import SOAP

    return SOAP(species, R_CUT, N_MAX, L_MAX, SIGMA, cutoff_width=WIDTH)


def featomic_calculator(hypers: dict | None = None):
    import featomic

    return featomic.SoapPowerSpectrum(**(featomic_hypers() if hypers is None else hypers))


def dscribe_calculator(species):
    from dscribe.descriptors import SOAP as DS

    return DS(species=species, r_cut=R_CUT, n_max=N_MAX, l_max=L_MAX, sigma=SIGMA, rbf="gto",
              periodic=False, compression={"mode": "off"})  # fmt: skip


def make_runner(code: str, frames: list, species: list[str], strain: bool = False):
    """A zero-argument function computing values and position gradients of ``frames``
    (and strain gradients, the virials' input, with ``strain``)."""
    if code == "slimsoap":
        soap = slimsoap_calculator(species)
        return lambda: soap.compute(frames, gradients=True, sparse=True, strain=strain)
    if code == "featomic":
        calc = featomic_calculator()
        which = ["positions", "strain"] if strain else ["positions"]
        return lambda: calc.compute(frames, gradients=which)
    if code == "dscribe":
        ds = dscribe_calculator(species)
        return lambda: ds.derivatives(frames, method="analytical", n_jobs=1)
    raise ValueError(code)


def gradient_flops(soap, frames: list, strain: bool = False) -> float:
    """Flops per atom of slimsoap's gradient kernel on ``frames`` (ν=2: every block
    symmetric with identity maps), 2 per multiply-add, per pair of neighbour slot β, for
    each l with K = S'·N channels (S' the frame's species) and T_lβ the entries β touches:
    (Y, ∇Y)·Y2, 4 (2l+1) K multiply-adds; A = h r̂_x (Y·Y2) + k (∂_xY·Y2), 3·2 N K;
    the centre's sum, 3 N K adds; the pair's entries, 3 T_lβ (add, scale, accumulate).
    Images of the centre itself cost nothing without strain (they cancel exactly); per
    centre, the read-out of its entry, 3 · 2 F'. GROUP_MIN or more images of one atom are
    summed at the density, 3·2 N (2l+1) multiply-adds each, and contracted once,
    ∂X^T Y2, 3 N (2l+1) K, with one centre sum and one write of the entries.

    With ``strain``, every pair also adds r_s A to the strain sums, 9 N K multiply-adds (a
    group: 9 N (2l+1) at the density per image, then 9 contractions N (2l+1) K and 9 N K
    adds); the centre's own images cost as others but add to neither the centre's sum nor
    any entry; per centre, the read-out of the strain, 9 · 2 F'."""
    import numpy as np

    from slimsoap._kernels.soap import GROUP_MIN
    from slimsoap._validation import species_index
    from slimsoap.systems.neighbours import neighbour_list

    if any(not (b.symmetric and b.w1 is None) for b in soap.channels.blocks):
        raise ValueError("the flop model is that of ν=2 (symmetric identity blocks)")
    total, atoms = 0.0, 0
    N = soap.n_max
    for f, a in enumerate(frames):
        slots = species_index(a.numbers, soap.species_z, f)
        species = np.unique(slots)
        plan = soap._contraction.gradient_plan(tuple(species.tolist()), True)
        nl = neighbour_list(a, soap.r_cut, f)
        beta = np.searchsorted(species, slots[nl.neighbours])
        keys, first, size = np.unique(nl.centres * len(a) + nl.neighbours,
                                      return_index=True, return_counts=True)  # fmt: skip
        own = keys // len(a) == keys % len(a)
        group_beta = beta[first]
        K = len(species) * N
        # per unit, by (own, grouped): the cost once per unit, and per image of a group
        per_unit = {key: np.zeros(len(species)) for key in ("pair", "group", "own", "own_group")}
        per_image = 0.0
        for l in range(soap.l_max + 1):
            T = np.diff(plan.arrays.touch_ptr[l])
            M = 2 * l + 1
            s_pair = 18 * N * K if strain else 0
            s_group = 18 * N * M * K + 9 * N * K if strain else 0
            per_unit["pair"] += 8 * M * K + 12 * N * K + 3 * N * K + 9 * T + s_pair
            per_unit["group"] += 6 * N * M * K + 3 * N * K + 9 * T + s_group
            per_unit["own"] += 8 * M * K + 12 * N * K + s_pair
            per_unit["own_group"] += 6 * N * M * K + s_group
            per_image += 12 * N * M + (18 * N * M if strain else 0)
        grouped = size >= GROUP_MIN
        units = [("pair", ~own & ~grouped), ("group", ~own & grouped)]
        if strain:
            units += [("own", own & ~grouped), ("own_group", own & grouped)]
        for key, sel in units:
            weight = size[sel] if key in ("pair", "own") else np.ones(int(sel.sum()))
            total += float(np.bincount(group_beta[sel], weight, len(species)) @ per_unit[key])
            if key.endswith("group"):
                total += float(size[sel].sum()) * per_image
        total += len(a) * (6 + (18 if strain else 0)) * plan.n_entries
        atoms += len(a)
    return total / atoms


def worker(spec: dict) -> None:
    import resource
    import time

    from timing import dgemm_gflops, median_time

    frames, species = structure_set(spec["set"], spec["frames"])
    run = make_runner(spec["code"], frames, species, spec["strain"])
    seconds = median_time(run, spec["repeats"])
    n_atoms = sum(len(a) for a in frames)
    out = {"atoms_per_s": n_atoms / seconds}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if spec["code"] == "slimsoap":
        import slimsoap.soap.gradients.compute as compute

        kernel, spent = compute.pair_gradients, [0.0]

        def timed(*args):
            t0 = time.perf_counter()
            kernel(*args)
            spent[0] += time.perf_counter() - t0

        compute.pair_gradients = timed  # one untimed pass: the kernel's own time
        t0 = time.perf_counter()
        run()
        whole = time.perf_counter() - t0
        compute.pair_gradients = kernel
        flops = gradient_flops(slimsoap_calculator(species), frames, spec["strain"])
        out["flops_per_atom"] = flops
        out["gflops"] = flops * out["atoms_per_s"] / 1e9
        out["kernel_gflops"] = flops * n_atoms / spent[0] / 1e9
        out["kernel_share"] = spent[0] / whole
        out["peak_gflops"] = dgemm_gflops()
    print(json.dumps(out))


def check(name: str) -> dict:
    """Largest difference between slimsoap's sparse gradients and featomic's (slimsoap's
    radial integrals), relative to the largest gradient, on the first frame of a set
    (two for ``cells1``, whose every pair is an image of the centre); for ``qm9`` also
    against DScribe on the first molecule whose atoms all lie within r_cut − width."""
    import numpy as np

    from slimsoap.io.translate import dscribe_columns, featomic_gradient_difference

    frames, species = structure_set(name, 2 if name == "cells1" else 1)
    soap = slimsoap_calculator(species)
    F = soap.compute(frames, gradients=True, sparse=True, strain=False)
    tm = featomic_calculator(soap.to_featomic()).compute(frames, gradients=["positions"])
    diff, top, _ = featomic_gradient_difference(soap, F, frames, tm)
    out = {"featomic": diff / top if top > 0 else diff, "featomic_max": top}
    if name == "qm9":
        mols, _ = structure_set("qm9", 100)
        mol = next(m for m in mols if len(m) > 3 and m.get_all_distances().max() < R_CUT - WIDTH)
        D = soap.compute(mol, gradients=True)  # dense rows, every (i, j) pair
        dense = np.zeros((len(mol), len(mol), 3, soap.n_features))
        dense[D.gradient_pairs[:, 0], D.gradient_pairs[:, 1]] = D.gradients
        cols, scale = dscribe_columns(soap)
        theirs = dscribe_calculator(species).derivatives(
            mol, method="analytical", return_descriptor=False
        )
        # DScribe keeps each centre where it is when its atom moves: (i, i) differ by
        # that convention, so only the pairs i != j are compared
        other = ~np.eye(len(mol), dtype=bool)
        ours = dense[other][..., cols] * scale
        theirs = theirs[other]
        out["dscribe"] = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
        out["dscribe_molecule"] = str(mol.symbols)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    p.add_argument("--codes", nargs="+", default=CODES, choices=CODES)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rounds", type=int, default=1, help="processes per code, interleaved")
    p.add_argument("--no-check", action="store_true", help="skip the comparison with the peers")
    p.add_argument(
        "--strain", action="store_true", help="strain gradients too (featomic's 'strain')"
    )
    args = p.parse_args()
    if args.repeats < 5:
        p.error("--repeats must be >= 5 (medians of at least 5 calls)")
    env = dict(os.environ, **{v: "1" for v in THREAD_VARS})
    print(
        f"position gradients (values too), every code on 1 thread ({', '.join(THREAD_VARS)} = 1;"
        f" DScribe n_jobs = 1); median of {args.repeats} after a warm-up in each of "
        f"{args.rounds} interleaved process(es) per code, median over them; r_cut {R_CUT} Å,"
        f" n_max {N_MAX}, l_max {L_MAX}, σ {SIGMA} Å, cutoff width {WIDTH} Å; slimsoap "
        f"sparse=True, strain={args.strain}; featomic gradients="
        f"{['positions', 'strain'] if args.strain else ['positions']}; DScribe analytical "
        "(dense, molecules only, no strain)"
    )
    if not args.no_check:
        print("\nsame numbers (max |difference| / max |gradient|, one frame of each set):")
        for name in args.sets:
            out = subprocess.run(
                [sys.executable, __file__, "--check", name], env=env, capture_output=True,
                text=True,
            )  # fmt: skip
            if out.returncode != 0:
                print(f"  {name}: check failed:\n{out.stderr[-2000:]}")
                continue
            c = json.loads(out.stdout.strip().splitlines()[-1])
            line = f"  {name:<8} featomic (slimsoap's radial integrals) {c['featomic']:.1e}"
            if c["featomic_max"] == 0:
                line += " (both codes: every gradient exactly 0)"
            if "dscribe" in c:
                line += f"; DScribe ({c['dscribe_molecule']}, its GTO basis) {c['dscribe']:.1e}"
            print(line)
    head = (
        f"\n{'set':<8}{'frames':>7}{'atoms':>7}{'code':>10}{'atoms/s':>9}{'slimsoap ×':>11}"
        f"{'peak MB':>9}{'flop/atom':>12}{'GFLOP/s':>9}{'kernel GFLOP/s':>16}{'peak':>7}"
    )
    print(head)
    for name in args.sets:
        n_frames = SETS[name]
        codes = [c for c in args.codes if has_code(c, name, args.strain)]
        runs = {code: [] for code in codes}
        for _ in range(args.rounds):
            for code in codes:
                spec = dict(code=code, set=name, frames=n_frames, repeats=args.repeats,
                            strain=args.strain)  # fmt: skip
                runs[code].append(run_worker(__file__, spec, env))
        rows = {code: median_row(r) for code, r in runs.items()}
        ours = rows.get("slimsoap")
        n_atoms = sum(len(a) for a in structure_set(name, n_frames)[0])
        for code, r in rows.items():
            lead = f"{name:<8}{n_frames:>7}{n_atoms:>7}{code:>10}"
            if r is None:
                print(f"{lead}{'failed':>9}")
                continue
            ratio = ""
            if code != "slimsoap" and ours is not None:
                ratio = f"{ours['atoms_per_s'] / r['atoms_per_s']:.2f}"
            line = f"{lead}{r['atoms_per_s']:>9.0f}{ratio:>11}{r['peak_mb']:>9.0f}"
            if "gflops" in r:
                kernel = f"{r['kernel_gflops']:.2f} ({100 * r['kernel_share']:.0f}%)"
                line += (
                    f"{r['flops_per_atom']:>12,.0f}{r['gflops']:>9.2f}{kernel:>16}"
                    f"{r['peak_gflops']:>7.1f}"
                )
            print(line)
        sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(json.loads(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--check":
        print(json.dumps(check(sys.argv[2])))
    else:
        main()
