"""``slimsoap fit | evaluate | md``: fit a force field, judge it, run molecular dynamics.

    slimsoap fit CONFIG.toml
    slimsoap evaluate MODEL DATA [--out PREFIX]
    slimsoap md MODEL STRUCTURE [--engine ase|lammps] [--steps N] [--timestep FS]
                [--temperature K] [--ensemble nve|nvt|npt] [--pressure GPA] [--every N]
                [--seed S] [--out PREFIX] [--overwrite]

``fit`` reads a TOML file (see ``examples/fit_emt.toml``) with the tables

- ``[data]``: ``train`` (a labelled file) or ``generate`` (arguments of
  :func:`slimsoap.data.generate`); ``test`` (a file), or ``n_test`` structures drawn from
  the training data (``split_seed``; ``n_train`` caps the rest);
- ``[descriptor]``: ``kind`` (``"soap"`` or ``"acsf"``) and the calculator's arguments;
- ``[model]``: :class:`~slimsoap.models.SparseGP` arguments (``n_sparse = "n_features"``
  takes the descriptor length), noise levels included, and an optional
  ``[model.baseline]`` (:class:`~slimsoap.models.PairBaseline`);
- ``[output]``: ``directory`` (relative to the config file) and ``name`` of the model.

It writes the model, ``errors.csv`` (per ``config_type``: energy and virial RMSE/MAE in
meV/atom, force RMSE/MAE in eV/Å, on the test set and the training set) and
``parity.png``. ``md`` writes ``PREFIX.xyz`` (extxyz trajectory with energies, forces and
velocities) and ``PREFIX.log`` (time fs, T = 2E_kin/(3Nk_B) K, E_pot eV, E_tot eV, P GPa
with the kinetic part) every ``--every`` steps; it refuses to replace existing outputs
without ``--overwrite`` (and an input file even with it). ``npt`` and ``--engine lammps``
need a 3-D periodic structure.
"""

from __future__ import annotations

import argparse
import csv
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms, units
from ase.data import chemical_symbols

from slimsoap.cli import UsageError

if TYPE_CHECKING:
    from slimsoap.models import Prediction, SparseGP, Targets

