"""Command-line interface: ``slimsoap <command>``.

Commands are registered by modules that each provide ``add_subparser(subparsers)``; the
handler is stored as the parser default ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Modules contributing subcommands, one per command group (each defines ``add_subparser``).
COMMAND_MODULES = [
    "slimsoap.cli.demo",
    "slimsoap.cli.data",
    "slimsoap.cli.analysis",
    "slimsoap.cli.recover",
    "slimsoap.cli.study",
    "slimsoap.cli.fit",
]


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="slimsoap", description="Compressed SOAP/ACSF descriptors and what they keep."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_subparser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``slimsoap`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
