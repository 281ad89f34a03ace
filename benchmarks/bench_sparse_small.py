"""CSR values (``sparse=True``) of many small periodic frames with many elements (issue 19).

Question: how fast is ``SOAP.compute(frames, sparse=True)`` on the kind of set sparse output
is for, many small cells of a few elements each out of many, and at what peak memory?

Sets: ``metals8``, 300 rattled 4-atom fcc cells of the 8 metals of bench_speed, every site
drawn from all 8; ``elements39``, 300 rattled 8-atom cells, each of 4 elements drawn from
the 39 elements Li..Y (the elpasolite scale). N 8, L 6, r_cut 5 Å, ν=2. One subprocess per
(set, code), every code on ``--threads`` threads, one warm-up, then the median of
``--repeats`` calls; peak RSS of the subprocess.

Run: ``python benchmarks/bench_sparse_small.py [--threads N] [--repeats R]
[--baseline PATH]``; ``--baseline`` adds ``slimsoap@base``, the checkout at PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

SETS = ("metals8", "elements39")
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")

WORKER = r"""
import json, resource, sys, time
import numpy as np
from ase.build import bulk
from ase.data import chemical_symbols
import slimsoap

name, repeats = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
if name == "metals8":
    species = ["Ni", "Cu", "Pd", "Ag", "Pt", "Au", "Al", "Rh"]
    base, pick = bulk("Cu", "fcc", a=3.7, cubic=True), lambda: species
else:
    species = chemical_symbols[3:42]
    base = bulk("Cu", "fcc", a=4.0, cubic=True).repeat((2, 1, 1))
    pick = lambda: rng.choice(species, 4, replace=False)
frames = []
for _ in range(300):
    a = base.copy()
    a.symbols = rng.choice(pick(), len(a))
    a.positions += rng.normal(scale=0.05, size=a.positions.shape)
    frames.append(a)
soap = slimsoap.SOAP(species, 5.0, 8, 6)
soap.compute(frames[:10], sparse=True)
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    x = soap.compute(frames, sparse=True).values
    times.append(time.perf_counter() - t0)
n = sum(len(a) for a in frames)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"atoms_s": n / float(np.median(times)), "nnz_row": x.nnz / x.shape[0],
                  "peak_mb": peak}))
"""


def run(name: str, path: str, threads: str, repeats: int) -> dict:
    env = dict(os.environ, PYTHONPATH=path, **{v: threads for v in THREAD_VARS})
    out = subprocess.run(
        [sys.executable, "-P", "-c", WORKER, name, str(repeats)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", default="1")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--baseline", default=None, help="another slimsoap checkout")
    args = p.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    codes = {"slimsoap": here} | ({"slimsoap@base": args.baseline} if args.baseline else {})
    print(f"CSR values, {args.threads} thread(s), median of {args.repeats} after a warm-up")
    print(f"{'set':12s} {'code':14s} {'atoms/s':>9s} {'nnz/row':>8s} {'peak MB':>8s}")
    for name in SETS:
        for code, path in codes.items():
            r = run(name, path, args.threads, args.repeats)
            print(f"{name:12s} {code:14s} {r['atoms_s']:9.0f} {r['nnz_row']:8.0f} "
                  f"{r['peak_mb']:8.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
