"""``slimsoap imbalance`` and ``slimsoap distance-correlation``: compare stored descriptors.

Inputs are descriptor arrays, one row per environment, in the same order in every file:
``.npy`` arrays, or ``.npz`` files holding ``values`` (dense) or ``data``/``indices``/
``indptr``/``shape`` (CSR, as :func:`slimsoap.recovery.write_features` writes them), or a
single array.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from slimsoap.analysis import distance_correlation, imbalance_plane

_CSR_KEYS = {"data", "indices", "indptr", "shape"}


def load_descriptor(path: str | Path) -> np.ndarray | sp.csr_matrix:
    """Descriptor array stored in ``path`` (.npy or .npz, see the module docstring)."""
    path = Path(path)
    if path.suffix == ".npy":
        return np.load(path)
    if path.suffix != ".npz":
        raise ValueError(f"{path}: expected a .npy or .npz file")
    with np.load(path) as z:
        keys = set(z.files)
        if "values" in keys:
            return z["values"]
        if _CSR_KEYS <= keys:
            return sp.csr_matrix(
                (z["data"], z["indices"], z["indptr"]), shape=tuple(int(s) for s in z["shape"])
            )
        if len(keys) == 1:
            return z[keys.pop()]
    raise ValueError(f"{path}: no 'values' array, no CSR arrays and not one array: {sorted(keys)}")


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``imbalance`` and ``distance-correlation`` commands."""
    p = subparsers.add_parser(
        "imbalance", help="information imbalance of descriptors against a reference"
    )
    p.add_argument("reference", help="reference descriptor (.npy/.npz), e.g. nu2")
    p.add_argument("descriptors", nargs="+", help="descriptors to compare (.npy/.npz)")
    p.add_argument("--k", type=int, default=1, help="nearest neighbours averaged over")
    p.add_argument("--n-samples", type=int, default=None, help="environments per repeat")
    p.add_argument("--repeats", type=int, default=1, help="random subsets (needs --n-samples)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="write the imbalance plane to this file (.png/.pdf)")
    p.set_defaults(func=run_imbalance)

    p = subparsers.add_parser(
        "distance-correlation", help="distance-distance and rank-rank correlation of two"
    )
    p.add_argument("a", help="first descriptor (x axis), .npy/.npz")
    p.add_argument("b", help="second descriptor (y axis), .npy/.npz")
    p.add_argument("--bins", type=int, default=100)
    p.add_argument("--spearman-pairs", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="file prefix: writes PREFIX_distance.png and PREFIX_rank.png")
    p.set_defaults(func=run_distance_correlation)


def run_imbalance(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap imbalance``: prints one row per descriptor."""
    reference = load_descriptor(args.reference)
    descriptors = {Path(p).stem: load_descriptor(p) for p in args.descriptors}
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
    result = distance_correlation(
        load_descriptor(args.a),
        load_descriptor(args.b),
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
