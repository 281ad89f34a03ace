"""Scale-out of ``slimsoap featurize``: one process against a Dask LocalCluster (issue 19).

Question: does a LocalCluster of K single-threaded workers featurise K times faster than one
process, with the client's memory flat as the number of frames grows tenfold, and the same
store? (Target 5: ≥ 1.8× with 2 workers; the store byte-identical to the local run.)

Each configuration runs in a fresh Python process that does what ``slimsoap featurize
INPUT --compression nu2 --species ... [--scheduler local-cluster --workers K]`` does (the
input indexed by :class:`slimsoap.study.sources.ExtxyzFrames`, so workers read their own
frames; with ``--before REPO``, the same run of that checkout's code, which streams frames
through the client), and reports its wall time (cluster start-up separately), its own peak
RSS (``ru_maxrss`` of the client process alone: workers are other processes) and a SHA-256
over every file of the store. Data: ``generate("alloy", n=1500, seed=0)`` (EMT alloys, 7
elements), repeated for larger sizes. Configurations are interleaved over repeats; medians.

Run: ``python benchmarks/bench_scale.py [--frames 1500 15000] [--workers 1 2] [--repeat 3]
[--before /work/main] [--out benchmarks/results/bench_scale.txt]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HYPER = {"r_cut": 5.0, "n_max": 8, "l_max": 6, "sigma": 0.5}
SPECIES = ["Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"]

#: The measured run, in a fresh process: argv = [input, store, workers (0: local), batch].
HARNESS = r"""
import hashlib, json, os, resource, sys, time
t_import = time.perf_counter()
from slimsoap import SOAP
from slimsoap.study.featurize import featurize, make_client
try:
    from slimsoap.study.sources import ExtxyzFrames as frames_of
except ImportError:  # the code before issue 19: frames stream through the client
    from slimsoap.data import read_frames as frames_of
data, out, workers, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
hyper, species = json.loads(sys.argv[5]), json.loads(sys.argv[6])
soap = SOAP(species, hyper["r_cut"], hyper["n_max"], hyper["l_max"], hyper["sigma"])
t0 = time.perf_counter()
with make_client("local-cluster" if workers else None, workers or None) as client:
    t1 = time.perf_counter()
    store = featurize(frames_of(data), soap, out, batch_size=batch, client=client, progress=False)
    t2 = time.perf_counter()
t3 = time.perf_counter()
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
h, size = hashlib.sha256(), 0
for root, dirs, files in sorted(os.walk(out)):
    dirs.sort()
    for name in sorted(files):
        path = os.path.join(root, name)
        h.update(os.path.relpath(path, out).encode())
        with open(path, "rb") as fh:
            blob = fh.read()
        h.update(blob)
        size += len(blob)
print("BENCH " + json.dumps({
    "start": t1 - t0, "featurize": t2 - t1, "total": t3 - t0,
    "rss_mb": me.ru_maxrss / 1024, "cpu_client": me.ru_utime + me.ru_stime,
    "cpu_workers": kids.ru_utime + kids.ru_stime,
    "rows": store.n_rows, "frames": store.n_frames, "features": store.n_features,
    "sha": h.hexdigest()[:16], "store_mb": size / 2**20}))
"""


def _data(n: int, root: Path) -> Path:
    from slimsoap.data import generate, read_frames, write_extxyz

    base = generate("alloy", n=1500, seed=0, out=root / "alloy1500.extxyz")
    if n == 1500:
        return base
    path = root / f"alloy{n}.extxyz"
    if not path.exists():
        frames = list(read_frames(base))
        write_extxyz(path, (frames * (n // 1500 + 1))[:n])
    return path


def _run(repo: Path, data: Path, workers: int, batch: int, scratch: Path) -> dict:
    out = scratch / "store.zarr"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(repo), "NUMBA_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}  # fmt: skip
    load = os.getloadavg()[0]
    argv = [str(data), str(out), str(workers), str(batch), json.dumps(HYPER), json.dumps(SPECIES)]
    done = subprocess.run(  # not in a checkout: "-c" puts the working directory on sys.path
        [sys.executable, "-c", HARNESS, *argv], capture_output=True, text=True, env=env,
        cwd=scratch,
    )  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"run failed ({repo}, {workers} workers):\n{done.stderr[-3000:]}")
    return {**json.loads(lines[-1][6:]), "load": load}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    p.add_argument("--frames", type=int, nargs="+", default=[1500])
    p.add_argument("--workers", type=int, nargs="+", default=[2], help="LocalCluster sizes")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--before", type=Path, default=None, help="checkout of the code before")
    p.add_argument("--scratch", type=Path, default=None, help="directory for data and stores")
    p.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = p.parse_args(argv)
    here = Path(__file__).resolve().parents[1]
    repos = [("after", here)] + ([("before", args.before.resolve())] if args.before else [])
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="bench_scale_"))
    scratch.mkdir(parents=True, exist_ok=True)
    lines = [
        f"bench_scale: slimsoap featurize, nu2 N {HYPER['n_max']} L {HYPER['l_max']} r_cut "
        f"{HYPER['r_cut']} (dense), {len(SPECIES)} elements, batch {args.batch_size}; "
        f"{os.cpu_count()} CPUs, 1 thread per process; medians of {args.repeat}",
        "columns: total = wall of the run (cluster start + featurize + close), start = "
        "LocalCluster start-up, feat = featurize alone; speed-up = local total / total (and "
        "feat / feat); client RSS = peak of the client process (workers excluded); load = "
        "1-min load average when the run started; CPU s = CPU time of the client + of its "
        "worker processes (independent of the machine's load: parallel overhead shows there)",
        "",
        f"{'code':6} {'frames':>6} {'rows':>7} {'mode':>9} {'total s':>8} {'start s':>7} "
        f"{'feat s':>7} {'speed-up':>11} {'CPU s':>11} {'client RSS MB':>13} {'load':>5}  "
        "store sha256",
    ]
    print("\n".join(lines), flush=True)
    for n in args.frames:
        data = _data(n, scratch)
        configs = [(name, repo, w) for name, repo in repos for w in [0, *args.workers]]
        runs = {c[::2]: [] for c in configs}
        for _ in range(args.repeat):
            for name, repo, w in configs:  # interleaved
                runs[(name, w)].append(_run(repo, data, w, args.batch_size, scratch))
        for name, _, w in configs:
            rs = runs[(name, w)]
            keys = ("total", "start", "featurize", "rss_mb", "load", "cpu_client", "cpu_workers")
            med = {k: statistics.median(r[k] for r in rs) for k in keys}
            local = {k: statistics.median(r[k] for r in runs[(name, 0)]) for k in
                     ("total", "featurize")}  # fmt: skip
            shas = sorted({r["sha"] for r in rs})
            speed = (
                f"{local['total'] / med['total']:.2f}/{local['featurize'] / med['featurize']:.2f}"
            )
            mode = "local" if w == 0 else f"LC {w}w"
            line = (
                f"{name:6} {n:>6} {rs[0]['rows']:>7} {mode:>9} {med['total']:>8.1f} "
                f"{med['start']:>7.1f} {med['featurize']:>7.1f} {speed:>11} "
                f"{med['cpu_client']:>5.0f}+{med['cpu_workers']:<5.0f} "
                f"{med['rss_mb']:>13.0f} {med['load']:>5.1f}  {','.join(shas)}"
            )
            lines.append(line)
            print(line, flush=True)
    lines.append("")
    lines.append(f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
