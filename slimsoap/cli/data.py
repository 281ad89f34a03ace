"""``slimsoap data ...``: summarise a data set, or generate one.

    slimsoap data summary PATH [--format FMT] [--r-cut 5.0] [--max-frames N] [--json]
    slimsoap data generate alloy|amino|elpasolite [--n N] [--seed S] [--out PATH]
                                                  [--cache DIR] [--elements A B ...]
                                                  [--energies] [--overwrite]

PATH may be ``qm9pack`` for the QM9 set shipped by the ``qm9pack`` package.
"""

from __future__ import annotations

import argparse
import itertools
import json

from slimsoap.cli import UsageError
from slimsoap.data.generators import GENERATORS
from slimsoap.data.readers import FORMATS


def add_subparser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``data`` command (with ``summary`` and ``generate``) to ``subparsers``."""
    parser = subparsers.add_parser("data", help="summarise or generate data sets")
    sub = parser.add_subparsers(dest="data_command", required=True)

    summ = sub.add_parser("summary", help="elements, counts, S_env and energy range of a file")
    summ.add_argument("path", help="data file or directory, or 'qm9pack'")
    summ.add_argument("--format", choices=sorted(FORMATS), default=None)
    summ.add_argument("--r-cut", type=float, default=5.0, help="S_env cutoff in Å")
    summ.add_argument("--max-frames", type=int, default=None, help="read only the first N")
    summ.add_argument("--json", action="store_true", help="print the summary as JSON")

    gen = sub.add_parser("generate", help="build (or find in the cache) a generated set")
    gen.add_argument("kind", choices=sorted(GENERATORS))
    gen.add_argument("--n", type=int, default=None, help="number of configurations")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--out", default=None, help="output extxyz (default: in the cache)")
    gen.add_argument("--cache", default=None, help="cache directory ($SLIMSOAP_CACHE)")
    gen.add_argument("--elements", nargs="+", default=None, help="alloy/elpasolite elements")
    gen.add_argument("--energies", action="store_true", help="elpasolite GFN1-xTB proxy")
    gen.add_argument(
        "--overwrite",
        action="store_true",
        help="rebuild even if cached or --out exists (a NAME.json beside --out that slimsoap "
        "did not write is never replaced)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Execute a parsed ``slimsoap data`` command; returns the exit status."""
    if args.data_command == "summary":
        from slimsoap.data.readers import read_frames
        from slimsoap.data.summary import format_summary, summarize

        frames = read_frames(args.path, format=args.format)
        if args.max_frames is not None:
            frames = itertools.islice(frames, args.max_frames)
        result = summarize(frames, r_cut=args.r_cut)
        print(json.dumps(result, indent=2) if args.json else format_summary(result))
        return 0
    options = {}
    if args.elements is not None:
        if args.kind == "amino":
            raise UsageError("argument --elements: applies to alloy and elpasolite only")
        options["elements"] = args.elements
    if args.energies:
        if args.kind != "elpasolite":
            raise UsageError("argument --energies: applies to elpasolite only")
        options["energies"] = True
    from slimsoap.data.generators import generate

    path = generate(
        args.kind,
        n=args.n,
        seed=args.seed,
        cache=args.cache,
        out=args.out,
        overwrite=args.overwrite,
        **options,
    )
    print(path)
    return 0
