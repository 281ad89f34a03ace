"""``slimsoap recover``: rebuild full ν=2 spectra from stored lossless compressions.

Input: an ``.npz`` written by :func:`slimsoap.recovery.write_features` (compressed values
plus the calculator, seed included). Output: an ``.npz`` of the same kind holding the full
spectra and the ``nu2`` calculator, plus ``rank`` and ``condition`` arrays (n_env, L+1).
With ``--original`` (an ``.npz`` of directly computed ``nu2`` features) the recovery error
is printed.
"""

from __future__ import annotations

import argparse

import numpy as np

from slimsoap.soap import compressions
from slimsoap.soap.recovery import nu2_calculator, read_features, recover, write_features


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``recover`` command."""
    lossless = " / ".join(compressions.names(recoverable=True))
    p = subparsers.add_parser("recover", help=f"full nu2 spectra from stored {lossless} features")
    p.add_argument("input", help="compressed features (.npz from write_features)")
    p.add_argument("output", help="where to write the recovered full spectra (.npz)")
    p.add_argument("--original", help="directly computed nu2 features (.npz), to report errors")
    p.add_argument(
        "--rtol",
        type=float,
        default=None,
        help="relative eigenvalue tolerance (default 1e5 x machine epsilon)",
    )
    p.add_argument("--chunk", type=int, default=4096, help="environments processed at once")
    p.set_defaults(func=run_recover)


def run_recover(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap recover``; returns the exit status."""
    x, soap = read_features(args.input)
    full, report = recover(x, soap, rtol=args.rtol, return_report=True, chunk=args.chunk)
    target = nu2_calculator(soap)
    write_features(args.output, full, target)
    with np.load(args.output) as z:
        saved = dict(z)
    np.savez(args.output, **saved, rank=report.rank, condition=report.condition)
    print(
        f"{soap.compression} (seed {soap.seed}): {x.shape[0]} environments, "
        f"{soap.n_features} -> {target.n_features} features"
    )
    print(report.summary())
    if args.original:
        ref, ref_soap = read_features(args.original)
        ref = ref.toarray() if hasattr(ref, "toarray") else ref
        if ref.shape != full.shape or ref_soap.to_dict() != target.to_dict():
            print(
                f"--original does not match: shape {ref.shape}, calculator "
                f"{ref_soap.compression!r}; expected {full.shape} from nu2 with the same "
                "hyper-parameters"
            )
            return 2
        err = np.abs(full - ref).max() / max(np.abs(ref).max(), np.finfo(float).tiny)
        print(f"max relative recovery error: {err:.3e}")
    print(f"wrote {args.output}")
    return 0
