"""A 1,200 K liquid: g(r) of the EMT-trained model beside EMT's own (issue 14).

Question: does the fitted force field (the ``examples/fit_emt.toml`` nu1mu1 model, trained
on EMT data that include fixed-volume liquids at 1,800–3,000 K) give the liquid structure
of the potential it learnt, at a temperature and pressure it was not trained on?

System: a 108-atom Cu₆₀Ag₄₀ cell (``--composition``; 65 Cu + 43 Ag on a random fcc
3×3×3 cell at 1.06 × the Vegard lattice constant). An equimolar NiCuPdAgPt cell does not
melt under EMT at a liquid's density (it recrystallises at 1,200 K within ~1 ps); Ag–Cu
(a deep eutectic) stays liquid over the whole window at 1,200 K. It is a supercooled
liquid there: in EMT solid–liquid coexistence runs at 1,200 K (216 atoms, half fcc, half
melted, NPT) the crystal grows, for pure Cu, pure Ag and the Cu₆₀Ag₄₀ solid solution.

Protocol (every run NPT at zero pressure: ASE's ``LangevinBAOAB``, hydrostatic cell,
Langevin time ``--t-tau`` and barostat time ``--p-tau``, ``--dt`` time step):
  1. melt with EMT: ``--melt`` steps at ``--melt-temperature`` (2,000 K) from the fcc cell;
  2. from that melt, each potential on its own forces: ``--equilibrate`` steps at
     ``--temperature`` (the density relaxes to that potential's own at P = 0), then
     ``--sample`` steps with a snapshot every ``--every``.
The model and EMT start from the same melt with the same random stream, so they differ
only by their forces; EMT runs a second time from its own melt with ``seed + 1``, and the
difference of the two EMT g(r) is the sampling noise the model–EMT difference is to be
compared with.

Reported per run: ⟨T⟩, ⟨V⟩/atom, ⟨E_pot⟩, ⟨P⟩ (virial + kinetic); the mean square
displacement MSD(t) over the window and the diffusion coefficient D = slope/6 of a straight
line through MSD(t) for t ≥ ``--fit-from`` ps; that it stays a liquid: the MSD of each
third of the window (equal thirds: no slowing down) and g(r) of the first and last thirds
(max |Δg| between them); g(r) (bins of ``--dr`` Å to half the mean box), its first peak
(parabola through the highest bin), the first minimum and the second peak. The model is
also evaluated on EMT's snapshots: energy, force and pressure errors at 1,200 K.

Writes PREFIX.txt (summary), PREFIX.csv (r, g_model, g_emt, g_emt_seed+1) and PREFIX.png
(g(r), the differences, MSD(t)).

    python benchmarks/bench_liquid.py    # 1 thread: model 30 min, EMT 2 × 7-12 min (load 3-11)
    python benchmarks/bench_liquid.py --sample 100 --equilibrate 50 --melt 50   # smoke run
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from ase import Atoms, units  # noqa: E402
from ase.build import bulk  # noqa: E402
from ase.calculators.emt import EMT  # noqa: E402
from ase.md.langevinbaoab import LangevinBAOAB  # noqa: E402
from ase.md.velocitydistribution import Stationary, thermalize_momenta  # noqa: E402
from bench_md import ROOT, cached_model  # noqa: E402

from slimsoap.analysis import radial_distribution  # noqa: E402
from slimsoap.data.gen_alloy import emt_lattice_constant  # noqa: E402


def parse_composition(text: str) -> dict[str, float]:
    """``"Cu:0.6,Ag:0.4"`` → ``{"Cu": 0.6, "Ag": 0.4}`` (fractions normalised to 1)."""
    try:
        pairs = [item.split(":") for item in text.split(",")]
        comp = {symbol.strip(): float(x) for symbol, x in pairs}
    except ValueError as err:
        raise ValueError(f"composition must read like 'Cu:0.6,Ag:0.4', got {text!r}") from err
    total = sum(comp.values())
    if total <= 0 or min(comp.values()) < 0:
        raise ValueError(f"composition fractions must be ≥ 0 and sum > 0, got {text!r}")
    return {k: v / total for k, v in comp.items()}


def liquid_cell(composition: dict[str, float], repeat: int, seed: int, scale: float) -> Atoms:
    """A random fcc cell of 4·repeat³ atoms with ``composition`` (counts rounded, the
    remainder to the majority species) at ``scale`` × the Vegard lattice constant."""
    n = 4 * repeat**3
    counts = {k: int(round(x * n)) for k, x in composition.items()}
    counts[max(counts, key=counts.get)] += n - sum(counts.values())
    symbols = [k for k, c in counts.items() for _ in range(c)]
    symbols = list(np.random.default_rng(seed).permutation(symbols))
    a = float(np.mean([emt_lattice_constant(s) for s in symbols]))
    atoms = bulk("Cu", "fcc", a=scale * a, cubic=True).repeat(repeat)
    atoms.symbols = symbols
    return atoms


def npt(atoms: Atoms, temperature: float, args, rng) -> LangevinBAOAB:
    """Langevin NPT at zero pressure (hydrostatic cell), ASE's BAOAB integrator."""
    with warnings.catch_warnings():  # the heuristic barostat mass is what we want
        warnings.simplefilter("ignore", UserWarning)
        return LangevinBAOAB(
            atoms,
            args.dt * units.fs,
            temperature_K=temperature,
            externalstress=0.0,
            hydrostatic=True,
            T_tau=args.t_tau * units.fs,
            P_tau=args.p_tau * units.fs,
            rng=rng,
        )


