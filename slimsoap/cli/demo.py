"""``slimsoap demo``: every compression on a built-in 5-element alloy cell, summarised."""

from __future__ import annotations

import argparse
import time


def _demo_structure(seed: int, repeat: int):
    import numpy as np
    from ase.build import bulk

    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(repeat)
    atoms.symbols = rng.choice(["Ni", "Cu", "Pd", "Ag", "Pt"], len(atoms))
    atoms.positions += rng.normal(scale=0.08, size=atoms.positions.shape)
    return atoms


def _run_demo(args: argparse.Namespace) -> int:
    """Every compression needing no option or fit, on a built-in alloy cell, summarised."""
    import numpy as np

    from slimsoap.soap import compressions
    from slimsoap.soap.calculator import SOAP

    atoms = _demo_structure(args.seed, args.repeat)
    species = sorted(set(atoms.get_chemical_symbols()))
    print(
        f"built-in structure: rattled fcc alloy, {len(atoms)} atoms, species {species}, "
        f"r_cut={args.r_cut} Å, n_max={args.n_max}, l_max={args.l_max}, sigma={args.sigma} Å"
    )
    print(f"{'compression':<14}{'length':>9}{'nonzero/atom':>14}{'atoms/s':>11}{'|x| mean':>11}")
    for name in compressions.names(needs_fit=False):
        if compressions.get(name).required_options():
            continue  # needs an option chosen for the data (an embedding, groups, ...)
        soap = SOAP(species, args.r_cut, args.n_max, args.l_max, args.sigma, compression=name)
        soap.compute(atoms[:2])  # compile / warm up
        t0 = time.perf_counter()
        x = soap.compute(atoms).values
        dt = time.perf_counter() - t0
        nnz = np.count_nonzero(x) / len(x)
        norm = np.linalg.norm(x, axis=1).mean()
        print(f"{name:<14}{soap.n_features:>9}{nnz:>14.0f}{len(atoms) / dt:>11.0f}{norm:>11.4g}")
    return 0


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """The built-in ``demo`` command."""
    p = subparsers.add_parser("demo", help="descriptors of a built-in alloy cell, summarised")
    p.add_argument("--r-cut", type=float, default=5.0)
    p.add_argument("--n-max", type=int, default=6)
    p.add_argument("--l-max", type=int, default=6)
    p.add_argument("--sigma", type=float, default=0.5)
    p.add_argument("--repeat", type=int, default=3, help="cubic fcc cell repeated (4 atoms each)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_run_demo)
