"""Timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

import json
import subprocess
import sys
import time

import numpy as np


def median_time(fn, repeats: int, warmup: bool = True, clock: str = "wall") -> float:
    """Median time (s) of ``repeats`` calls of ``fn``, after one untimed warm-up call
    (Numba compilation, caches) unless ``warmup`` is False; ``clock`` ``"wall"`` or
    ``"cpu"`` (process CPU time: all threads added up)."""
    timer = {"wall": time.perf_counter, "cpu": time.process_time}[clock]
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        t0 = timer()
        fn()
        times.append(timer() - t0)
    return float(np.median(times))


def run_worker(script: str, spec: dict, env: dict) -> dict | None:
    """Run ``python script --worker SPEC`` (SPEC as JSON) in a fresh process with ``env``;
    the JSON of its last stdout line, or None (its stderr printed) if it failed."""
    out = subprocess.run(
        [sys.executable, script, "--worker", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        print(f"{spec} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_row(results: list[dict | None]) -> dict | None:
    """Per-key medians of the rounds of one code (None if any round failed)."""
    if any(r is None for r in results):
        return None
    return {k: float(np.median([r[k] for r in results])) for k in results[0]}


def dgemm_gflops() -> float:
    """This machine's single-thread dgemm rate (1000³, the BLAS NumPy uses), the practical
    peak the kernels' rates are set against (GFLOP/s)."""
    a = np.random.default_rng(0).random((1000, 1000))
    a @ a
    t = time.perf_counter()
    a @ a
    return 2.0 / (time.perf_counter() - t)
