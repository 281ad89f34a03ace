"""Pages written from the code at build time: the CLI reference and the compression tables.

Run from ``docs/conf.py``; the output directory (``docs/_generated``) is not tracked.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

#: Width of the generated ``--help`` text (argparse reads $COLUMNS).
HELP_WIDTH = 80


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subparsers of ``parser`` by name, in registration order."""
    return {
        name: sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    }


def _literal(text: str) -> list[str]:
    lines = text.rstrip().splitlines()
    return [".. code-block:: text", "", *("    " + line if line else "" for line in lines), ""]


def _command_sections(parser: argparse.ArgumentParser, level: int) -> list[str]:
    marks = "=-~^"
    lines = []
    for sub in _subcommands(parser).values():
        title = f"``{sub.prog}``"
        lines += [title, marks[level] * len(title), ""]
        lines += _literal(sub.format_help())
        lines += _command_sections(sub, level + 1)
    return lines


def cli_reference() -> str:
    """reStructuredText of every command's ``--help``, from ``build_parser()``."""
    from slimsoap.cli.main import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)
    try:
        parser = build_parser()
        lines = [
            "Command-line reference",
            "======================",
            "",
            "Generated from :func:`slimsoap.cli.main.build_parser` at each build: the text",
            "below is what ``slimsoap <command> --help`` prints. A user error is one line on",
            "stderr (exit status 2 for a bad invocation, 1 for a failure while running,",
            "130 on Ctrl-C); ``--debug`` shows the traceback instead.",
            "",
            "``slimsoap``",
            "------------",
            "",
            *_literal(parser.format_help()),
            *_command_sections(parser, 1),
        ]
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: list[list[str]], widths: str) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return lines + [""]


def compression_table() -> str:
    """reStructuredText table of the registered SOAP and ACSF compressions."""
    from slimsoap.acsf import compressions as acsf_compressions
    from slimsoap.soap import compressions

    def yes(flag: bool) -> str:
        return "yes" if flag else ""

    rows = []
    for name in compressions.names():
        spec = compressions.get(name)
        options = ", ".join(f"``{o}``" for o in spec.option_names())
        rows.append(
            [
                f"``{name}``",
                spec.description,
                options,
                yes(spec.recoverable),
                yes(spec.needs_fit),
                yes(spec.seeded),
            ]
        )
    header = ["name", "descriptor", "options", "recoverable", "needs fit", "seeded"]
    acsf_rows = [
        [f"``{n}``", acsf_compressions.get(n).description] for n in acsf_compressions.names()
    ]
    return "\n".join(
        [
            ".. SOAP compressions, written from slimsoap.soap.compressions at build time.",
            "",
            *_table(header, rows, "16 44 18 8 7 7"),
            "ACSF compressions (:mod:`slimsoap.acsf.compressions`):",
            "",
            *_table(["name", "descriptor"], acsf_rows, "16 84"),
        ]
    )


def write_all(out: Path) -> None:
    """Write the generated pages into ``out`` (only files whose text changed, so that
    Sphinx does not rebuild them needlessly)."""
    out.mkdir(exist_ok=True)
    for name, text in {"cli.rst": cli_reference(), "compressions.rst": compression_table()}.items():
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
