"""A 1,200 K liquid: g(r) of the EMT-trained model beside EMT's own (issue 14).

Question: does the fitted force field (the ``examples/fit_emt.toml`` nu1mu1 model, trained
on EMT data that include liquids at 1,800–3,000 K) give the liquid structure of the
potential it learnt, at a temperature it was not trained on?

Protocol, identical for every potential (same cell, same seed, so the same initial
momenta and Langevin noise):
  a 108-atom equimolar NiCuPdAgPt fcc cell (``bench_md.alloy_cell(3, seed)``) expanded to
  1.03 × its Vegard lattice constant (~9 % in volume, a liquid's density);
  Langevin NVT (ASE, 2 fs, friction 0.02 fs⁻¹, centre of mass fixed): ``--melt`` steps at
  2,500 K, ``--equilibrate`` steps at 1,200 K, then ``--sample`` steps at 1,200 K with a
  snapshot every ``--every``.
From the snapshots: the total g(r) (bins of ``--dr`` Å up to half the box), its first peak
(parabola through the highest bin), ⟨E_pot⟩ and ⟨P⟩ (virial + kinetic), and the mean
square displacement over the sampling window (a liquid diffuses: several Å²; a solid stays
below ~0.3 Å²). EMT runs twice, with ``seed`` and ``seed + 1``: the difference of those two
g(r) is the sampling noise that the model–EMT difference is to be compared with. The
model is also evaluated on EMT's own snapshots (energy and force errors at 1,200 K).

Writes PREFIX.txt (summary), PREFIX.csv (r, g_model, g_emt, g_emt_seed+1) and PREFIX.png.

    python benchmarks/bench_liquid.py                      # ~5 min (1 thread)
    python benchmarks/bench_liquid.py --sample 100 --equilibrate 50 --melt 50   # smoke run
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from ase import Atoms, units  # noqa: E402
from ase.calculators.emt import EMT  # noqa: E402
from ase.constraints import FixCom  # noqa: E402
from ase.md.langevin import Langevin  # noqa: E402
from ase.md.velocitydistribution import Stationary, thermalize_momenta  # noqa: E402
from bench_md import ROOT, alloy_cell, cached_model  # noqa: E402

from slimsoap.analysis import radial_distribution  # noqa: E402

MELT_K = 2500.0


def run_liquid(calc, args, seed: int) -> dict:
    """Melt, equilibrate and sample the cell with ``calc``; the snapshots and their
    energies, pressures and the mean square displacement."""
    atoms = alloy_cell(3, args.seed)
    atoms.set_cell(atoms.cell * 1.03, scale_atoms=True)
    atoms.calc = calc
    rng = np.random.default_rng(seed)
    thermalize_momenta(atoms, MELT_K, rng=rng)
    Stationary(atoms)
    atoms.set_constraint(FixCom())
    dt = args.dt * units.fs
    dyn = Langevin(atoms, dt, temperature_K=MELT_K, friction=0.02 / units.fs, fixcm=False, rng=rng)
    t0 = time.perf_counter()
    dyn.run(args.melt)
    dyn.set_temperature(temperature_K=args.temperature)
    dyn.run(args.equilibrate)
    frames, unwrapped, e_pot, pressure, temperature = [], [], [], [], []

    def sample():
        unwrapped.append(atoms.positions.copy())  # ASE's integrators do not wrap
        frames.append(
            Atoms(atoms.numbers, atoms.get_positions(wrap=True), cell=atoms.cell, pbc=True)
        )
        e_pot.append(atoms.get_potential_energy() / len(atoms))
        stress = atoms.get_stress(voigt=False, include_ideal_gas=True)
        pressure.append(-np.trace(stress) / 3 / units.GPa)
        temperature.append(atoms.get_temperature())

    dyn.attach(sample, interval=args.every)
    dyn.run(args.sample)
    start, end = unwrapped[0], unwrapped[-1]
    return {
        "frames": frames,
        "e_pot": float(np.mean(e_pot)),
        "pressure": float(np.mean(pressure)),
        "temperature": float(np.mean(temperature)),
        "msd": float(np.mean(np.sum((end - start) ** 2, axis=1))),
        "wall_s": time.perf_counter() - t0,
    }


def model_errors(model, frames: list[Atoms]) -> tuple[float, float]:
    """Energy RMSE (meV/atom) and force-component RMSE (eV/Å) of ``model`` on EMT frames."""
    de, df = [], []
    for snap in frames:
        ref = snap.copy()
        ref.calc = EMT()
        snap = snap.copy()
        snap.calc = model.calculator()
        de.append((snap.get_potential_energy() - ref.get_potential_energy()) / len(snap))
        df.append(snap.get_forces() - ref.get_forces())
    return 1000 * float(np.sqrt(np.mean(np.square(de)))), float(np.sqrt(np.mean(np.square(df))))


def plot(path: Path, r, curves: dict[str, np.ndarray], title: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax, diff = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    names = list(curves)
    for name, style in zip(names, ("-", "--", ":")):
        ax.plot(r, curves[name], style, label=name)
    ax.axhline(1.0, color="0.7", lw=0.5)
    ax.set_ylabel("g(r)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    diff.plot(r, curves[names[0]] - curves[names[1]], "-", label=f"{names[0]} − {names[1]}")
    diff.plot(r, curves[names[2]] - curves[names[1]], ":", label="EMT seed noise")
    diff.axhline(0.0, color="0.7", lw=0.5)
    diff.set_xlabel("r (Å)")
    diff.set_ylabel("Δg")
    diff.legend(fontsize=7)
    fig.savefig(path, dpi=130)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="model file (else the cached examples/fit_emt.toml model)")
    p.add_argument("--temperature", type=float, default=1200.0, help="K")
    p.add_argument("--dt", type=float, default=2.0, help="fs")
    p.add_argument("--melt", type=int, default=200, help="steps at 2,500 K")
    p.add_argument("--equilibrate", type=int, default=400, help="steps at --temperature")
    p.add_argument("--sample", type=int, default=800, help="steps sampled")
    p.add_argument("--every", type=int, default=8, help="steps between snapshots")
    p.add_argument("--dr", type=float, default=0.05, help="bin width, Å")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_md_liquid"))
    args = p.parse_args(argv)
    model, model_path = cached_model(args.model)
    load = os.getloadavg()
    runs = {
        "model": run_liquid(model.calculator(), args, args.seed),
        "EMT": run_liquid(EMT(), args, args.seed),
        f"EMT seed {args.seed + 1}": run_liquid(EMT(), args, args.seed + 1),
    }
    cell = runs["EMT"]["frames"][0].cell
    r_max = (
        np.floor(
            0.5
            * min(
                cell.volume / np.linalg.norm(np.cross(cell[i - 1], cell[i - 2])) for i in range(3)
            )
            / args.dr
        )
        * args.dr
    )
    n_bins = int(round(r_max / args.dr))
    rdfs = {k: radial_distribution(v["frames"], r_max, n_bins) for k, v in runs.items()}
    r = rdfs["EMT"].r
    g = {k: v.g for k, v in rdfs.items()}
    noise_name = f"EMT seed {args.seed + 1}"
    e_rmse, f_rmse = model_errors(model, runs["EMT"]["frames"])
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    n = len(runs["EMT"]["frames"][0])
    lines = [
        f"# python benchmarks/bench_liquid.py (commit {commit}; NUMBA_NUM_THREADS="
        f"{os.environ['NUMBA_NUM_THREADS']}; load average before {load[0]:.1f}, after "
        f"{os.getloadavg()[0]:.1f} on the shared 2-core machine)",
        f"# model: {model_path.name} (examples/fit_emt.toml: nu1mu1 n4 l3 σ 0.2, 450 EMT "
        "structures incl. 15 % liquids at 1,800-3,000 K)",
        f"# {n} atoms NiCuPdAgPt, a = 1.03 × Vegard, Langevin {args.dt} fs, friction 0.02/fs: "
        f"{args.melt} steps at {MELT_K:.0f} K, {args.equilibrate} at {args.temperature:.0f} K, "
        f"{args.sample} sampled every {args.every} ({len(runs['EMT']['frames'])} snapshots), "
        f"g(r) bins {args.dr} Å to {r_max:.2f} Å (half the box)",
        f"{'run':<12} {'<T> K':>7} {'<E_pot> eV/at':>14} {'<P> GPa':>8} {'MSD Å²':>7} "
        f"{'peak r Å':>8} {'peak g':>7} {'wall s':>7}",
    ]
    peaks = {k: v.first_peak(r_min=1.5) for k, v in rdfs.items()}
    for k, run in runs.items():
        lines.append(
            f"{k:<12} {run['temperature']:7.0f} {run['e_pot']:14.4f} {run['pressure']:8.2f} "
            f"{run['msd']:7.2f} {peaks[k][0]:8.3f} {peaks[k][1]:7.3f} {run['wall_s']:7.0f}"
        )
    dg = np.abs(g["model"] - g["EMT"])
    noise = np.abs(g[noise_name] - g["EMT"])
    lines += [
        f"model - EMT:        max |Δg| {dg.max():.3f} at r = {r[dg.argmax()]:.2f} Å, mean |Δg| "
        f"{dg.mean():.4f}; first peak Δr {peaks['model'][0] - peaks['EMT'][0]:+.3f} Å, "
        f"Δg {peaks['model'][1] - peaks['EMT'][1]:+.3f}",
        f"EMT seed noise:     max |Δg| {noise.max():.3f} at r = {r[noise.argmax()]:.2f} Å, "
        f"mean |Δg| {noise.mean():.4f}; first peak Δr "
        f"{peaks[noise_name][0] - peaks['EMT'][0]:+.3f} Å, "
        f"Δg {peaks[noise_name][1] - peaks['EMT'][1]:+.3f}",
        f"model on EMT's {len(runs['EMT']['frames'])} liquid snapshots: energy RMSE "
        f"{e_rmse:.2f} meV/atom, force RMSE {f_rmse:.4f} eV/Å",
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.txt").write_text("\n".join(lines) + "\n")
    np.savetxt(
        f"{out}.csv",
        np.column_stack([r, g["model"], g["EMT"], g[noise_name]]),
        fmt="%.5f",
        delimiter=",",
        header=f"r_A,g_model,g_emt,g_emt_seed{args.seed + 1}",
        comments="",
    )
    plot(Path(f"{out}.png"), r, g, f"{n}-atom NiCuPdAgPt liquid, {args.temperature:.0f} K")
    print("\n".join(lines))
    print(f"wrote {out}.txt, {out}.csv, {out}.png")


if __name__ == "__main__":
    main()
