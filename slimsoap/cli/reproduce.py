"""``slimsoap reproduce``: regenerate the paper's figures and tables, each claim checked.

    slimsoap reproduce [--quick] [--only fig4 fig7 ...] [--out DIR] [--no-progress]

Writes ``DIR/report.html`` (claims table on top), ``DIR/report.json`` and one PNG and one
CSV per section under ``DIR/<section>/``; features are cached in ``DIR/features`` and each
section's result in ``DIR/<section>/section.json``, so a re-run continues where it stopped.
"""

from __future__ import annotations

import argparse

from slimsoap.cli import UsageError
from slimsoap.study.reproduce import SECTION_KEYS


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``reproduce`` command."""
    p = subparsers.add_parser(
        "reproduce",
        help="regenerate the paper's figures and tables with each claim checked (report.html)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="small data and bases: a few minutes on two cores (default: the full run, hours)",
    )
    p.add_argument(
        "--only", nargs="+", default=None, metavar="SECTION",
        help=f"sections to run (default all): {' '.join(SECTION_KEYS)}",
    )  # fmt: skip
    p.add_argument("--out", default="slimsoap-reproduce", help="output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress lines")
    p.set_defaults(func=run_reproduce_command)


def run_reproduce_command(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap reproduce``."""
    unknown = [k for k in args.only or () if k not in SECTION_KEYS]
    if unknown:
        raise UsageError(
            f"argument --only: unknown section(s) {' '.join(unknown)}; valid: "
            f"{' '.join(SECTION_KEYS)}"
        )
    from slimsoap.study.reproduce.context import ReproduceConfig
    from slimsoap.study.reproduce.runner import run_reproduce

    config = ReproduceConfig.quick() if args.quick else ReproduceConfig.full()
    path, _ = run_reproduce(args.out, config, args.only, progress=not args.no_progress)
    print(f"report: {path}")
    return 0
