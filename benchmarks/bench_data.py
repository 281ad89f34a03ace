"""How long does the default alloy set (2,000 EMT configurations) take to build?

Generates the set into a temporary directory (never the user cache), reads it back, and
prints the wall time, the count per config type, the file size and its SHA-256 (which
must not change between runs with the same seed). Optionally times a small amino-acid
(GFN2-xTB) and elpasolite set too.

    python benchmarks/bench_data.py [--n 2000] [--seed 0] [--amino 20] [--elpasolite 200]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from collections import Counter

from slimsoap.data.generators import generate
from slimsoap.data.readers import read_frames


def _time(kind: str, n: int, seed: int, directory: str) -> None:
    start = time.perf_counter()
    path = generate(kind, n=n, seed=seed, cache=directory)
    elapsed = time.perf_counter() - start
    frames = list(read_frames(path))
    types = Counter(f.info["config_type"] for f in frames)
    atoms = sum(len(f) for f in frames)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    print(
        f"{kind}: {len(frames)} configurations, {atoms} atoms in {elapsed:.1f} s "
        f"({len(frames) / elapsed:.1f} configurations/s)"
    )
    print(f"  file {path.stat().st_size / 1e6:.1f} MB, sha256 {digest}")
    print("  config types: " + ", ".join(f"{k} {v}" for k, v in sorted(types.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="alloy configurations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amino", type=int, default=0, help="also time this many amino")
    parser.add_argument("--elpasolite", type=int, default=0, help="and this many elpasolites")
    args = parser.parse_args()
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"CPU cores visible: {os.cpu_count()}, OMP_NUM_THREADS={threads}")
    with tempfile.TemporaryDirectory() as directory:
        _time("alloy", args.n, args.seed, directory)
        if args.amino:
            _time("amino", args.amino, args.seed, directory)
        if args.elpasolite:
            _time("elpasolite", args.elpasolite, args.seed, directory)


if __name__ == "__main__":
    main()
