"""``slimsoap recover``: rebuild full ν=2 spectra from stored lossless compressions.

Input: anything :func:`slimsoap.io.load_features` reads that carries its calculator (seed
included): a zarr store from ``slimsoap featurize`` or an ``.npz`` from
:func:`slimsoap.io.write_features`. Output: an ``.npz`` feature file holding the full
spectra and the ``nu2`` calculator, with the extra per-row arrays ``rank`` and
``condition`` (n_env, L+1). With ``--original`` (directly computed ``nu2`` features, any
such format) the recovery error is printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from slimsoap.cli import UsageError
from slimsoap.soap import compressions


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``recover`` command."""
    lossless = " / ".join(compressions.names(recoverable=True))
    p = subparsers.add_parser("recover", help=f"full nu2 spectra from stored {lossless} features")
    p.add_argument("input", help="compressed features: a store (.zarr) or an .npz feature file")
    p.add_argument("output", help="where to write the recovered full spectra (a new .npz)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace OUTPUT if it exists (not INPUT)"
    )
    p.add_argument("--original", help="directly computed nu2 features (.zarr/.npz), for errors")
    p.add_argument(
        "--rtol",
        type=float,
        default=None,
        help="relative eigenvalue tolerance (default 100 × machine epsilon of the features' dtype)",
    )
    p.add_argument("--chunk", type=int, default=4096, help="environments processed at once")
    p.set_defaults(func=run_recover)


def run_recover(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap recover``; returns the exit status."""
    import numpy as np

    from slimsoap._arrays import dense
    from slimsoap.features import Features
    from slimsoap.io import write_features
    from slimsoap.soap.recovery import nu2_calculator, recover

    _check_output(args)
    features, soap = _with_calculator(args.input)
    x = features.values
    full, report = recover(x, soap, rtol=args.rtol, return_report=True, chunk=args.chunk)
    target = nu2_calculator(soap)
    extra = {"rank": report.rank, "condition": report.condition}
    write_features(args.output, Features(full, features.frame_index), target, extra=extra)
    print(
        f"{soap.compression} (seed {soap.seed}): {x.shape[0]} environments, "
        f"{soap.n_features} -> {target.n_features} features"
    )
    print(report.summary())
    if args.original:
        original, ref_soap = _with_calculator(args.original)
        ref = dense(original.values)
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


def _check_output(args: argparse.Namespace) -> None:
    """Refuse an output that is not a new ``.npz`` (or, with ``--overwrite``, an existing
    file other than the inputs)."""
    out = Path(args.output)
    if out.suffix != ".npz":
        raise UsageError(f"argument output: must be an .npz file name, got {args.output!r}")
    for flag, given in (("input", args.input), ("--original", args.original)):
        if given is not None and out.resolve() == Path(given).resolve():
            raise UsageError(f"argument output: is the {flag} file {given!r}; name a new file")
    if out.is_dir():
        raise UsageError(f"argument output: {args.output!r} is a directory")
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{args.output!r} exists; pass --overwrite to replace it")


def _with_calculator(path: str):
    """(features, calculator) of ``path``; a file without its calculator cannot be used."""
    from slimsoap.io import load_features

    features, calc = load_features(path)
    if calc is None:
        raise ValueError(
            f"{path}: holds no calculator; recovery needs the one that made the features "
            "(its seed defines the maps): use a feature store or an .npz from write_features"
        )
    return features, calc