def melt(args, seed: int) -> Atoms:
    """The fcc cell melted with EMT (positions, momenta and cell of the last step)."""
    atoms = liquid_cell(args.composition, args.repeat, seed, args.scale)
    atoms.calc = EMT()
    rng = np.random.default_rng(seed)
    thermalize_momenta(atoms, args.melt_temperature, rng=rng)
    Stationary(atoms)
    npt(atoms, args.melt_temperature, args, rng).run(args.melt)
    atoms.calc = None
    return atoms


def run_liquid(calc, start: Atoms, args, seed: int) -> dict:
    """Equilibrate ``start`` at ``args.temperature`` under ``calc`` and sample it: the
    snapshots, unwrapped positions and the thermodynamic averages."""
    atoms = start.copy()
    atoms.calc = calc
    dyn = npt(atoms, args.temperature, args, np.random.default_rng(seed + 1000))
    t0 = time.perf_counter()
    dyn.run(args.equilibrate)
    frames, unwrapped, e_pot, pressure, temperature, volume = [], [], [], [], [], []

    def sample():
        # ASE's integrators do not wrap; the unwrapped positions are in the current cell,
        # which changes little (±2 % in length) under the barostat
        unwrapped.append(atoms.positions.copy())
        frames.append(
            Atoms(atoms.numbers, atoms.get_positions(wrap=True), cell=atoms.cell, pbc=True)
        )
        e_pot.append(atoms.get_potential_energy() / len(atoms))
        stress = atoms.get_stress(voigt=False, include_ideal_gas=True)
        pressure.append(-np.trace(stress) / 3 / units.GPa)
        temperature.append(atoms.get_temperature())
        volume.append(atoms.get_volume() / len(atoms))

    dyn.attach(sample, interval=args.every)
    dyn.run(args.sample)
    pos = np.array(unwrapped)
    pos -= pos.mean(axis=1, keepdims=True)  # remove centre-of-mass drift (Langevin)
    msd = np.mean(np.sum((pos - pos[0]) ** 2, axis=2), axis=1)
    t_ps = np.arange(len(msd)) * args.every * args.dt / 1000
    fit = t_ps >= args.fit_from
    slope = np.polyfit(t_ps[fit], msd[fit], 1)[0] if fit.sum() > 2 else float("nan")
    third = (len(pos) - 1) // 3
    blocks = [
        float(np.mean(np.sum((pos[(k + 1) * third] - pos[k * third]) ** 2, axis=1)))
        for k in range(3)
    ]
    return {
        "frames": frames,
        "t_ps": t_ps,
        "msd": msd,
        "diffusion": slope / 6,  # Å²/ps
        "block_msd": blocks,
        "block_ps": third * args.every * args.dt / 1000,
        "e_pot": float(np.mean(e_pot)),
        "pressure": float(np.mean(pressure)),
        "temperature": float(np.mean(temperature)),
        "volume": float(np.mean(volume)),
        "wall_s": time.perf_counter() - t0,
    }


def model_errors(model, frames: list[Atoms]) -> tuple[float, float, float, float]:
    """Energy RMSE and mean error (meV/atom), force-component RMSE (eV/Å) and virial
    pressure mean error (GPa) of ``model`` on EMT frames."""
    de, df, dp = [], [], []
    for snap in frames:
        ref = snap.copy()
        ref.calc = EMT()
        snap = snap.copy()
        snap.calc = model.calculator()
        de.append((snap.get_potential_energy() - ref.get_potential_energy()) / len(snap))
        df.append(snap.get_forces() - ref.get_forces())
        dp.append(-np.mean(snap.get_stress()[:3] - ref.get_stress()[:3]) / units.GPa)
    return (
        1000 * float(np.sqrt(np.mean(np.square(de)))),
        1000 * float(np.mean(de)),
        float(np.sqrt(np.mean(np.square(df)))),
        float(np.mean(dp)),
    )


