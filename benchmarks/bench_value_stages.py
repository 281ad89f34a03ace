"""Where slimsoap's values time goes, per stage, on the structure sets of bench_speed (issue 19).

Question: of one ``SOAP.compute(frames)`` (values, 1 thread), what share is the neighbour
search, the radial integrals (spline), the expansion into per-l blocks, the contraction,
the cutoff function, and everything else (Python per-frame work, allocation, batching)?

Each stage is timed by wrapping its kernel entry point in the calling module (thread CPU
time, so other processes on a loaded machine count less): ``neighbour_list`` and
``batch_neighbour_list`` as the calculator calls them, ``quintic_hermite`` (radial),
``expand_blocks`` (expansion), ``packed_values`` (contraction, with the projections X_l W),
``cosine_cutoff``; "other" is the rest of the call. Median over ``--repeats`` calls after a
warm-up, per set and compression; N 8, L 6, r_cut 5 Å, σ 0.5 Å, cutoff width 0.5 Å.

Run: ``python benchmarks/bench_value_stages.py [--sets ...] [--compressions ...]
[--repeats R]`` with ``NUMBA_NUM_THREADS=1`` (set here if unset); the slimsoap imported is
the one on ``PYTHONPATH`` (point it at another checkout to profile that one).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from bench_soap import SIGMA, WIDTH  # noqa: E402
from bench_speed import SETS, structure_set  # noqa: E402

#: (stage, module, function) of the timed entry points.
STAGES = [
    ("neighbours", "slimsoap.soap.calculator", "neighbour_list"),
    ("neighbours", "slimsoap.soap.calculator", "batch_neighbour_list"),
    ("radial", "slimsoap.soap.basis.base", "quintic_hermite"),
    ("expansion", "slimsoap.soap.expansion", "expand_blocks"),
    ("contraction", "slimsoap.soap.contraction", "packed_values"),
    ("cutoff", "slimsoap.soap.expansion", "cosine_cutoff"),
]


def instrument(spent: dict) -> None:
    """Wrap every entry point of :data:`STAGES` so its thread CPU time adds to spent[stage]."""
    import importlib

    for stage, module, name in STAGES:
        mod = importlib.import_module(module)
        inner = getattr(mod, name)

        def timed(*args, _inner=inner, _stage=stage, **kwargs):
            t0 = time.thread_time()
            try:
                return _inner(*args, **kwargs)
            finally:
                spent[_stage] += time.thread_time() - t0

        setattr(mod, name, timed)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    p.add_argument("--compressions", nargs="+", default=["nu2", "nu1mu1"])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    from slimsoap import SOAP

    spent = collections.defaultdict(float)
    instrument(spent)
    names = list(dict.fromkeys(stage for stage, _, _ in STAGES)) + ["other"]
    print(
        f"slimsoap from {os.path.dirname(os.path.dirname(__import__('slimsoap').__file__))}, "
        f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}, thread CPU time, median of "
        f"{args.repeats} calls after a warm-up; share of the call per stage"
    )
    head = f"{'set':<8}{'compression':>12}{'atoms/s':>10}{'ms':>8}"
    print(head + "".join(f"{n:>12}" for n in names))
    for name in args.sets:
        frames, species = structure_set(name, SETS[name])
        n_atoms = sum(len(a) for a in frames)
        for compression in args.compressions:
            soap = SOAP(species, 5.0, 8, 6, SIGMA, cutoff_width=WIDTH, compression=compression)
            soap.compute(frames)
            totals, parts = [], collections.defaultdict(list)
            for _ in range(args.repeats):
                spent.clear()
                t0 = time.thread_time()
                soap.compute(frames)
                totals.append(time.thread_time() - t0)
                for stage in names[:-1]:
                    parts[stage].append(spent[stage])
            total = float(np.median(totals))
            share = {stage: float(np.median(v)) / total for stage, v in parts.items()}
            share["other"] = 1.0 - sum(share.values())
            print(
                f"{name:<8}{compression:>12}{n_atoms / total:>10.0f}{1e3 * total:>8.1f}"
                + "".join(f"{100 * share[n]:>11.1f}%" for n in names)
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
