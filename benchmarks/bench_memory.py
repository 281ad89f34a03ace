"""Peak memory of SOAP values for one big frame, against the size of the output.

Question: how much memory beyond its output does slimsoap need for the values of one large
frame (dense rows and CSR rows), and how long does it take?

Structure: one rattled 5-element fcc frame (Ni, Cu, Pd, Ag, Pt) of 25 × 20 × 10 cubic cells,
20,000 atoms; r_cut 5 Å, n_max 8, l_max 6, σ 0.5 Å, cutoff width 0.5 Å (as bench_soap).
Each case runs in its own process: the frame is built and a small frame computed first
(Numba compilation, caches), then the peak resident memory is reset
(``/proc/self/clear_refs``) and the big frame computed once. Reported: the output's bytes
(dense: the array; CSR: data + indices + indptr), the increase of the peak RSS over the RSS
just before the call, that increase over the output size, the tracemalloc peak (NumPy's
allocations) and the wall time. Threads as bench_soap (``--threads N``, default 1).

Run: ``python benchmarks/bench_memory.py [--threads N] [--atoms-cells 25 20 10]
[--compressions nu2 nu1mu1]``; ``PYTHONPATH`` picks the slimsoap checkout measured.
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


def big_frame(cells):
    import numpy as np
    from ase.build import bulk

    rng = np.random.default_rng(11)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(tuple(cells))
    atoms.symbols = rng.choice(SPECIES, len(atoms))
    atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
    return atoms


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def worker(compression: str, sparse: bool, cells):
    import time
    import tracemalloc

    from slimsoap import SOAP

    atoms = big_frame(cells)
    soap = SOAP(SPECIES, R_CUT, N_MAX, L_MAX, SIGMA, cutoff_width=WIDTH, compression=compression)
    soap.compute(big_frame((2, 2, 2)), sparse=sparse)  # compile, warm caches
    with open("/proc/self/clear_refs", "w") as fh:  # reset the peak RSS (VmHWM) to now
        fh.write("5")
    before = _status_kb("VmRSS")
    tracemalloc.start()
    t0 = time.perf_counter()
    values = soap.compute(atoms, sparse=sparse).values
    seconds = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = _status_kb("VmHWM")
    if sparse:
        out_bytes = values.data.nbytes + values.indices.nbytes + values.indptr.nbytes
    else:
        out_bytes = values.nbytes
    print(
        json.dumps(
            {
                "atoms": len(atoms),
                "seconds": seconds,
                "output_mb": out_bytes / 2**20,
                "rss_before_mb": before / 1024,
                "peak_rss_mb": peak / 1024,
                "increase_mb": (peak - before) / 1024,
                "traced_peak_mb": traced / 2**20,
            }
        )
    )


def main():
    args = sys.argv[1:]
    threads, cells, comps = "1", ["25", "20", "10"], ["nu2", "nu1mu1"]
    if "--threads" in args:
        k = args.index("--threads")
        threads = args[k + 1]
        del args[k : k + 2]
    if "--atoms-cells" in args:
        k = args.index("--atoms-cells")
        cells = args[k + 1 : k + 4]
        del args[k : k + 4]
    if "--compressions" in args:
        k = args.index("--compressions")
        comps = args[k + 1 :]
    env = dict(os.environ, **{v: threads for v in THREAD_VARS})
    print(
        f"one {'×'.join(cells)}-cell 5-element fcc frame, r_cut {R_CUT}, n_max {N_MAX}, "
        f"l_max {L_MAX}; {threads} thread(s); slimsoap from "
        f"{os.environ.get('PYTHONPATH', '(installed)')}"
    )
    print(
        f"{'compression':<12}{'output':<8}{'atoms':>7}{'output MB':>11}{'peak+ MB':>10}"
        f"{'peak+/out':>11}{'traced MB':>11}{'RSS MB':>8}{'s':>7}{'atoms/s':>9}"
    )
    for comp in comps:
        for sparse in (False, True):
            out = subprocess.run(
                [sys.executable, __file__, "--worker", comp, str(int(sparse)), *cells],
                env=env,
                capture_output=True,
                text=True,
            )
            kind = "csr" if sparse else "dense"
            if out.returncode != 0:
                print(f"{comp:<12}{kind:<8} failed:\n{out.stderr[-2000:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{comp:<12}{kind:<8}{r['atoms']:>7}{r['output_mb']:>11.0f}"
                f"{r['increase_mb']:>10.0f}{r['increase_mb'] / r['output_mb']:>11.2f}"
                f"{r['traced_peak_mb']:>11.0f}{r['peak_rss_mb']:>8.0f}{r['seconds']:>7.2f}"
                f"{r['atoms'] / r['seconds']:>9.0f}"
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3] == "1", [int(x) for x in sys.argv[4:7]])
    else:
        main()
