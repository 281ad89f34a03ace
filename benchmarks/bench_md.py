"""Molecular dynamics with an EMT-trained slimsoap force field (issue 14).

Three measurements (``--parts`` picks some):

``nve``   — stability: NVE velocity Verlet (1 fs) on a 108-atom 5-metal fcc cell
            (3×3×3 conventional cells, random Ni/Cu/Pd/Ag/Pt, Vegard lattice constant)
            started at twice the target temperature so that equipartition brings it near
            ``--temperature`` (1,000 K); the energy drift is the slope of a straight-line
            fit of E_tot(t), reported in meV/atom/ps, beside the RMS fluctuation.
``step``  — cost: one energy + forces + stress evaluation (a new geometry each time) on a
            256-atom 5-metal cell (4×4×4), ms per step, for each ``--threads`` count,
            beside ASE's EMT on the same cell.
``eos``   — physics against the reference: fcc lattice constant and bulk modulus of a
            random equimolar NiCuPdAgPt and a CuPt 32-atom cell (Birch–Murnaghan fit, atoms
            kept at their ideal sites), model beside EMT.

Run with ``NUMBA_NUM_THREADS`` at least ``max(--threads)`` (and OMP_NUM_THREADS=1 so that
NumPy's BLAS does not add threads of its own). The model is the one of
``examples/fit_emt.toml`` (the nu1mu1 benchmark model), fitted here unless ``--model``
names one written by ``slimsoap fit``; ``--n-train`` fits on fewer structures for a quick
check.

    python benchmarks/bench_md.py --json benchmarks/results/bench_md.json
    python benchmarks/bench_md.py --n-train 60 --steps 50 --repeat 3   # quick check
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numba
import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.eos import EquationOfState
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet

from slimsoap.cli.fit import build_descriptor, build_model, load_data, read_config
from slimsoap.data.gen_alloy import emt_lattice_constant
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


def fitted_model(args):
    if args.model:
        return load_model(args.model)
    config = read_config(ROOT / "examples" / "fit_emt.toml")
    if args.n_train:
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


def time_steps(atoms, calc, repeat: int) -> float:
    """Median ms of energy + forces + stress at ``repeat`` new geometries."""
    rng = np.random.default_rng(0)
    atoms = atoms.copy()
    atoms.calc = calc
    atoms.rattle(0.05, rng=rng)
    atoms.get_stress()  # warm-up (JIT, caches)
    base = atoms.positions.copy()
    samples = []
    for _ in range(repeat):
        atoms.positions = base + rng.normal(scale=0.01, size=base.shape)
        t0 = time.perf_counter()
        atoms.get_potential_energy()
        atoms.get_forces()
        atoms.get_stress()
        samples.append(time.perf_counter() - t0)
    return 1000 * float(np.median(samples))


def bench_step(model, args) -> dict:
    atoms = alloy_cell(4, args.seed)
    out = {"n_atoms": len(atoms), "emt_ms": time_steps(atoms, EMT(), args.repeat)}
    for threads in args.threads:
        numba.set_num_threads(threads)
        out[f"slimsoap_ms_{threads}_threads"] = time_steps(atoms, model.calculator(), args.repeat)
    print(
        f"step (E+F+stress) on {len(atoms)} atoms: EMT {out['emt_ms']:.1f} ms; "
        + "; ".join(
            f"slimsoap {t} thread(s) {out[f'slimsoap_ms_{t}_threads']:.1f} ms" for t in args.threads
        )
    )
    return out


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
    p.add_argument("--repeat", type=int, default=20, help="timed steps per setting")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--parts", nargs="+", choices=("eos", "nve", "step"), default=["eos", "nve", "step"]
    )
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    if "step" in args.parts and max(args.threads) > numba.config.NUMBA_NUM_THREADS:
        raise SystemExit(
            f"--threads {max(args.threads)} exceeds NUMBA_NUM_THREADS="
            f"{numba.config.NUMBA_NUM_THREADS}: set it at least that high"
        )
    model = fitted_model(args)
    parts = {"eos": bench_eos, "nve": bench_nve, "step": bench_step}
    results = {"settings": vars(args)}
    for name in args.parts:
        results[name] = parts[name](model, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
