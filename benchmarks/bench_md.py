"""Molecular dynamics with an EMT-trained slimsoap force field (issue 14).

Two measurements (``--parts`` picks some; the cost of a step is ``bench_md_step.py``, the
1,200 K liquid's g(r) ``bench_liquid.py``):

``nve``   — stability: NVE velocity Verlet (1 fs) on a 108-atom 5-metal fcc cell
            (3×3×3 conventional cells, random Ni/Cu/Pd/Ag/Pt, Vegard lattice constant)
            started at twice the target temperature so that equipartition brings it near
            ``--temperature`` (1,000 K); the energy drift is the slope of a straight-line
            fit of E_tot(t), reported in meV/atom/ps, beside the RMS fluctuation.
``eos``   — physics against the reference: fcc lattice constant and bulk modulus of a
            random equimolar NiCuPdAgPt and a CuPt 32-atom cell (Birch–Murnaghan fit, atoms
            kept at their ideal sites), model beside EMT.

The model is the one of ``examples/fit_emt.toml`` (the nu1mu1 benchmark model), fitted
on first use and cached (:func:`cached_model`) unless ``--model`` names one written by
``slimsoap fit``; ``--n-train`` fits on fewer structures for a quick check.

    python benchmarks/bench_md.py --json benchmarks/results/bench_md.json
    python benchmarks/bench_md.py --n-train 60 --steps 50   # quick check
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.eos import EquationOfState
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet

from slimsoap.cli.fit import build_descriptor, build_model, load_data, read_config
from slimsoap.data.gen_alloy import emt_lattice_constant
from slimsoap.data.generators import cache_dir
from slimsoap.models import load as load_model

METALS = ("Ni", "Cu", "Pd", "Ag", "Pt")
ROOT = Path(__file__).resolve().parents[1]


def alloy_cell(repeat: int, seed: int, elements=METALS):
    """A random equimolar fcc cell of ``elements``, 4·repeat³ atoms, Vegard lattice
    constant."""
    rng = np.random.default_rng(seed)
    n = 4 * repeat**3
    symbols = rng.permutation([elements[k % len(elements)] for k in range(n)])
    a = float(np.mean([emt_lattice_constant(s) for s in symbols]))
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(repeat)
    atoms.symbols = symbols
    return atoms


def cached_model(path: str | None = None):
    """The benchmark model: ``path`` if given, else the ``examples/fit_emt.toml`` model
    cached in ``<slimsoap cache>/bench_md/`` (keyed by the config's SHA-256), fitted and
    saved there on first use. Returns ``(model, path)``."""
    if path:
        return load_model(path), Path(path)
    config_path = ROOT / "examples" / "fit_emt.toml"
    digest = hashlib.sha256(config_path.read_bytes()).hexdigest()[:12]
    cached = cache_dir() / "bench_md" / f"fit_emt_{digest}.npz"
    if cached.exists():
        print(f"model: {cached} (cached; delete it to refit)")
        return load_model(cached), cached
    config = read_config(config_path)
    train, _ = load_data(config["data"], config_path.parent)
    model = build_model(config["model"], build_descriptor(config["descriptor"]))
    t0 = time.perf_counter()
    model.fit(train)
    print(f"fitted on {len(train)} structures in {time.perf_counter() - t0:.0f} s: {cached}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    model.save(cached)
    return model, cached


def fitted_model(args):
    if args.model or not args.n_train:
        return cached_model(args.model)[0]
    config = read_config(ROOT / "examples" / "fit_emt.toml")
    config["data"]["n_train"] = args.n_train
    train, _ = load_data(config["data"], ROOT / "examples")
    model = build_model(config["model"], build_descriptor(config["descriptor"]))
    t0 = time.perf_counter()
    model.fit(train)
    print(f"fitted on {len(train)} structures in {time.perf_counter() - t0:.0f} s")
    return model


def bench_nve(model, args) -> dict:
    atoms = alloy_cell(3, args.seed)
    atoms.calc = model.calculator()
    thermalize_momenta(atoms, 2 * args.temperature, rng=np.random.default_rng(args.seed))
    dyn = VelocityVerlet(atoms, timestep=args.dt * units.fs)
    times, totals, temps = [], [], []

    def sample():
        times.append(dyn.get_time() / (1000 * units.fs))  # ps
        totals.append(atoms.get_total_energy())
        temps.append(atoms.get_temperature())

    dyn.attach(sample, interval=args.sample_every)
    t0 = time.perf_counter()
    dyn.run(args.steps)
    wall = time.perf_counter() - t0
    t, e = np.array(times), np.array(totals) / len(atoms)
    slope = np.polyfit(t, e, 1)[0] if len(t) > 2 else float("nan")
    result = {
        "n_atoms": len(atoms),
        "steps": args.steps,
        "dt_fs": args.dt,
        "duration_ps": float(t[-1]),
        "mean_temperature_K": float(np.mean(temps[len(temps) // 2 :])),
        "drift_meV_atom_ps": 1000 * float(slope),
        "rms_fluctuation_meV_atom": 1000 * float(np.std(e - np.polyval(np.polyfit(t, e, 1), t))),
        "max_deviation_meV_atom": 1000 * float(np.abs(e - e[0]).max()),
        "wall_s": wall,
    }
    print(
        f"NVE {len(atoms)} atoms, {args.steps} × {args.dt} fs, <T> "
        f"{result['mean_temperature_K']:.0f} K: drift {result['drift_meV_atom_ps']:+.4f} "
        f"meV/atom/ps, fluctuation {result['rms_fluctuation_meV_atom']:.4f} meV/atom "
        f"({wall:.0f} s)"
    )
    return result


def equation_of_state(atoms, calc) -> tuple[float, float]:
    """Lattice constant (Å) and bulk modulus (GPa) of a cubic fcc supercell from a
    Birch–Murnaghan fit of E(V) at 7 volumes (±3 % in a), atoms at scaled positions."""
    n_cells = len(atoms) / 4
    volumes, energies = [], []
    for scale in np.linspace(0.97, 1.03, 7):
        a = atoms.copy()
        a.set_cell(atoms.cell * scale, scale_atoms=True)
        a.calc = calc
        volumes.append(a.get_volume())
        energies.append(a.get_potential_energy())
    v0, _, bulk_modulus = EquationOfState(volumes, energies, eos="birchmurnaghan").fit()
    return float((v0 / n_cells) ** (1 / 3)), float(bulk_modulus / units.GPa)


def bench_eos(model, args) -> dict:
    out = {}
    for elements in (METALS, ("Cu", "Pt")):
        atoms = alloy_cell(2, args.seed, elements)
        name = "".join(elements)
        a_m, b_m = equation_of_state(atoms, model.calculator())
        a_e, b_e = equation_of_state(atoms, EMT())
        out[name] = {"a_model": a_m, "a_emt": a_e, "B_model_GPa": b_m, "B_emt_GPa": b_e}
        print(
            f"fcc {name} ({len(atoms)} atoms, unrelaxed): a {a_m:.4f} Å vs EMT {a_e:.4f} Å "
            f"({a_m - a_e:+.4f}); B {b_m:.1f} GPa vs EMT {b_e:.1f} GPa ({b_m - b_e:+.1f})"
        )
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="model written by 'slimsoap fit' (else fitted here)")
    p.add_argument("--n-train", type=int, default=None, help="fit on fewer structures")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--dt", type=float, default=1.0, help="fs")
    p.add_argument("--temperature", type=float, default=1000.0, help="K")
    p.add_argument("--sample-every", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parts", nargs="+", choices=("eos", "nve"), default=["eos", "nve"])
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    model = fitted_model(args)
    parts = {"eos": bench_eos, "nve": bench_nve}
    results = {"settings": vars(args)}
    for name in args.parts:
        results[name] = parts[name](model, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