_SECTIONS = {
    "data": {"train", "generate", "test", "n_test", "n_train", "split_seed", "format"},
    "descriptor": None,  # the calculator checks its own arguments
    "model": None,
    "output": {"directory", "name"},
}
_ERROR_COLUMNS = (
    "set",
    "config_type",
    "n_configs",
    "energy_rmse_meV_atom",
    "energy_mae_meV_atom",
    "force_rmse_eV_A",
    "force_mae_eV_A",
    "virial_rmse_meV_atom",
    "virial_mae_meV_atom",
)


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``fit``, ``evaluate`` and ``md`` commands."""
    fit = subparsers.add_parser("fit", help="fit a sparse GP force field from a TOML config")
    fit.add_argument("config", help="TOML file (see examples/fit_emt.toml)")
    fit.set_defaults(func=run_fit)

    ev = subparsers.add_parser("evaluate", help="errors of a fitted model on labelled data")
    ev.add_argument("model", help="model file (.npz) written by 'slimsoap fit'")
    ev.add_argument("data", help="labelled data file (extxyz, ASE db, xsf)")
    ev.add_argument("--out", default=None, help="write PREFIX.csv and PREFIX.png")
    ev.set_defaults(func=run_evaluate)

    md = subparsers.add_parser("md", help="molecular dynamics with a fitted model")
    md.add_argument("model", help="model file (.npz) written by 'slimsoap fit'")
    md.add_argument("structure", help="starting structure (any file ASE reads; last frame)")
    md.add_argument("--engine", choices=("ase", "lammps"), default="ase")
    md.add_argument("--steps", type=int, default=1000)
    md.add_argument("--timestep", type=float, default=1.0, help="fs")
    md.add_argument("--temperature", type=float, default=300.0, help="K (initial and bath)")
    md.add_argument("--ensemble", choices=("nve", "nvt", "npt"), default="nve")
    md.add_argument("--pressure", type=float, default=0.0, help="GPa (npt)")
    md.add_argument("--every", type=int, default=10, help="steps between outputs")
    md.add_argument("--seed", type=int, default=0, help="initial velocities")
    md.add_argument("--out", default="md", help="PREFIX of PREFIX.xyz and PREFIX.log")
    md.add_argument(
        "--overwrite", action="store_true", help="replace PREFIX.xyz and PREFIX.log if they exist"
    )
    md.set_defaults(func=run_md)


# ------------------------------------------------------------------------------ model files
# ----------------------------------------------------------------------------- the config
def read_config(path: str | Path) -> dict:
    """The parsed TOML config, with unknown tables or ``[data]``/``[output]`` keys refused."""
    with open(path, "rb") as fh:
        config = tomllib.load(fh)
    unknown = set(config) - set(_SECTIONS)
    if unknown:
        raise ValueError(f"{path}: unknown tables {sorted(unknown)}; valid: {sorted(_SECTIONS)}")
    for name in ("data", "descriptor", "model"):
        if name not in config:
            raise ValueError(f"{path}: the [{name}] table is missing")
    for name, keys in _SECTIONS.items():
        extra = set(config.get(name, {})) - keys if keys else set()
        if extra:
            raise ValueError(f"{path}: unknown keys {sorted(extra)} in [{name}]")
    data = config["data"]
    if ("train" in data) == ("generate" in data):
        raise ValueError(f"{path}: [data] needs exactly one of 'train' or 'generate'")
    if ("test" in data) == ("n_test" in data):
        raise ValueError(f"{path}: [data] needs exactly one of 'test' or 'n_test'")
    return config


def build_descriptor(spec: dict):
    """A descriptor from a ``[descriptor]`` table: ``kind`` plus its arguments."""
    from slimsoap.acsf.calculator import ACSF
    from slimsoap.soap.calculator import SOAP

    descriptors = {"soap": SOAP, "acsf": ACSF}
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind not in descriptors:
        raise ValueError(f"[descriptor] kind must be one of {sorted(descriptors)}, got {kind!r}")
    return descriptors[kind](**spec)


def build_model(spec: dict, descriptor) -> SparseGP:
    """A :class:`SparseGP` from a ``[model]`` table (and its ``baseline`` sub-table)."""
    from slimsoap.models import PairBaseline, SparseGP

    spec = dict(spec)
    baseline = spec.pop("baseline", None)
    if spec.get("n_sparse") == "n_features":
        spec["n_sparse"] = descriptor.n_features
    return SparseGP(
        descriptor, baseline=None if baseline is None else PairBaseline(**baseline), **spec
    )


def load_data(data: dict, root: Path) -> tuple[list[Atoms], list[Atoms]]:
    """(train, test) frames of a ``[data]`` table; paths are relative to ``root``."""
    from slimsoap.data.generators import generate
    from slimsoap.data.readers import read_frames

    fmt = data.get("format")
    if "generate" in data:
        options = dict(data["generate"])
        if "kind" not in options:
            raise ValueError("[data] generate needs a 'kind' (alloy, amino or elpasolite)")
        frames = list(read_frames(generate(options.pop("kind"), **options)))
    else:
        frames = list(read_frames(root / data["train"], format=fmt))
    if "test" in data:
        return frames, list(read_frames(root / data["test"], format=fmt))
    n_test = int(data["n_test"])
    if not 0 < n_test < len(frames):
        raise ValueError(f"[data] n_test must be in 1..{len(frames) - 1}, got {n_test}")
    order = np.random.default_rng(int(data.get("split_seed", 0))).permutation(len(frames))
    n_train = int(data.get("n_train", len(frames) - n_test))
    test = [frames[i] for i in order[:n_test]]
    return [frames[i] for i in order[n_test : n_test + n_train]], test


# ------------------------------------------------------------------------------- errors
def error_table(prediction: Prediction, targets: Targets, n_atoms: np.ndarray) -> list[dict]:
    """Rows per config type (``"all"`` first): RMSE and MAE of energies and virials per
    atom (meV/atom) and of force components (eV/Å); NaN where a label or output is missing.
    """
    n_atoms = np.asarray(n_atoms)
    frame_of_atom = np.repeat(np.arange(len(n_atoms)), n_atoms)
    rows = []
    for ct in ["all", *sorted(set(targets.config_type.tolist()))]:
        sel = np.ones(len(n_atoms), bool) if ct == "all" else targets.config_type == ct
        row = {"config_type": ct, "n_configs": int(sel.sum())}
        de = 1000 * (prediction.energy - targets.energy)[sel] / n_atoms[sel]
        df = np.full(1, np.nan)
        if prediction.forces is not None:
            df = (prediction.forces - targets.forces)[sel[frame_of_atom]]
        dv = np.full(1, np.nan)
        if prediction.virial is not None:
            dv = 1000 * (prediction.virial - targets.virial)[sel] / n_atoms[sel, None, None]
        for name, diff in (("energy", de), ("force", df), ("virial", dv)):
            unit = "eV_A" if name == "force" else "meV_atom"
            d = diff[np.isfinite(diff)]
            row[f"{name}_rmse_{unit}"] = float(np.sqrt(np.mean(d**2))) if d.size else np.nan
            row[f"{name}_mae_{unit}"] = float(np.mean(np.abs(d))) if d.size else np.nan
        rows.append(row)
    return rows


def write_errors(path: Path, tables: dict[str, list[dict]]) -> None:
    """CSV of ``{set name: error_table rows}``."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=_ERROR_COLUMNS)
        writer.writeheader()
        for name, rows in tables.items():
            for row in rows:
                writer.writerow({"set": name, **row})


