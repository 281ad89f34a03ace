"""``slimsoap study`` and ``slimsoap featurize``: the whole comparison, and featurisation.

    slimsoap study [--data alloy|qm9|PATH] [--n N] [--compressions NAME ...] [--out DIR]
                   [--scheduler ADDRESS|local-cluster] [--workers K] [--quick] ...
    slimsoap featurize INPUT --compression NAME --out STORE.zarr [--species El ...]
                       [--gradients] [--sparse] [--scheduler ADDRESS|local-cluster] ...

INPUT is anything :func:`slimsoap.data.read_frames` reads (extxyz, ASE db, XSF, QM9 xyz, or
``qm9pack``).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

from slimsoap.study.run import DEFAULT_COMPRESSIONS, QUICK, StudyConfig


def _add_soap_options(p: argparse.ArgumentParser, defaults: dict[str, str]) -> None:
    """SOAP, batching and Dask flags; ``defaults`` gives the help text of each default."""
    p.add_argument("--r-cut", type=float, help=f"cutoff, Å ({defaults['r_cut']})")
    p.add_argument("--n-max", type=int, help=f"radial functions ({defaults['n_max']})")
    p.add_argument("--l-max", type=int, help=f"largest l ({defaults['l_max']})")
    p.add_argument("--sigma", type=float, help="Gaussian width, Å (0.5)")
    p.add_argument("--seed", type=int, help="seed of the data and of random maps (0)")
    p.add_argument(
        "--batch-size", type=int, help=f"frames per batch / Dask task ({defaults['batch_size']})"
    )
    p.add_argument(
        "--scheduler",
        help="'local-cluster' (Dask LocalCluster on this machine) or a Dask scheduler "
        "address (tcp://host:8786); default: compute in this process",
    )
    p.add_argument("--workers", type=int, help="workers of --scheduler local-cluster (CPUs)")


def _defaults(quick: bool) -> dict[str, str]:
    base = StudyConfig()
    out = {}
    for key in ("r_cut", "n_max", "l_max", "batch_size"):
        text = f"default {getattr(base, key)}"
        out[key] = text + (f"; --quick {QUICK[key]}" if quick and key in QUICK else "")
    return out


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``study`` and ``featurize`` commands to ``subparsers``."""
    p = subparsers.add_parser(
        "study",
        help="compare compressions on a data set: lengths, timings, correlations, "
        "information imbalance, recovery, learning curves, figures",
    )
    p.add_argument(
        "--data", default="alloy", help="'alloy' (generated EMT alloys), 'qm9' or a data file"
    )
    p.add_argument("--n", type=int, default=None, help="frames (alloy 500, qm9 1000, file: all)")
    p.add_argument(
        "--compressions",
        nargs="+",
        default=list(DEFAULT_COMPRESSIONS),
        help="SOAP compressions (nu2, the reference, is always included)",
    )
    p.add_argument("--out", default="slimsoap-study", help="output directory")
    p.add_argument(
        "--quick",
        action="store_true",
        help="small settings for a first look, under a minute: "
        + ", ".join(f"{k}={v}" for k, v in QUICK.items())
        + " (other flags override them)",
    )
    _add_soap_options(p, _defaults(quick=True))
    p.add_argument("--max-environments", type=int, default=None, help="for correlations (2000)")
    p.add_argument("--train-sizes", type=int, nargs="+", default=None, help="learning curve")
    p.add_argument("--repeats", type=int, default=None, help="draws per training size (5)")
    p.add_argument("--cache", default=None, help="cache of generated data ($SLIMSOAP_CACHE)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--no-chemiscope", action="store_true", help="no chemiscope files (one per compression)"
    )
    p.set_defaults(func=run_study_command)

    f = subparsers.add_parser(
        "featurize",
        help="descriptors of a data set into a zarr store (an interrupted run resumes when "
        "the same command is given again)",
    )
    f.add_argument("input", help="data file or directory (read_frames), or 'qm9pack'")
    f.add_argument("--compression", default="nu2", help="SOAP compression (nu2)")
    f.add_argument("--out", required=True, help="output store directory (STORE.zarr)")
    f.add_argument(
        "--calculator",
        default=None,
        help="a calculator file (slimsoap.io.save_calculator .npz, or its to_dict() as "
        ".json); overrides the SOAP flags",
    )
    f.add_argument("--species", nargs="+", default=None, help="elements (default: scan INPUT)")
    f.add_argument("--n", type=int, default=None, help="only the first N frames")
    f.add_argument(
        "--gradients",
        action="store_true",
        help="also store ∂x/∂r (dense; with --sparse species-block rows)",
    )
    f.add_argument(
        "--sparse",
        action="store_true",
        help="store values as CSR (with --gradients: species-block gradient rows)",
    )
    f.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing slimsoap store (anything else at --out is refused); "
        "without it, a store from the same command is resumed",
    )
    _add_soap_options(f, {**_defaults(quick=False), "batch_size": "default 64"})
    f.add_argument("--no-progress", action="store_true", help="no progress bar")
    f.set_defaults(func=run_featurize_command)


