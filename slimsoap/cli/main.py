"""Command-line interface: ``slimsoap [--debug] <command>``.

Commands are registered by modules that each provide ``add_subparser(subparsers)``; the
handler is stored as the parser default ``func``.

Errors are reported here, once for every command: a user error is one line on stderr,
``slimsoap: error: ...``, with exit status 2 for a bad invocation (flags, values, usage) and 1
for a failure while running (a missing file, a bad structure, a refused allocation); Ctrl-C
prints one line and exits 130. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import socket
import sys
from urllib.parse import urlsplit

from slimsoap._runtime.interrupts import was_interrupted
from slimsoap.cli import UsageError

#: Modules contributing subcommands, one per command group (each defines ``add_subparser``).
COMMAND_MODULES = [
    "slimsoap.cli.demo",
    "slimsoap.cli.data",
    "slimsoap.cli.analysis",
    "slimsoap.cli.recover",
    "slimsoap.cli.study",
    "slimsoap.cli.fit",
    "slimsoap.cli.reproduce",
]

#: Exit statuses.
EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

#: Integer flags (argparse ``dest`` → flag, smallest valid value): counts must be >= 1.
INT_FLAGS = {
    "workers": ("--workers", 1),
    "batch_size": ("--batch-size", 1),
    "n": ("--n", 1),
    "max_frames": ("--max-frames", 1),
    "chunk": ("--chunk", 1),
    "repeats": ("--repeats", 1),
    "n_samples": ("--n-samples", 1),
    "max_environments": ("--max-environments", 1),
    "k": ("--k", 1),
    "bins": ("--bins", 1),
    "spearman_pairs": ("--spearman-pairs", 1),
    "repeat": ("--repeat", 1),
    "train_sizes": ("--train-sizes", 1),
    "n_max": ("--n-max", 1),
    "l_max": ("--l-max", 0),
    "seed": ("--seed", 0),
}
#: Float flags that must be finite and > 0 (argparse's float() accepts "nan", "inf", "-1").
POSITIVE_FLAGS = {"r_cut": "--r-cut", "sigma": "--sigma", "rtol": "--rtol"}

#: Seconds to wait for a TCP connection to a ``--scheduler`` address before giving up.
SCHEDULER_TIMEOUT = 3.0


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (``prog: error: message``), exit 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every registered subcommand."""
    parser = _Parser(
        prog="slimsoap", description="Compressed SOAP/ACSF descriptors and what they keep."
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_subparser(sub)
    return parser


def check_values(args: argparse.Namespace) -> None:
    """Refuse counts below 1 (``--workers 0`` would silently mean every CPU), negative
    seeds and ``--l-max``, and lengths or tolerances that are not finite and positive,
    naming the flag."""
    for dest, (flag, minimum) in INT_FLAGS.items():
        value = getattr(args, dest, None)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, int) and v < minimum for v in values):
            raise UsageError(f"argument {flag}: must be >= {minimum}, got {value}")
    for dest, flag in POSITIVE_FLAGS.items():
        value = getattr(args, dest, None)
        if isinstance(value, float) and not (0 < value < float("inf")):
            raise UsageError(f"argument {flag}: must be a finite number > 0, got {value}")


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT) -> None:
    """Fail fast (``timeout`` seconds) with one line if a Dask scheduler address is unreachable.

    ``"local-cluster"`` starts a cluster here and is not checked. Addresses are
    ``[tcp://]host:port``; other protocols (``inproc``, ``ucx``, ...) are left to Dask.
    """
    if address == "local-cluster":
        return
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise UsageError(
            f"argument --scheduler: {address!r} is not 'local-cluster' or an address "
            "tcp://host:port"
        )
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        reason = err.strerror or str(err) or type(err).__name__
        raise ConnectionError(
            f"cannot reach the Dask scheduler at {address} (--scheduler) within {timeout:g} s: "
            f"{reason}"
        ) from None


def _one_line(err: BaseException) -> str:
    """The message of ``err`` on one line ("FILE: reason" for an OS error; a KeyError's
    repr quotes dropped)."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        return f"{err.filename}: {err.strerror}"
    text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    text = " ".join(str(text).split())
    return text or type(err).__name__


def _report(message: str) -> None:
    print(f"slimsoap: error: {message}", file=sys.stderr)


def _pop_debug(argv: list[str]) -> tuple[bool, list[str]]:
    """Whether ``--debug`` is given anywhere before ``--``, and ``argv`` without it."""
    end = argv.index("--") if "--" in argv else len(argv)
    kept = [a for a in argv[:end] if a != "--debug"]
    return len(kept) < end, kept + argv[end:]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``slimsoap`` console script; returns the exit status.

    ``--debug`` may stand anywhere on the command line (before a ``--``).
    """
    debug, argv = _pop_debug(sys.argv[1:] if argv is None else list(argv))
    try:
        args = build_parser().parse_args(argv)
        check_values(args)
        if getattr(args, "scheduler", None):
            check_scheduler(args.scheduler)
        return args.func(args)
    except KeyboardInterrupt as err:
        if debug:
            raise
        _report(_one_line(err) if str(err) else "interrupted")  # e.g. rows committed
        return EXIT_INTERRUPTED
    except UsageError as err:
        if debug:
            raise
        _report(_one_line(err))
        return EXIT_USAGE
    except (ValueError, TypeError, OSError, KeyError, MemoryError, ImportError) as err:
        if debug:
            raise
        _report(_one_line(err))
        return EXIT_RUNTIME
    except Exception as err:
        if debug:
            raise
        if was_interrupted(err):  # Ctrl-C inside a compiled function
            _report("interrupted")
            return EXIT_INTERRUPTED
        _report(
            f"unexpected {type(err).__name__}: {_one_line(err)} (run again with --debug for "
            "the traceback, and please report it)"
        )
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