def format_errors(name: str, rows: list[dict]) -> str:
    """A printable table of ``error_table`` rows."""
    lines = [
        f"{name}: RMSE / MAE   energy meV/atom   force eV/Å   virial meV/atom",
    ]
    for r in rows:
        lines.append(
            f"{r['config_type']:>16s} {r['n_configs']:5d}   "
            f"{r['energy_rmse_meV_atom']:7.2f} / {r['energy_mae_meV_atom']:6.2f}   "
            f"{r['force_rmse_eV_A']:.4f} / {r['force_mae_eV_A']:.4f}   "
            f"{r['virial_rmse_meV_atom']:7.2f} / {r['virial_mae_meV_atom']:6.2f}"
        )
    return "\n".join(lines)


def parity_plot(path: Path, prediction: Prediction, targets: Targets, n_atoms) -> Path:
    """PNG of predicted against reference energies per atom, force components and virial
    components per atom, coloured by config type."""
    from slimsoap.analysis.plots import _figure, _save

    n_atoms = np.asarray(n_atoms)
    frame_of_atom = np.repeat(np.arange(len(n_atoms)), n_atoms)
    panels = [
        ("energy (eV/atom)", targets.energy / n_atoms, prediction.energy / n_atoms, None),
        ("force (eV/Å)", targets.forces, prediction.forces, frame_of_atom),
        ("virial (eV/atom)", targets.virial / n_atoms[:, None, None], None, None),
    ]
    if prediction.virial is not None:
        panels[2] = (panels[2][0], panels[2][1], prediction.virial / n_atoms[:, None, None], None)
    fig = _figure((12, 4))
    axes = fig.subplots(1, 3)
    types = sorted(set(targets.config_type.tolist()))
    for ax, (label, ref, pred, owner) in zip(axes, panels):
        ax.set_title(label)
        if pred is None:
            ax.text(0.5, 0.5, "not predicted", ha="center", transform=ax.transAxes)
            continue
        for ct in types:
            sel = targets.config_type == ct
            if owner is not None:
                sel = sel[owner]
            r, p = np.asarray(ref)[sel].ravel(), np.asarray(pred)[sel].ravel()
            ok = np.isfinite(r)
            ax.scatter(r[ok], p[ok], s=4, label=ct)
        lims = ax.get_xlim()
        ax.plot(lims, lims, "k-", lw=0.5)
        ax.set_xlabel("reference")
        ax.set_ylabel("model")
    axes[0].legend(fontsize=7, markerscale=2)
    return _save(fig, path, dpi=120)