def shells(r: np.ndarray, g: np.ndarray) -> tuple[float, float, float]:
    """First minimum beyond the first peak (r, g) and the second peak's position (Å)."""
    k1 = int(np.argmax(np.where(r > 1.5, g, -np.inf)))
    window = (r > r[k1]) & (r < 1.6 * r[k1])
    k_min = int(np.flatnonzero(window)[np.argmin(g[window])])
    beyond = r > r[k_min]
    k2 = int(np.flatnonzero(beyond)[np.argmax(g[beyond])])
    return float(r[k_min]), float(g[k_min]), float(r[k2])


def plot(path: Path, r, curves: dict[str, np.ndarray], runs: dict, title: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 7.2), layout="constrained")
    ax, diff, msd = fig.subplots(3, 1, height_ratios=(3, 1.2, 1.8))
    names = list(curves)
    styles = ("-", "--", ":")
    for name, style in zip(names, styles):
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
    for name, style in zip(names, styles):
        run = runs[name]
        msd.plot(run["t_ps"], run["msd"], style, label=f"{name}: D {run['diffusion']:.3f} Å²/ps")
    msd.set_xlabel("t (ps)")
    msd.set_ylabel("MSD (Å²)")
    msd.legend(fontsize=7)
    fig.savefig(path, dpi=130)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="model file (else the cached examples/fit_emt.toml model)")
    p.add_argument("--composition", type=parse_composition, default="Cu:0.6,Ag:0.4")
    p.add_argument("--repeat", type=int, default=3, help="fcc cells per side (4·n³ atoms)")
    p.add_argument("--scale", type=float, default=1.06, help="start a = scale × Vegard")
    p.add_argument("--temperature", type=float, default=1200.0, help="K")
    p.add_argument("--melt-temperature", type=float, default=2000.0, help="K")
    p.add_argument("--dt", type=float, default=2.0, help="fs")
    p.add_argument("--t-tau", type=float, default=100.0, help="Langevin time, fs")
    p.add_argument("--p-tau", type=float, default=500.0, help="barostat time, fs")
    p.add_argument("--melt", type=int, default=500, help="EMT steps at --melt-temperature")
    p.add_argument("--equilibrate", type=int, default=1000, help="steps at --temperature")
    p.add_argument("--sample", type=int, default=5000, help="steps sampled")
    p.add_argument("--every", type=int, default=10, help="steps between snapshots")
    p.add_argument("--fit-from", type=float, default=0.5, help="MSD fit start, ps")
    p.add_argument("--dr", type=float, default=0.05, help="bin width, Å")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_md_liquid"))
    args = p.parse_args(argv)
    model, model_path = cached_model(args.model)
    load = os.getloadavg()
    noise_name = f"EMT seed {args.seed + 1}"
    start = melt(args, args.seed)
    runs = {
        "model": run_liquid(model.calculator(), start, args, args.seed),
        "EMT": run_liquid(EMT(), start, args, args.seed),
        noise_name: run_liquid(EMT(), melt(args, args.seed + 1), args, args.seed + 1),
    }
    side = (min(run["volume"] for run in runs.values()) * len(start)) ** (1 / 3)
    r_max = np.floor(0.5 * side / args.dr) * args.dr
    n_bins = int(round(r_max / args.dr))
    rdfs = {k: radial_distribution(v["frames"], r_max, n_bins) for k, v in runs.items()}
    r = rdfs["EMT"].r
    g = {k: v.g for k, v in rdfs.items()}
    errors = model_errors(model, runs["EMT"]["frames"][::2])
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    n = len(start)
    formula = start.get_chemical_formula()
    n_snap = len(runs["EMT"]["frames"])
    lines = [
        f"# python benchmarks/bench_liquid.py (commit {commit}; NUMBA_NUM_THREADS="
        f"{os.environ['NUMBA_NUM_THREADS']}; load average before {load[0]:.1f}, after "
        f"{os.getloadavg()[0]:.1f} on the shared 2-core machine)",
        f"# model: {model_path.name} (examples/fit_emt.toml: nu1mu1 n4 l3 σ 0.2, 450 EMT "
        "structures incl. 15 % fixed-volume liquids at 1,800-3,000 K; no Cu-Ag-only liquid)",
        f"# {n} atoms {formula}, fcc at {args.scale} × Vegard melted with EMT: {args.melt} "
        f"steps at {args.melt_temperature:.0f} K; then each potential {args.equilibrate} "
        f"steps at {args.temperature:.0f} K and {args.sample} sampled every {args.every} "
        f"({n_snap} snapshots, {args.sample * args.dt / 1000:.1f} ps). NPT P = 0 "
        f"(LangevinBAOAB, {args.dt} fs, T_tau {args.t_tau:.0f} fs, P_tau {args.p_tau:.0f} "
        f"fs); g(r) bins {args.dr} Å to {r_max:.2f} Å (half the box)",
        f"{'run':<11} {'<T> K':>6} {'<V> Å³/at':>9} {'<E_pot> eV/at':>13} {'<P> GPa':>7} "
        f"{'D Å²/ps':>7} {'MSD thirds Å²':>16} {'1st peak r, g':>13} {'min r, g':>11} "
        f"{'2nd pk':>6} {'Δg 1st-3rd':>10} {'wall s':>6}",
    ]
    for k, run in runs.items():
        third = len(run["frames"]) // 3
        early = radial_distribution(run["frames"][:third], r_max, n_bins).g
        late = radial_distribution(run["frames"][-third:], r_max, n_bins).g
        peak = rdfs[k].first_peak(r_min=1.5)
        r_min, g_min, r_2 = shells(r, g[k])
        lines.append(
            f"{k:<11} {run['temperature']:6.0f} {run['volume']:9.2f} {run['e_pot']:13.4f} "
            f"{run['pressure']:7.2f} {run['diffusion']:7.3f} "
            f"{' '.join(f'{b:.2f}' for b in run['block_msd']):>16} "
            f"{peak[0]:6.3f},{peak[1]:6.3f} {r_min:5.2f},{g_min:5.2f} {r_2:6.2f} "
            f"{np.abs(late - early).max():10.3f} {run['wall_s']:6.0f}"
        )
    peaks = {k: v.first_peak(r_min=1.5) for k, v in rdfs.items()}
    dg = np.abs(g["model"] - g["EMT"])
    noise = np.abs(g[noise_name] - g["EMT"])
    block_ps = runs["EMT"]["block_ps"]
    lines += [
        f"(D from MSD(t) for t ≥ {args.fit_from} ps; MSD thirds: displacement within each "
        f"{block_ps:.2f} ps third of the window; Δg 1st-3rd: max |g(first third) − g(last "
        "third)|, a recrystallising run grows fcc peaks there)",
        f"model - EMT:     max |Δg| {dg.max():.3f} at r = {r[dg.argmax()]:.2f} Å, mean |Δg| "
        f"{dg.mean():.4f}; first peak Δr {peaks['model'][0] - peaks['EMT'][0]:+.3f} Å, "
        f"Δg {peaks['model'][1] - peaks['EMT'][1]:+.3f}; ΔV "
        f"{100 * (runs['model']['volume'] / runs['EMT']['volume'] - 1):+.1f} %; "
        f"ΔD {runs['model']['diffusion'] - runs['EMT']['diffusion']:+.3f} Å²/ps",
        f"EMT seed noise:  max |Δg| {noise.max():.3f} at r = {r[noise.argmax()]:.2f} Å, "
        f"mean |Δg| {noise.mean():.4f}; first peak Δr "
        f"{peaks[noise_name][0] - peaks['EMT'][0]:+.3f} Å, "
        f"Δg {peaks[noise_name][1] - peaks['EMT'][1]:+.3f}; ΔV "
        f"{100 * (runs[noise_name]['volume'] / runs['EMT']['volume'] - 1):+.1f} %; "
        f"ΔD {runs[noise_name]['diffusion'] - runs['EMT']['diffusion']:+.3f} Å²/ps",
        f"model on {len(runs['EMT']['frames'][::2])} of EMT's liquid snapshots: energy RMSE "
        f"{errors[0]:.2f} meV/atom (mean error {errors[1]:+.2f}), force RMSE "
        f"{errors[2]:.4f} eV/Å, virial pressure mean error {errors[3]:+.2f} GPa",
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
    title = f"{n}-atom {formula} liquid, {args.temperature:.0f} K, NPT P = 0"
    plot(Path(f"{out}.png"), r, g, runs, title)
    print("\n".join(lines))
    print(f"wrote {out}.txt, {out}.csv, {out}.png")


if __name__ == "__main__":
    main()
