"""SOAP with GAP's radial basis, single thread: slimsoap vs quippy, the nine (nu_R, nu_S).

Question: does slimsoap (``radial_basis="gaussian"``, ``projection="sum"``) compute each of
GAP's generalised SOAP descriptors at least 2x faster than quippy's ``soap``, with the same
numbers (checked here, after the fixed factors of tests/peers/test_quippy_soap.py)?

Systems (same structures and hyper-parameters for both codes):
  (a) values: 256-atom 5-element rattled fcc alloy (Cu, Ag, Au, Ni, Pd), periodic,
      r_cut 5 Å, n_max 8, l_max 6, σ 0.5 Å, cutoff width 0.5 Å, normalise=F;
  (b) values + position gradients: the same alloy, 32 atoms, n_max 6, l_max 4 (quippy's
      gradients are dense per neighbour image, so (a) would need gigabytes).

Run:  python benchmarks/bench_quippy.py [--repeats 3]
Throughput is atoms (centres) per second, median over repeats, after one warm-up call.
"""

from __future__ import annotations

import os

os.environ["NUMBA_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from ase.build import bulk  # noqa: E402
from quippy.descriptors import Descriptor  # noqa: E402
from timing import median_time  # noqa: E402

from slimsoap import SOAP  # noqa: E402

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "peers")]  # the conventions live with the peer test
from test_quippy_soap import GAP_SETTINGS, gap_columns  # noqa: E402

METALS = ["Cu", "Ag", "Au", "Ni", "Pd"]


def alloy(repeat: int):
    rng = np.random.default_rng(0)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(repeat)
    atoms.symbols = rng.choice(METALS, len(atoms))
    atoms.rattle(0.1, seed=1)
    return atoms


def run_case(name, atoms, hyper, gradients, repeats):
    rows = []
    for nu, compression in sorted(GAP_SETTINGS.items(), reverse=True):
        ours = SOAP(METALS, radial_basis="gaussian", compression=compression,
                    projection="sum", **hyper)  # fmt: skip
        z = " ".join(str(z) for z in ours.species_z)
        peer = Descriptor(
            f"soap cutoff={hyper['r_cut']} l_max={hyper['l_max']} n_max={hyper['n_max']} "
            f"atom_sigma={hyper['sigma']} cutoff_transition_width={hyper['cutoff_width']} "
            f"normalise=F n_species={len(METALS)} species_Z={{{z}}} nu_R={nu[0]} nu_S={nu[1]}"
        )
        cols, scale = gap_columns(ours)
        ref = peer.calc(atoms)["data"][:, :-1]
        mine = ours.compute(atoms).values[:, cols] * scale
        err = np.abs(mine - ref).max() / np.abs(ref).max()
        assert err < 1e-8, f"{compression}: differs from quippy by {err:.1e}"
        t_peer = median_time(lambda peer=peer: peer.calc(atoms, grad=gradients), repeats)
        t_ours = median_time(lambda ours=ours: ours.compute(atoms, gradients=gradients), repeats)
        rows.append((name, f"({nu[0]},{nu[1]})", compression, ours.n_features, err,
                     len(atoms) / t_peer, len(atoms) / t_ours, t_peer / t_ours))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    common = dict(sigma=0.5, cutoff_width=0.5, center_weight=1.0, r_cut=5.0)
    rows = run_case("(a) values", alloy(4), dict(n_max=8, l_max=6, **common), False,
                    args.repeats)  # fmt: skip
    rows += run_case("(b) +grad", alloy(2), dict(n_max=6, l_max=4, **common), True,
                     args.repeats)  # fmt: skip
    print("single thread; throughput in atoms/s (median); err = max |Δ| / max |quippy|")
    head = ("system", "nu_R,S", "compression", "length", "err", "quippy", "slimsoap", "ratio")
    print("{:<11} {:>7} {:<13} {:>7} {:>8} {:>9} {:>9} {:>6}".format(*head))
    for r in rows:
        print("{:<11} {:>7} {:<13} {:>7} {:>8.1e} {:>9.0f} {:>9.0f} {:>5.1f}x".format(*r))


if __name__ == "__main__":
    main()
