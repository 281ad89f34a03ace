"""Throughput (atoms/s, single thread) and peak memory of every compression vs DScribe.

Question: how fast is each compression, and how does it compare with the peer that computes
the same descriptor (DScribe ``off`` = nu2, ``mu1nu1`` = nu1mu1, ``mu2`` = mu2,
``crossover`` = species_diagonal)?

(a) the 5-element 256-atom rattled fcc alloy (Ni, Cu, Pd, Ag, Pt);
(b) an elpasolite-like set: 39 main-group elements, primitive ABC2D6 cells with 4 random
    elements each (slimsoap.data.gen_elpasolite), full spectrum stored sparse vs DScribe's
    dense row.

Settings: r_cut 5 Å, n_max 8, l_max 6, σ 0.5 Å (both codes), values only. Times are the
median of ``--repeats`` runs after a warm-up; peak memory is tracemalloc's peak over one run
(NumPy buffers; DScribe's C++ buffers are not traced, its output array is).
nu1mustar1 is left out: at L=6 it needs 13 GTO radial functions, which the GTO basis refuses
to orthonormalise at r_cut 5 Å (condition number > 1e12).
Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_compressions.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402
from ase.build import bulk  # noqa: E402
from timing import median_time  # noqa: E402

from slimsoap import SOAP  # noqa: E402
from slimsoap.data.gen_elpasolite import ELPASOLITE_ELEMENTS, elpasolite  # noqa: E402

R_CUT, N_MAX, L_MAX, SIGMA = 5.0, 8, 6, 0.5

CASES = [
    ("nu2", {}, "off"),
    ("nu1mu1", {}, "mu1nu1"),
    ("mu2", {}, "mu2"),
    ("species_diagonal", {}, "crossover"),
    ("nu1nuhat1", {}, None),
    ("nu1muhat1", {}, None),
    ("nuhat1mu1", {}, None),
    ("mu1muhat1", {}, None),
    ("nuhat2", {}, None),
    ("nuhat1muhat1", {}, None),
    ("muhat2", {}, None),
    ("random", {"seed": 0}, None),
    ("random_sym", {"seed": 0}, None),
    ("embed", {"embedding": "periodic_table"}, None),
    ("diagonal_radial", {}, None),
    ("species_groups", {"groups": [["Ni", "Pd", "Pt"], ["Cu", "Ag"]]}, None),
    ("tensor_reduced", {"n_channels": 16}, None),
    ("optimal_radial", {"n_components": 16}, None),
]


def alloy(seed: int = 0):
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(4)
    atoms.symbols = rng.choice(["Ni", "Cu", "Pd", "Ag", "Pt"], len(atoms))
    atoms.positions += rng.normal(scale=0.08, size=atoms.positions.shape)
    return atoms


def elpasolites(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [elpasolite(*rng.choice(ELPASOLITE_ELEMENTS, 4, replace=False)) for _ in range(n)]


def timed(fn, repeats):
    """Median time (s), tracemalloc peak (bytes) and the output of ``fn``."""
    t = median_time(fn, repeats)
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return t, peak, out


def dscribe_soap(species, mode, periodic):
    from dscribe.descriptors import SOAP as DSOAP

    return DSOAP(
        species=species,
        r_cut=R_CUT,
        n_max=N_MAX,
        l_max=L_MAX,
        sigma=SIGMA,
        rbf="gto",
        periodic=periodic,
        compression={"mode": mode},
    )


def row(name, n_atoms, t, peak, length, peer=None):
    rate = n_atoms / t
    ratio = f"{peer / t:8.1f}x" if peer else " " * 9
    print(f"{name:<28}{length:>9}{rate:>12.0f}{peak / 2**20:>10.1f}{ratio}")


def bench_alloy(repeats):
    atoms = alloy()
    species = ["Ni", "Cu", "Pd", "Ag", "Pt"]
    print(
        f"\n(a) rattled fcc alloy, {len(atoms)} atoms, 5 elements, r_cut {R_CUT} Å, "
        f"N={N_MAX}, L={L_MAX}, single thread"
    )
    print(f"{'descriptor':<28}{'length':>9}{'atoms/s':>12}{'peak MiB':>10}{'vs peer':>9}")
    peers = {}
    for _, _, mode in CASES:
        if mode:
            ds = dscribe_soap(species, mode, True)
            t, peak, _ = timed(lambda ds=ds: ds.create(atoms, n_jobs=1), repeats)
            peers[mode] = t
            row(f"DScribe {mode}", len(atoms), t, peak, ds.get_number_of_features())
    for name, opts, mode in CASES:
        soap = SOAP(species, R_CUT, N_MAX, L_MAX, SIGMA, compression=name, **opts)
        if name == "optimal_radial":
            soap.fit([alloy(seed=1)])
        t, peak, _ = timed(lambda s=soap: s.compute(atoms), repeats)
        row(name, len(atoms), t, peak, soap.n_features, peers.get(mode))


def bench_elpasolite(repeats, n_cells):
    frames = elpasolites(n_cells)
    n_atoms = sum(len(a) for a in frames)
    species = list(ELPASOLITE_ELEMENTS)
    print(
        f"\n(b) elpasolite-like, {n_cells} cells, {n_atoms} atoms, 39 elements "
        f"(4 per cell), single thread"
    )
    print(
        f"{'descriptor':<28}{'length':>9}{'atoms/s':>12}{'peak MiB':>10}{'vs peer':>9}"
        f"{'stored B/atom':>15}"
    )
    ref = {}
    for mode in ("off", "mu1nu1"):
        ds = dscribe_soap(species, mode, True)
        t, peak, x = timed(lambda ds=ds: ds.create(frames, n_jobs=1), repeats)
        ref[mode] = (t, x.nbytes / n_atoms)
        row(f"DScribe {mode} (dense)", n_atoms, t, peak, ds.get_number_of_features())
        print(f"{'':>59}{x.nbytes / n_atoms:>15.0f}")
    for name, sparse, mode in [
        ("nu2", True, "off"),
        ("nu1mu1", False, "mu1nu1"),
        ("nu1mu1", True, "mu1nu1"),
        ("random", True, None),
        ("nu1muhat1", False, None),
    ]:
        soap = SOAP(species, R_CUT, N_MAX, L_MAX, SIGMA, compression=name)
        t, peak, F = timed(lambda s=soap, sp=sparse: s.compute(frames, sparse=sp), repeats)
        x = F.values
        stored = (x.data.nbytes + x.indices.nbytes + x.indptr.nbytes) if sparse else x.nbytes
        label = f"{name} ({'sparse' if sparse else 'dense'})"
        row(label, n_atoms, t, peak, soap.n_features, ref[mode][0] if mode else None)
        extra = f"  ({ref['off'][1] / (stored / n_atoms):.0f}x smaller than DScribe off)"
        print(f"{'':>59}{stored / n_atoms:>15.0f}{extra}")
    t_off = ref["off"][0]
    soap = SOAP(species, R_CUT, N_MAX, L_MAX, SIGMA, compression="nu1mu1")
    t, _, _ = timed(lambda: soap.compute(frames, sparse=True), 1)
    print(f"\nnu1mu1 (sparse) vs DScribe full spectrum (off): {t_off / t:.1f}x faster")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cells", type=int, default=10, help="elpasolite cells (10 atoms each)")
    p.add_argument("--skip-alloy", action="store_true")
    args = p.parse_args()
    if not args.skip_alloy:
        bench_alloy(args.repeats)
    bench_elpasolite(args.repeats, args.cells)


if __name__ == "__main__":
    main()
