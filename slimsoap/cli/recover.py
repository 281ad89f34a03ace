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

import numpy as np

from slimsoap.features import Features
from slimsoap.io import load_features, write_features
from slimsoap.soap.recovery import nu2_calculator, recover


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``recover`` command."""
    p = subparsers.add_parser(
        "recover", help="full nu2 spectra from stored random / random_sym / nu1mustar1 features"
    )
    p.add_argument("input", help="compressed features: a store (.zarr) or an .npz feature file")
    p.add_argument("output", help="where to write the recovered full spectra (.npz)")
    p.add_argument("--original", help="directly computed nu2 features (.zarr/.npz), for errors")
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
        ref = original.values
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


def _with_calculator(path: str):
    """(features, calculator) of ``path``; a file without its calculator cannot be used."""
    features, calc = load_features(path)
    if calc is None:
        raise ValueError(
            f"{path}: holds no calculator; recovery needs the one that made the features "
            "(its seed defines the maps): use a feature store or an .npz from write_features"
        )
    return features, calc
