"""Cost of one MD step (energy + forces + stress) on a 256-atom 5-metal cell (issue 14).

Question: what does a step of the EMT-trained slimsoap force field cost, at 1 and 2
threads, beside ASE's EMT (the reference that labelled the data) and beside a quippy GAP
with the same descriptor size and sparse-point count?

Cell: ``bench_md.alloy_cell(4, seed)`` — 256 atoms, equimolar random NiCuPdAgPt fcc at
the Vegard lattice constant, rattled by 0.05 Å; every timed step moves the atoms by
another 0.01 Å (a new geometry), all calculators at the same geometries, their order
rotated each round. A step is one ``calculate(atoms, ["energy", "forces", "stress"])``
call. Each thread count runs in its own process (``NUMBA_NUM_THREADS`` = ``OMP_NUM_THREADS``
= ``OPENBLAS_NUM_THREADS`` = t); the table gives the wall-time median and interquartile
range and the median CPU time of the process (on a loaded machine the wall time measures
the load; at 1 thread the CPU time is the cost). quippy's wheel has no OpenMP: its second
thread can only be OpenBLAS's.

Models (fitted once, cached in ``<slimsoap cache>/bench_md/``):
  slimsoap — ``examples/fit_emt.toml``: SOAP nu1mu1 (GTO basis), r_cut 5.5 Å, width 1 Å,
      n_max 4, l_max 3, σ 0.2 Å: 320 features; SparseGP ζ=1 with 320 CUR sparse points
      per centre species (1,600) and a pair baseline (16 Gaussians per species pair);
      450 training structures.
  GAP — quippy's ``gap_fit`` with the same SOAP hyper-parameters and GAP's own basis
      (``soap ... nu_R=2 nu_S=1``: 320 features + 1, ζ=1, dot product, δ 0.5), 320
      ``cur_points`` per species (gap_fit adds one SOAP per centre species: 1,600), and
      a ``distance_2b`` term per species pair (16 uniform sparse points, r_cut 5.5 Å),
      same σ (2 meV/atom, 0.05 eV/Å, 20 meV/atom); fitted on the first ``--gap-train``
      training structures only (gap_fit's dense descriptor gradients need ~11 GB for all
      450; the cost of a step depends on the sparse points and the descriptor, not on the
      training-set size). Skipped when quippy or gap_fit is missing.

    python benchmarks/bench_md_step.py                         # ~2-3 min once fitted
    python benchmarks/bench_md_step.py --threads 1 --repeat 3  # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SOAP_GAP = (
    "soap cutoff=5.5 cutoff_transition_width=1.0 n_max=4 l_max=3 atom_sigma=0.2 zeta=1 "
    "delta=0.5 covariance_type=dot_product nu_R=2 nu_S=1 n_sparse=320 sparse_method=cur_points"
)
PAIR_GAP = (
    "distance_2b cutoff=5.5 cutoff_transition_width=1.0 covariance_type=ard_se delta=0.5 "
    "theta_uniform=1.0 n_sparse=16 sparse_method=uniform"
)
GAP_FIT_ARGS = (
    "default_sigma={0.002 0.05 0.02 0.0}",
    "e0_method=average",
    "energy_parameter_name=energy",
    "force_parameter_name=forces",
    "virial_parameter_name=virial",
    "sparse_jitter=1e-8",
)
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "bench_md_step.txt"


# ----------------------------------------------------------------------- fitting (parent)
def cached_gap(n_train: int, log=print) -> Path | None:
    """The GAP xml fitted by ``gap_fit`` on the first ``n_train`` training structures of
    ``examples/fit_emt.toml``, cached; ``None`` (and a note) when quippy cannot build one."""
    import hashlib

    from slimsoap.cli.fit import load_data, read_config
    from slimsoap.data.generators import cache_dir

    gap_fit = shutil.which("gap_fit") or str(Path(sys.executable).with_name("gap_fit"))
    if not Path(gap_fit).exists():
        log("GAP: no gap_fit executable (pip install quippy-ase): skipped")
        return None
    config_path = ROOT / "examples" / "fit_emt.toml"
    spec = "\n".join([config_path.read_text(), SOAP_GAP, PAIR_GAP, *GAP_FIT_ARGS, str(n_train)])
    digest = hashlib.sha256(spec.encode()).hexdigest()[:12]
    folder = cache_dir() / "bench_md" / f"gap_{digest}"
    xml = folder / "gap.xml"
    if xml.exists():
        log(f"GAP: {xml} (cached; delete the folder to refit)")
        return xml
    from ase.io import write

    train, _ = load_data(read_config(config_path)["data"], config_path.parent)
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "train.xyz", train[:n_train], format="extxyz")
    (folder / "fit.cfg").write_text(
        "\n".join(
            [
                "at_file=train.xyz",
                f"gap={{{PAIR_GAP} : {SOAP_GAP}}}",
                *GAP_FIT_ARGS,
                "gp_file=gap.xml",
            ]
        )
        + "\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    t0 = time.perf_counter()
    with open(folder / "gap_fit.log", "w") as fh:
        done = subprocess.run(
            [gap_fit, "config_file=fit.cfg"],
            cwd=folder,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0 or not xml.exists():
        log(f"GAP: gap_fit failed (exit {done.returncode}; see {folder / 'gap_fit.log'})")
        return None
    log(f"GAP: fitted on {n_train} structures in {time.perf_counter() - t0:.0f} s: {xml}")
    return xml


# ------------------------------------------------------------------------ timing (worker)
def worker(args) -> dict:
    """Time every calculator in this process (its thread count is set by the parent)."""
    from ase.calculators.calculator import all_changes
    from ase.calculators.emt import EMT
    from bench_md import alloy_cell

    from slimsoap.models import load

    atoms = alloy_cell(4, args.seed)
    rng = np.random.default_rng(args.seed)
    atoms.rattle(0.05, rng=rng)
    model = load(args.model)
    calcs = {"EMT": EMT(), "slimsoap": model.calculator()}
    if args.gap_xml:
        from quippy.potential import Potential

        calcs["quippy GAP"] = Potential(param_filename=args.gap_xml)
    base = atoms.positions.copy()
    reference = {}
    for name, calc in calcs.items():  # warm-up (JIT, caches); forces at the start
        calc.calculate(atoms.copy(), ["energy", "forces", "stress"], all_changes)
        reference[name] = np.array(calc.results["forces"])
    times = {name: [] for name in calcs}
    cpu = {name: [] for name in calcs}
    names = list(calcs)
    for k in range(args.repeat):
        step = atoms.copy()
        step.positions = base + rng.normal(scale=0.01, size=base.shape)
        for name in names[k % len(names) :] + names[: k % len(names)]:
            t0, c0 = time.perf_counter(), time.process_time()
            calcs[name].calculate(step, ["energy", "forces", "stress"], all_changes)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    force_rmse = {
        name: float(np.sqrt(np.mean((reference[name] - reference["EMT"]) ** 2)))
        for name in calcs
        if name != "EMT"
    }
    return {"n_atoms": len(atoms), "times_s": times, "cpu_s": cpu, "force_rmse_vs_emt": force_rmse}


def run_threads(threads: int, model: Path, gap_xml: Path | None, args) -> dict:
    env = dict(
        os.environ,
        NUMBA_NUM_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
        OPENBLAS_NUM_THREADS=str(threads),
        PYTHONPATH=os.pathsep.join(
            [str(ROOT), str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]
        ),
    )
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--model",
        str(model),
        "--repeat",
        str(args.repeat),
        "--seed",
        str(args.seed),
    ]
    if gap_xml is not None:
        cmd += ["--gap-xml", str(gap_xml)]
    load = os.getloadavg()[0]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"worker ({threads} threads) failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = (load, os.getloadavg()[0])
    return result


def table(results: dict[int, dict], commit: str, args) -> list[str]:
    first = next(iter(results.values()))
    names = list(first["times_s"])
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"# python benchmarks/bench_md_step.py --threads {' '.join(map(str, args.threads))} "
        f"--repeat {args.repeat} (commit {commit}; {stamp})",
        f"# {first['n_atoms']} atoms NiCuPdAgPt fcc; one energy+forces+stress call per step, "
        f"{args.repeat} new geometries: wall ms (median [IQR]) and CPU ms of the process "
        "(median; all its threads summed, so the load-robust figure at 1 thread)",
        f"# {os.cpu_count()} cores shared with other jobs; load average before/after each run",
        f"{'threads':>7} {'calculator':<11} {'wall ms':>9} {'IQR ms':>17} {'CPU ms':>8} "
        f"{'wall/EMT':>8} {'CPU/EMT':>8} {'CPU/slimsoap':>12}  load",
    ]
    for threads, res in results.items():
        wall = {n: 1000 * float(np.median(t)) for n, t in res["times_s"].items()}
        cpu = {n: 1000 * float(np.median(t)) for n, t in res["cpu_s"].items()}
        for n in names:
            q1, q3 = (1000 * np.percentile(res["times_s"][n], q) for q in (25, 75))
            lines.append(
                f"{threads:>7} {n:<11} {wall[n]:9.1f} {f'[{q1:.1f}, {q3:.1f}]':>17} "
                f"{cpu[n]:8.1f} {wall[n] / wall['EMT']:8.1f} {cpu[n] / cpu['EMT']:8.1f} "
                f"{cpu[n] / cpu['slimsoap']:12.2f}  {res['load'][0]:.1f}/{res['load'][1]:.1f}"
            )
    rmse = ", ".join(f"{n} {v:.3f}" for n, v in first["force_rmse_vs_emt"].items())
    lines.append(f"# force RMSE vs EMT at the (rattled) starting geometry: {rmse} eV/Å")
    return lines


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeat", type=int, default=10, help="timed steps per calculator")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", help="slimsoap model file (else the cached benchmark model)")
    p.add_argument("--gap-xml", help="GAP xml (else the cached gap_fit one)")
    p.add_argument("--no-gap", action="store_true", help="leave quippy's GAP out")
    p.add_argument("--gap-train", type=int, default=120, help="structures gap_fit sees")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_md import cached_model

    model_path = cached_model(args.model)[1]
    gap_xml = None
    if not args.no_gap:
        gap_xml = Path(args.gap_xml) if args.gap_xml else cached_gap(args.gap_train)
    results = {t: run_threads(t, model_path, gap_xml, args) for t in args.threads}
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    lines = table(results, commit, args)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