# ----------------------------------------------------------------------------- handlers
def run_fit(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap fit``; returns the exit status."""
    from slimsoap.models import read_targets

    config_path = Path(args.config)
    config = read_config(config_path)
    root = config_path.parent
    train, test = load_data(config["data"], root)
    descriptor = build_descriptor(config["descriptor"])
    model = build_model(config["model"], descriptor)
    print(f"fitting on {len(train)} structures ({sum(len(a) for a in train)} atoms)")
    model.fit(train)
    output = config.get("output", {})
    out_dir = root / output.get("directory", "fit")
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{output.get('name', 'model')}.npz"
    model.save(model_path)
    tables = {}
    for name, frames in (("test", test), ("train", train)):
        n_atoms = np.array([len(a) for a in frames])
        targets, pred = read_targets(frames), model.predict(frames)
        tables[name] = error_table(pred, targets, n_atoms)
        if name == "test":
            parity_plot(out_dir / "parity.png", pred, targets, n_atoms)
        print(format_errors(name, tables[name]))
    write_errors(out_dir / "errors.csv", tables)
    print(f"model: {model_path}  errors: {out_dir / 'errors.csv'}  plot: {out_dir / 'parity.png'}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap evaluate``; returns the exit status."""
    from slimsoap.data.readers import read_frames
    from slimsoap.models import load as load_model
    from slimsoap.models import read_targets

    model = load_model(args.model)
    frames = list(read_frames(args.data))
    n_atoms = np.array([len(a) for a in frames])
    targets, pred = read_targets(frames), model.predict(frames)
    rows = error_table(pred, targets, n_atoms)
    print(format_errors(Path(args.data).name, rows))
    if args.out is not None:
        write_errors(Path(f"{args.out}.csv"), {Path(args.data).name: rows})
        parity_plot(Path(f"{args.out}.png"), pred, targets, n_atoms)
    return 0


def _check_md_args(args: argparse.Namespace) -> tuple[Path, Path]:
    """Refuse bad ``md`` numbers and outputs that exist (without ``--overwrite``) or are
    an input; returns the trajectory and log paths."""
    for flag, value in (("--steps", args.steps), ("--every", args.every)):
        if value < 1:
            raise UsageError(f"argument {flag}: must be >= 1, got {value}")
    if not 0 < args.timestep < np.inf:
        raise UsageError(f"argument --timestep: must be a finite number > 0, got {args.timestep}")
    if not 0 <= args.temperature < np.inf or (args.ensemble != "nve" and args.temperature == 0):
        bound = ">= 0" if args.ensemble == "nve" else "> 0 (the bath)"
        raise UsageError(
            f"argument --temperature: must be finite and {bound}, got {args.temperature}"
        )
    if not np.isfinite(args.pressure):
        raise UsageError(f"argument --pressure: must be finite, got {args.pressure}")
    outputs = Path(f"{args.out}.xyz"), Path(f"{args.out}.log")
    for path in outputs:
        for flag, given in (("MODEL", args.model), ("STRUCTURE", args.structure)):
            if path.resolve() == Path(given).resolve():
                raise UsageError(f"argument --out: {path} is the {flag} file; name a new prefix")
        if path.exists() and not args.overwrite:
            raise FileExistsError(f"{path} exists; pass --overwrite to replace it (or a new --out)")
    return outputs


def run_md(args: argparse.Namespace) -> int:
    """Handler of ``slimsoap md``; returns the exit status."""
    from ase.io import read, write
    from ase.md.velocitydistribution import thermalize_momenta
    from tqdm import tqdm

    from slimsoap.models import load as load_model

    xyz, log_path = _check_md_args(args)
    model = load_model(args.model)
    atoms = read(args.structure, index=-1)
    periodic = bool(atoms.pbc.all()) and atoms.cell.rank == 3
    for what, needs in (
        ("--ensemble npt", args.ensemble == "npt"),
        ("--engine lammps", args.engine == "lammps"),
    ):
        if needs and not periodic:
            raise ValueError(
                f"{what} needs a 3-D periodic structure (pbc T T T and a cell); "
                f"{args.structure} has pbc {atoms.pbc.tolist()}"
            )
    thermalize_momenta(atoms, args.temperature, rng=np.random.default_rng(args.seed))
    xyz.unlink(missing_ok=True)  # checked above: absent, or --overwrite
    with open(log_path, "w") as log, tqdm(total=args.steps, unit="step") as bar:
        log.write("# time_fs T_K E_pot_eV E_tot_eV P_GPa\n")

        def record(frame: Atoms, time_fs: float, temperature: float, e_pot, e_kin, p_gpa):
            log.write(f"{time_fs:.3f} {temperature:.3f} {e_pot:.8f} {e_pot + e_kin:.8f} ")
            log.write(f"{p_gpa:.6f}\n")
            log.flush()
            write(xyz, frame, format="extxyz", append=True)

        run = _md_lammps if args.engine == "lammps" else _md_ase
        run(model, atoms, args, record, bar.update)
    print(f"trajectory: {xyz}  thermo log: {log_path}")
    return 0


def _md_ase(model: SparseGP, atoms: Atoms, args, record, advance) -> None:
    """ASE MD: VelocityVerlet (nve), Nosé–Hoover chain (nvt) or isotropic MTK (npt), with
    thermostat and barostat times 100 and 1000 time steps."""
    from ase.md.nose_hoover_chain import IsotropicMTKNPT, NoseHooverChainNVT
    from ase.md.verlet import VelocityVerlet

    atoms.calc = model.calculator()
    dt = args.timestep * units.fs
    if args.ensemble == "nve":
        dyn = VelocityVerlet(atoms, timestep=dt)
    elif args.ensemble == "nvt":
        dyn = NoseHooverChainNVT(atoms, dt, temperature_K=args.temperature, tdamp=100 * dt)
    else:
        dyn = IsotropicMTKNPT(
            atoms,
            dt,
            temperature_K=args.temperature,
            pressure_au=args.pressure * units.GPa,
            tdamp=100 * dt,
            pdamp=1000 * dt,
        )
    periodic = bool(atoms.pbc.all())

    def output():
        pressure = np.nan
        if periodic:
            stress = atoms.get_stress(voigt=False, include_ideal_gas=True)
            pressure = -np.trace(stress) / 3 / units.GPa
        e_pot, e_kin = atoms.get_potential_energy(), atoms.get_kinetic_energy()
        record(atoms, dyn.get_time() / units.fs, atoms.get_temperature(), e_pot, e_kin, pressure)

    dyn.attach(output, interval=args.every)
    dyn.attach(lambda: advance(1) if dyn.nsteps else None, interval=1)
    dyn.run(args.steps)


def _md_lammps(model: SparseGP, atoms: Atoms, args, record, advance) -> None:
    """LAMMPS MD through :mod:`slimsoap.lammps`: ``fix nve``, ``fix nvt`` or ``fix npt ...
    iso`` (Nosé–Hoover, damping 100 and 1000 time steps)."""
    from slimsoap.lammps import VELOCITY_TO_METAL, attach, create_system, load_lammps

    species = [chemical_symbols[z] for z in model.elements_]
    atoms.set_cell(atoms.cell.standard_form()[0], scale_atoms=True)
    lmp = load_lammps()
    create_system(lmp, atoms, species)
    fix = attach(lmp, model, species)
    dt = args.timestep / 1000.0  # ps
    T, P = args.temperature, args.pressure * 1e4  # K, bar
    lmp.command(f"timestep {dt!r}")
    lmp.command(
        {
            "nve": "fix md all nve",
            "nvt": f"fix md all nvt temp {T} {T} {100 * dt!r}",
            "npt": f"fix md all npt temp {T} {T} {100 * dt!r} iso {P} {P} {1000 * dt!r}",
        }[args.ensemble]
    )
    lmp.command("thermo_style custom step pe ke press")
    lmp.command("run 0")
    n = len(atoms)

    def output(step: int):
        frame = fix.atoms
        order = np.argsort(lmp.numpy.extract_atom("id")[:n])
        frame.set_velocities(lmp.numpy.extract_atom("v")[:n][order] / VELOCITY_TO_METAL)
        e_pot, e_kin, press = (lmp.get_thermo(k) for k in ("pe", "ke", "press"))
        temperature = 2 * e_kin / (3 * n * units.kB)  # ASE's T (LAMMPS's temp uses 3N − 3)
        record(frame, step * args.timestep, temperature, e_pot, e_kin, press * 1e-4)

    output(0)
    done = 0
    while done < args.steps:
        chunk = min(args.every, args.steps - done)
        lmp.command(f"run {chunk} pre no post no")
        done += chunk
        advance(chunk)
        output(done)
    lmp.close()
