"""Information imbalance at scale: N = 20,000 environments, 5,000-long descriptors.

Question: does the blocked, exact information imbalance fit in memory (well under 24 GB; a
dense N×N float64 distance matrix alone is 3.2 GB per descriptor, and argsorting it another
3.2 GB) and run in minutes on 2 cores?

Data: two "random-ish" descriptors of the same environments, random projections of a shared
30-dimensional latent space to 5,000 features plus full-rank noise; B sees the latent space
only through a nonlinear map of 20 of its coordinates, so Δ(A→B) < Δ(B→A).

The work is two (N × N × n_features) matrix products (one per descriptor), so the script
also times one BLAS dgemm of the same shape per block and prints the achieved fraction.

Measured (this dev VM, 2 cores shared with ~6 other jobs, load average 5-7, OpenBLAS 2
threads): 480 s wall, 180 s user + 17 s system CPU for the whole script (the process got 39%
of the machine), peak RSS 3.4 GiB of which 1.5 GiB are the inputs and 1.7 GiB allocated
inside information_imbalance (centred copies of the inputs + blocks). The two dgemms are
8·10¹² flops ≈ 44 GFLOP per CPU-second, i.e. at the dgemm rate: on two idle cores expect
about 100 s. Δ(A→B) = 0.0684, Δ(B→A) = 0.1605.
Measured again on the idle machine (load 0.7, OpenBLAS 2 threads): 88.6 s for the imbalance
(96 s wall for the script), 90 GFLOP/s = 86% of the dgemm rate, 1.71 GiB allocated inside,
peak RSS 3.36 GiB.

Usage: python benchmarks/bench_imbalance.py [--n 20000] [--features 5000] [--k 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np

from slimsoap.analysis import information_imbalance
from slimsoap.analysis.distances import block_rows


def make_descriptors(n: int, features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 30))
    a = z @ rng.normal(size=(30, features))
    a += 0.05 * rng.standard_normal(size=a.shape)
    b = np.tanh(z[:, :20] @ rng.normal(size=(20, 20)) / 4.0) @ rng.normal(size=(20, features))
    b += 0.05 * rng.standard_normal(size=b.shape)
    return a, b


def thread_report() -> str:
    parts = [f"cpu_count={os.cpu_count()}"]
    try:
        from threadpoolctl import threadpool_info

        parts += [f"{i['internal_api']}={i['num_threads']}" for i in threadpool_info()]
    except ImportError:
        parts.append("threadpoolctl not installed")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        parts.append(f"{var}={os.environ.get(var, 'unset')}")
    return ", ".join(parts)


def gemm_rate(a: np.ndarray, rows: int) -> float:
    """GFLOP/s of one block-shaped product a[:rows] @ a.T on this machine, now."""
    t = time.perf_counter()
    _ = a[:rows] @ a.T
    return 2.0 * rows * a.shape[0] * a.shape[1] / (time.perf_counter() - t) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=5_000)
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"threads: {thread_report()}")
    print(f"load average before: {os.getloadavg()}")
    t0 = time.perf_counter()
    a, b = make_descriptors(args.n, args.features, args.seed)
    print(
        f"data: 2 x ({args.n}, {args.features}) float64 = {2 * a.nbytes / 2**30:.2f} GiB, "
        f"made in {time.perf_counter() - t0:.1f} s"
    )
    rows = block_rows(args.n, args.n, None, n_arrays=2)
    rate = gemm_rate(a, rows)
    print(f"block: {rows} rows; one block dgemm runs at {rate:.1f} GFLOP/s now")

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    tracemalloc.start()
    t0 = time.perf_counter()
    a_to_b, b_to_a = information_imbalance(a, b, k=args.k)
    elapsed = time.perf_counter() - t0
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    flops = 2 * 2.0 * args.n**2 * args.features
    dense = args.n**2 * 8 / 2**30
    print()
    print(
        "| N | features | k | Δ(A→B) | Δ(B→A) | time (s) | GFLOP/s | of dgemm | "
        "extra peak (GiB) | process peak RSS (GiB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.n} | {args.features} | {args.k} | {a_to_b:.4f} | {b_to_a:.4f} | "
        f"{elapsed:.1f} | {flops / elapsed / 1e9:.1f} | {flops / elapsed / 1e9 / rate:.0%} | "
        f"{traced_peak / 2**30:.2f} | {max(rss_peak, rss_before):.2f} |"
    )
    print()
    print(
        f"extra peak = memory allocated inside information_imbalance (tracemalloc); "
        f"a dense N×N float64 matrix would be {dense:.2f} GiB per descriptor"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
