"""Bit-identity check for refactors: SHA-256 of every output on the benchmark structures.

Question: does a change keep every number slimsoap computes bit for bit? Computes values,
dense gradients, sparse (species-block) gradients and strain gradients for every compression
of the vocabulary and ACSF on a spread of structures (256-atom 5-element fcc as in
bench_soap, rattled 1- and 4-atom cells, small molecules in one batch, a 2-D slab), and
writes (or compares against) a JSON of hashes.

Run: ``python benchmarks/hashes.py record OUT.json`` before a change, then
``python benchmarks/hashes.py compare OUT.json`` after it; ``compare`` prints every key that
differs and exits 1 if any does. Hashes are of the raw bytes, so they are only comparable on
one machine (same CPU, NumPy, Numba and thread count: run with NUMBA_NUM_THREADS=1).
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
from ase.build import bulk, fcc111, molecule

SPECIES = ["H", "C", "N", "O", "Ni", "Cu", "Pd", "Ag", "Pt"]
METALS = ["Ni", "Cu", "Pd", "Ag", "Pt"]

#: (compression, options) of every vocabulary entry (small N, L so gradients stay small).
CASES = [
    ("nu2", {}),
    ("nu1mu1", {}),
    ("mu2", {}),
    ("nu1nuhat1", {}),
    ("nu1muhat1", {}),
    ("nuhat1mu1", {}),
    ("mu1muhat1", {}),
    ("nuhat2", {}),
    ("nuhat1muhat1", {}),
    ("muhat2", {"projection": "sum"}),
    ("nu1mustar1", {}),
    ("random", {"seed": 3}),
    ("random_sym", {"seed": 3}),
    ("embed", {"embedding": "periodic_table"}),
    ("species_diagonal", {}),
    ("diagonal_radial", {}),
    ("species_groups", {"groups": [["H", "C", "N", "O"], ["Ni", "Cu", "Pd", "Ag", "Pt"]]}),
    ("tensor_reduced", {"n_channels": 4}),
    ("optimal_radial", {"n_components": 4}),
]


def structures() -> dict:
    rng = np.random.default_rng(7)
    big = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(4)
    big.symbols = rng.choice(METALS, len(big))
    big.positions += rng.normal(scale=0.1, size=big.positions.shape)
    small = []
    for n in (1, 4):
        for _ in range(3):
            a = bulk("Cu", "fcc", a=3.6, cubic=n == 4)
            a.symbols = rng.choice(METALS, len(a))
            a.positions += rng.normal(scale=0.05, size=a.positions.shape)
            small.append(a)
    mols = [molecule(m) for m in ("CH4", "H2O", "NH3", "C2H6", "CH3OH", "HCN")]
    slab = fcc111("Cu", (2, 2, 3), vacuum=5.0)
    slab.symbols = rng.choice(METALS, len(slab))
    return {"fcc256": [big], "small_cells": small, "molecules": mols, "slab": [slab]}


def digest(a) -> str:
    if hasattr(a, "tocsr") and not isinstance(a, np.ndarray) and hasattr(a, "indptr"):
        parts = [a.indptr, a.indices, a.data]
    elif hasattr(a, "pattern") and hasattr(a, "start"):
        parts = [a.data, a.start, a.pattern]
    else:
        parts = [np.ascontiguousarray(a)]
    h = hashlib.sha256()
    for p in parts:
        h.update(np.ascontiguousarray(p).tobytes())
    return h.hexdigest()[:16]


def record() -> dict:
    import slimsoap

    out = {}
    frames = structures()
    for name, options in CASES:
        big = dict(n_max=4, l_max=3) if name != "nu2" else dict(n_max=8, l_max=6)
        for key, fr in frames.items():
            params = dict(n_max=3, l_max=2) if key != "fcc256" else big
            soap = slimsoap.SOAP(SPECIES, 4.0, sigma=0.5, compression=name, **params, **options)
            if name == "optimal_radial":
                soap.fit(frames["molecules"] + frames["small_cells"])
            tag = f"{name}/{key}"
            out[f"{tag}/values"] = digest(soap.compute(fr).values)
            if key == "fcc256" and name == "nu2":
                continue  # the 256-atom ν=2 (N 8, L 6) gradient rows are 1.5 GB
            g = soap.compute(fr, gradients=True)
            out[f"{tag}/pairs"] = digest(g.gradient_pairs)
            out[f"{tag}/gradients"] = digest(g.gradients)
            out[f"{tag}/strain"] = digest(g.strain_gradients)
            s = soap.compute(fr, gradients=True, sparse=True)
            out[f"{tag}/sparse_values"] = digest(s.values)
            out[f"{tag}/sparse_gradients"] = digest(s.gradients)
            out[f"{tag}/sparse_strain"] = digest(s.strain_gradients)
            # without strain the gradient kernel takes another path (images grouped)
            g = soap.compute(fr, gradients=True, sparse=True, strain=False)
            out[f"{tag}/sparse_no_strain"] = digest(g.gradients)
    for comp in ("nu2", "nu1mu1", "mu2", "weighted"):
        acsf = slimsoap.ACSF.preset("behler", SPECIES, 5.0, compression=comp)
        for key, fr in frames.items():
            g = acsf.compute(fr, gradients=True)
            out[f"acsf-{comp}/{key}/values"] = digest(g.values)
            out[f"acsf-{comp}/{key}/gradients"] = digest(g.gradients)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("record", "compare"):
        print(__doc__)
        return 2
    now = record()
    if argv[0] == "record":
        with open(argv[1], "w") as fh:
            json.dump(now, fh, indent=1, sort_keys=True)
        print(f"{len(now)} hashes written to {argv[1]}")
        return 0
    with open(argv[1]) as fh:
        before = json.load(fh)
    bad = [k for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]
    for k in bad:
        print(f"DIFFERS {k}: {before.get(k)} -> {now.get(k)}")
    print(f"{len(before)} recorded, {len(now)} now, {len(bad)} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
