"""``slimsoap imbalance`` and ``slimsoap distance-correlation``: compare stored descriptors.

Inputs are anything :func:`slimsoap.io.load_features` reads, one row per environment, in
the same order in every file: zarr feature stores (``slimsoap featurize``), ``.npz``
feature files (:func:`slimsoap.io.write_features`) or plain ``.npy``/one-array ``.npz``
descriptor arrays from any code.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp


def _values(path: str) -> np.ndarray | sp.csr_matrix:
    """The descriptor rows stored at ``path``."""
    from slimsoap.io import load_features

    return load_features(path)[0].values


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``imbalance`` and ``distance-correlation`` commands."""
    p = subparsers.add_parser(
        "imbalance", help="information imbalance of descriptors against a reference"
    )
    p.add_argument("reference", help="reference descriptor (.zarr/.npz/.npy), e.g. nu2")
    p.add_argument("descriptors", nargs="+", help="descriptors to compare (.zarr/.npz/.npy)")
    p.add_argument("--k", type=int, default=1, help="nearest neighbours averaged over")
    p.add_argument("--n-samples", type=int, default=None, help="environments per repeat")
    p.add_argument("--repeats", type=int, default=1, help="random subsets (needs --n-samples)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="write the imbalance plane to this file (.png/.pdf)")
    p.set_defaults(func=run_imbalance)

    p = subparsers.add_parser(
        "distance-correlation", help="distance-distance and rank-rank correlation of two"
    )
    p.add_argument("a", help="first descriptor (x axis), .zarr/.npz/.npy")
    p.add_argument("b", help="second descriptor (y axis), .zarr/.npz/.npy")
    p.add_argument("--bins", type=int, default=100)
    p.add_argument("--spearman-pairs", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="file prefix: writes PREFIX_distance.png and PREFIX_rank.png")
    p.set_defaults(func=run_distance_correlation)


def run_imbalance(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap imbalance``: prints one row per descriptor."""
    from slimsoap.analysis import imbalance_plane

    reference = _values(args.reference)
    descriptors = {Path(p).stem: _values(p) for p in args.descriptors}
    plane = imbalance_plane(
        reference,
        descriptors,
        k=args.k,
        n_samples=args.n_samples,
        n_repeats=args.repeats,
        seed=args.seed,
    )
    ref = Path(args.reference).stem
    print(f"{plane.n_samples} environments per repeat, {args.repeats} repeat(s), k = {plane.k}")
    print(f"{'descriptor':<24}{f'D({ref}->d)':>16}{'+-':>10}{f'D(d->{ref})':>16}{'+-':>10}")
    for i, name in enumerate(plane.names):
        print(
            f"{name:<24}{plane.from_reference[i]:>16.4f}{plane.from_reference_err[i]:>10.4f}"
            f"{plane.to_reference[i]:>16.4f}{plane.to_reference_err[i]:>10.4f}"
        )
    if args.plot:
        from slimsoap.analysis.plots import plot_imbalance_plane

        print(f"wrote {plot_imbalance_plane(plane, args.plot, reference_name=ref)}")
    return 0


def run_distance_correlation(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap distance-correlation``: prints the coefficients."""
    from slimsoap.analysis import distance_correlation

    result = distance_correlation(
        _values(args.a),
        _values(args.b),
        bins=args.bins,
        spearman_pairs=args.spearman_pairs,
        seed=args.seed,
    )
    print(f"{result.n_environments} environments")
    print(f"distance Pearson  {result.pearson:.4f}")
    print(f"distance Spearman {result.spearman:.4f} ({result.spearman_pairs} pairs)")
    print(f"rank correlation  {result.rank_pearson:.4f}")
    if args.plot:
        from slimsoap.analysis.plots import plot_distance_correlation

        names = (Path(args.a).stem, Path(args.b).stem)
        for kind in ("distance", "rank"):
            out = plot_distance_correlation(
                result, f"{args.plot}_{kind}.png", kind=kind, names=names
            )
            print(f"wrote {out}")
    return 0