def study_config(args: argparse.Namespace) -> StudyConfig:
    """The :class:`StudyConfig` of parsed ``study`` arguments."""
    given = {
        "data": args.data,
        "n": args.n,
        "compressions": tuple(args.compressions),
        "out": args.out,
        "r_cut": args.r_cut,
        "n_max": args.n_max,
        "l_max": args.l_max,
        "sigma": args.sigma,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "scheduler": args.scheduler,
        "n_workers": args.workers,
        "max_environments": args.max_environments,
        "train_sizes": None if args.train_sizes is None else tuple(args.train_sizes),
        "n_repeats": args.repeats,
        "cache": args.cache,
        "progress": not args.no_progress,
        "chemiscope": not args.no_chemiscope,
    }
    given = {k: v for k, v in given.items() if v is not None}
    return StudyConfig.quick(**given) if args.quick else StudyConfig(**given)


def run_study_command(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap study``."""
    from slimsoap.study.run import run_study

    out = run_study(study_config(args))
    print(f"results in {out}/ (see README.txt and summary.json)")
    return 0


def _frames(args):
    from slimsoap.data import read_frames

    frames = read_frames(args.input)
    return frames if args.n is None else itertools.islice(frames, args.n)


def _calculator(args):
    from slimsoap.io import load_calculator
    from slimsoap.soap.calculator import SOAP

    if args.calculator is not None:
        return load_calculator(args.calculator)
    species = args.species
    if species is None:
        print("scanning the input for its elements (pass --species to skip) ...", flush=True)
        species = sorted({int(z) for atoms in _frames(args) for z in atoms.numbers})
    seed = {} if args.seed is None else {"seed": args.seed}
    base = StudyConfig()
    hyper = [
        base.r_cut if args.r_cut is None else args.r_cut,
        base.n_max if args.n_max is None else args.n_max,
        base.l_max if args.l_max is None else args.l_max,
        base.sigma if args.sigma is None else args.sigma,
    ]
    return SOAP(species, *hyper, compression=args.compression, **seed)


def _say_if_resuming(args: argparse.Namespace) -> None:
    """One line when ``--out`` holds a store that this run will try to continue."""
    from slimsoap.io.store import FeatureStore

    if args.overwrite or not (Path(args.out) / "zarr.json").is_file():
        return
    try:
        store = FeatureStore.open(args.out)
    except ValueError:
        return  # featurize refuses it with the reason
    print(f"resuming {args.out}: {store.n_frames} frames committed", flush=True)


def _indexed_or_streamed(args):
    """The input as an index of its frames when it is an extxyz file (Dask workers then
    read their batches themselves), else as a stream of frames."""
    from slimsoap.study.sources import indexed_frames

    return indexed_frames(args.input, args.n) or _frames(args)


def run_featurize_command(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap featurize``: an existing store of the same command is resumed."""
    from slimsoap.study.featurize import featurize, make_client

    calc = _calculator(args)
    _say_if_resuming(args)
    t0 = time.perf_counter()
    with make_client(args.scheduler, args.workers) as client:
        store = featurize(
            _indexed_or_streamed(args),
            calc,
            args.out,
            batch_size=args.batch_size or 64,
            client=client,
            gradients=args.gradients,
            sparse=args.sparse,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    seconds = time.perf_counter() - t0
    print(
        f"{store.path}: {store.n_frames} frames, {store.n_rows} environments x "
        f"{store.n_features} features ({calc.compression}), {seconds:.1f} s"
    )
    return 0
