"""The paper's comparison of compressions on one data set, end to end (``slimsoap study``).

:func:`run_study` featurises every compression (:func:`slimsoap.study.featurize.featurize`,
locally or on Dask) → lengths and timings → distance/rank correlations and information
imbalance against ν=2 → recovery of ν=2 → energy learning curves → one chemiscope file
per compression (the PCA map of its environments, with the frames' properties), and writes
tables, figures, ``summary.json`` and ``README.txt`` to one directory.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from slimsoap._validation import check_int

#: Compressions of the default study; ``nu2`` (the reference) is always computed.
DEFAULT_COMPRESSIONS = ("nu2", "nu1mu1", "nu1muhat1", "mu2", "random")
#: Frames used when ``StudyConfig.n`` is not given (a user file: all of it).
DEFAULT_FRAMES = {"alloy": 500, "qm9": 1000}
#: What ``--quick`` changes: a run of well under two minutes on two cores.
QUICK = {
    "n": 150,
    "r_cut": 4.5,
    "n_max": 4,
    "l_max": 3,
    "max_environments": 600,
    "n_repeats": 3,
    "batch_size": 32,
}


@dataclass
class StudyConfig:
    """What :func:`run_study` does.

    Attributes:
        data: ``"alloy"`` (EMT alloys from :func:`slimsoap.data.generate`), ``"qm9"`` (the
            first ``n`` molecules of the QM9 set shipped by ``qm9pack``), or a path that
            :func:`slimsoap.data.read_frames` reads (energies in ``info["energy"]``, eV).
        n: frames (default ``DEFAULT_FRAMES[data]``; a file: all, or its first ``n``).
        compressions: SOAP compression names (DESIGN §4); ``nu2`` is added if missing.
        out: output directory (created; existing files of the same names are replaced).
        r_cut, n_max, l_max, sigma: SOAP hyper-parameters (Å, -, -, Å), GTO basis.
        seed: seed of the generated data, of the random maps and of every subsample.
        batch_size: frames per featurisation batch (one Dask task each).
        scheduler: ``None`` (local), ``"local-cluster"`` or a Dask scheduler address.
        n_workers: workers of a local cluster.
        max_environments: environments (random subset) for distance correlations and the
            information imbalance, whose cost grows as N².
        train_sizes: training-set sizes (structures) of the learning curve (default: four
            sizes from 10 to 3/4 of the frames, geometrically spaced).
        n_repeats: random training sets per size.
        cache: cache directory of generated data (default ``$SLIMSOAP_CACHE``).
        progress: progress bars and one line per step on stdout.
        chemiscope: write ``chemiscope/<compression>.json.gz`` (needs the optional
            ``chemiscope`` package; skipped with a note in ``summary.json`` without it).
    """

    data: str = "alloy"
    n: int | None = None
    compressions: tuple[str, ...] = DEFAULT_COMPRESSIONS
    out: str = "slimsoap-study"
    r_cut: float = 5.0
    n_max: int = 6
    l_max: int = 4
    sigma: float = 0.5
    seed: int = 0
    batch_size: int = 32
    scheduler: str | None = None
    n_workers: int | None = None
    max_environments: int = 2000
    train_sizes: tuple[int, ...] | None = None
    n_repeats: int = 5
    cache: str | None = None
    progress: bool = True
    chemiscope: bool = True

    def __post_init__(self):
        for name in ("batch_size", "max_environments", "n_repeats"):
            setattr(self, name, check_int(name, getattr(self, name), 1))
        if self.train_sizes is not None:
            self.train_sizes = tuple(check_int("train_sizes", t, 1) for t in self.train_sizes)

    @classmethod
    def quick(cls, **overrides) -> StudyConfig:
        """The ``--quick`` settings (``QUICK``), with ``overrides`` on top."""
        return cls(**{**QUICK, **overrides})


def load_frames(config: StudyConfig) -> tuple[list[Atoms], str]:
    """The study's frames and a description of where they came from."""
    from slimsoap.data import generate, read_frames, read_qm9pack

    n = config.n if config.n is not None else DEFAULT_FRAMES.get(config.data)
    if n is not None:
        n = check_int("n", n, 1)
    if config.data == "alloy":
        path = generate("alloy", n=n, seed=config.seed, cache=config.cache)
        return list(read_frames(path)), f"EMT alloys, generated (seed {config.seed}): {path}"
    if config.data == "qm9":
        frames = list(itertools.islice(read_qm9pack(properties=False), n))
        return frames, f"QM9 (qm9pack), first {len(frames)} molecules, U0 in eV"
    if config.data != "qm9pack" and not Path(config.data).exists():
        raise FileNotFoundError(
            f"data {config.data!r} is not 'alloy', 'qm9' or an existing file or directory "
            "(other generated sets: `slimsoap data generate amino|elpasolite`, then pass the path)"
        )
    frames = read_frames(config.data)
    if n is not None:
        frames = itertools.islice(frames, n)
    return list(frames), f"file {config.data}"


def _say(config: StudyConfig, text: str) -> None:
    if config.progress:
        print(text, flush=True)


@contextlib.contextmanager
def _step(config: StudyConfig, steps: dict, name: str):
    """Announce a step of the study and record its wall time (s) in ``steps[name]``."""
    _say(config, f"{name} ...")
    t0 = time.perf_counter()
    yield
    steps[name] = time.perf_counter() - t0


def _calculators(config: StudyConfig, species: list[int]) -> dict:
    from slimsoap.soap import compressions
    from slimsoap.soap.calculator import SOAP

    names = list(dict.fromkeys(["nu2", *config.compressions]))
    out = {}
    for name in names:
        options = {"seed": config.seed} if compressions.get(name).seeded else {}
        out[name] = SOAP(
            species, config.r_cut, config.n_max, config.l_max, config.sigma,
            compression=name, **options,
        )  # fmt: skip
    return out


def _featurize_all(config, frames, calculators, out, client) -> tuple[dict, dict]:
    """Every compression into ``out/features/<name>.zarr``; (values, timings) by name."""
    from slimsoap.study.featurize import featurize

    n_atoms = sum(len(a) for a in frames)
    values, timings = {}, {}
    for name, calc in calculators.items():
        calc.compute(frames[:1])  # compile and warm up outside the timing
        t0 = time.perf_counter()
        store = featurize(
            frames,
            calc,
            out / "features" / f"{name}.zarr",
            batch_size=config.batch_size,
            client=client,
            overwrite=True,
            progress=config.progress,
        )
        seconds = time.perf_counter() - t0
        values[name] = store.values()
        timings[name] = {"seconds": seconds, "atoms_per_s": n_atoms / seconds}
        _say(config, f"  {name}: {calc.n_features} features, {seconds:.2f} s")
    return values, timings


def _lengths(calculators, values, timings) -> list[dict]:
    rows = []
    for name, calc in calculators.items():
        x = values[name]
        rows.append(
            {
                "compression": name,
                "length": calc.n_features,
                "nonzero_mean": float(np.count_nonzero(x) / x.shape[0]),
                "featurize_s": timings[name]["seconds"],
                "atoms_per_s": timings[name]["atoms_per_s"],
            }
        )
    return rows


def _correlations(values, idx, figures, written: list) -> list[dict]:
    from slimsoap.analysis import distance_correlation
    from slimsoap.analysis.plots import plot_distance_correlation

    ref = values["nu2"][idx]
    rows = []
    for name, x in values.items():
        try:
            r = distance_correlation(ref, x[idx])
        except ValueError as err:  # e.g. a descriptor that cannot tell any two apart
            rows.append({"compression": name, "error": str(err)})
            continue
        for kind in ("distance", "rank"):
            path = figures / f"{kind}_{name}.png"
            written.append(plot_distance_correlation(r, path, kind, ("ν=2", name)))
        rows.append(
            {
                "compression": name,
                "pearson": r.pearson,
                "spearman": r.spearman,
                "rank_pearson": r.rank_pearson,
                "n_environments": r.n_environments,
            }
        )
    return rows


def _imbalance(config, values, figures, written: list) -> list[dict]:
    from slimsoap.analysis import imbalance_plane
    from slimsoap.analysis.plots import plot_imbalance_plane

    n = values["nu2"].shape[0]
    sub = n > config.max_environments
    plane = imbalance_plane(
        values["nu2"],
        values,
        n_samples=config.max_environments if sub else None,
        n_repeats=3 if sub else 1,
        seed=config.seed,
    )
    written.append(plot_imbalance_plane(plane, figures / "imbalance_plane.png"))
    return [
        {
            "compression": name,
            "from_nu2": float(plane.from_reference[i]),
            "to_nu2": float(plane.to_reference[i]),
            "from_nu2_err": float(plane.from_reference_err[i]),
            "to_nu2_err": float(plane.to_reference_err[i]),
            "n_samples": plane.n_samples,
        }
        for i, name in enumerate(plane.names)
    ]


def _recovery(calculators, values) -> dict:
    from slimsoap.soap.recovery import recover

    ref = values["nu2"]
    out = {}
    for name, calc in calculators.items():
        caps = calc.capabilities
        if not caps.recoverable:
            if "recoverable" in caps.reasons:  # recoverable, but not with these options
                out[name] = {"error": caps.reasons["recoverable"]}
            continue
        full, report = recover(values[name], calc, return_report=True)
        diff = float(np.max(np.abs(full - ref)))
        out[name] = {
            "max_abs_error": diff,
            "relative_error": diff / float(np.max(np.abs(ref))),
            "max_condition": float(report.condition.max()),
            "exact_fraction": float(report.exact.mean()),
        }
    return out


def _train_sizes(config, n_frames) -> list[int]:
    if config.train_sizes is not None:
        return [int(t) for t in config.train_sizes]
    top = int(0.75 * n_frames)
    if top < 10:
        return []
    return sorted({int(round(t)) for t in np.geomspace(10, top, 4)})


def _learning(config, values, frame_index, numbers, energy, out, written: list) -> dict:
    from slimsoap.models import EnergyModel, learning_curve

    if not np.all(np.isfinite(energy)):
        return {"skipped": "some frames have no energy (info['energy'])"}
    sizes = _train_sizes(config, len(energy))
    if not sizes:
        return {"skipped": f"too few frames ({len(energy)}) for a learning curve"}
    curve = learning_curve(
        values,
        frame_index,
        energy,
        numbers,
        sizes,
        n_repeats=config.n_repeats,
        model=EnergyModel(zeta=1, solver="primal", n_folds=5, random_state=config.seed),
        random_state=config.seed,
    )
    paths = [out / "learning_curve.csv", out / "learning_curve.json"]
    paths.append(out / "figures" / "learning_curve.png")
    curve.to_csv(paths[0])
    curve.to_json(paths[1])
    curve.plot(paths[2], unit="meV/atom", scale=1000.0)
    written += paths
    largest = [r for r in curve.summary() if r["n_train"] == max(sizes)]
    return {
        "train_sizes": sizes,
        "model": "EnergyModel(zeta=1, primal, sigma by 5-fold CV) + chemical potentials",
        "mae_atom_eV_at_largest": {r["descriptor"]: r["mae_atom_mean"] for r in largest},
    }


def _chemiscope_maps(config, frames, values, frame_index, energy, out, written: list) -> dict:
    """``chemiscope/<name>.json.gz`` per compression: every environment (atom) on the PCA map
    of that compression's descriptors, with the frames' energies and sizes and the atoms'
    atomic numbers as properties; {name: file} or {"skipped": reason}."""
    if not config.chemiscope:
        return {"skipped": "chemiscope=False"}
    try:
        import chemiscope  # noqa: F401
    except ImportError:
        return {"skipped": "chemiscope is not installed (pip install 'slimsoap[chemiscope]')"}
    from slimsoap.features import Features
    from slimsoap.io.chemiscope import write_chemiscope

    folder = out / "chemiscope"
    folder.mkdir(exist_ok=True)
    sizes = np.array([len(a) for a in frames])
    properties = {
        "n_atoms": {"target": "structure", "values": sizes, "description": "atoms per frame"},
        "atomic number": {"target": "atom", "values": np.concatenate([a.numbers for a in frames])},
    }
    if np.all(np.isfinite(energy)):
        properties["energy"] = {"target": "structure", "values": energy, "units": "eV"}
        properties["energy per atom"] = {
            "target": "structure",
            "values": energy / sizes,
            "units": "eV/atom",
        }
    files = {}
    for name, x in values.items():
        path = folder / f"{name}.json.gz"
        write_chemiscope(
            path, frames, Features(values=x, frame_index=frame_index), properties=properties,
            target="atom", cutoff=config.r_cut, name=f"slimsoap study: {name}",
        )  # fmt: skip
        written.append(path)
        files[name] = str(path.relative_to(out))
    return files


def _write_csv(path: Path, rows: list[dict]) -> Path:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    return path


_README = """\
slimsoap study: compressed SOAP descriptors compared with the full nu=2 power spectrum.

Data: {data}
Frames: {n_frames}, atoms (environments): {n_atoms}, species: {species}
SOAP: r_cut={r_cut} A, n_max={n_max}, l_max={l_max}, sigma={sigma} A, GTO basis,
cutoff_width=0.5 A, centre weight 1. Seed {seed}.

summary.json          everything below in one file, plus the configuration
lengths.csv           per compression: length (features), mean non-zeros per environment,
                      featurisation wall time (s, after JIT warm-up in this process,
                      including the zarr writes; with Dask also the scheduling and the
                      workers' first compile) and atoms/s
correlations.csv      distance-distance (Pearson, Spearman) and rank-rank correlation of each
                      compression against nu2 on {n_env} environments
imbalance.csv         information imbalance Delta(nu2 -> D) and Delta(D -> nu2) (k=1)
recovery.json         the full nu2 spectrum rebuilt from each recoverable compression, and its
                      largest absolute and relative (to max |nu2|) error
learning_curve.csv    energy errors (eV per structure and per atom; mean/std over repeats)
learning_curve.json   against the number of training structures, per compression
features/NAME.zarr    the descriptors of every atom (zarr v3; slimsoap.io.load_features)
figures/distance_NAME.png, figures/rank_NAME.png   correlation histograms against nu2
figures/imbalance_plane.png                        the information-imbalance plane
figures/learning_curve.png                         MAE per atom (meV/atom) vs training size
chemiscope/NAME.json.gz   every environment on the PCA map of that compression's descriptors,
                          with the frames' energies (eV, eV/atom) and sizes and the atoms'
                          atomic numbers; open it at https://chemiscope.org
"""


def run_study(config: StudyConfig | None = None) -> Path:
    """Run the whole comparison of compressions and return the results directory.

    Steps: load or generate the frames; featurise every compression into zarr stores
    (locally or on Dask, per ``config.scheduler``); tabulate lengths and timings;
    distance/rank correlations and information imbalance against ``nu2`` on up to
    ``config.max_environments`` environments; recovery of ``nu2`` from every recoverable
    compression; energy learning curves (ζ = 1 ridge); a chemiscope file per compression.
    See ``README.txt`` in the output.

    Every compression's values are read back into memory for the analyses (dense: about
    n_atoms × length × 8 bytes each), so the study suits data sets up to some 10⁴–10⁵
    environments; beyond that, use :func:`featurize` and the analyses on subsets.
    """
    from slimsoap.io.store import FeatureStore
    from slimsoap.study.featurize import make_client

    config = config or StudyConfig()
    t_start = time.perf_counter()
    out = Path(config.out)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)

    steps: dict[str, float] = {}
    with _step(config, steps, "data"):
        frames, source = load_frames(config)
    if len(frames) < 2:
        raise ValueError(f"the study needs at least 2 frames, got {len(frames)} from {source}")
    numbers = np.concatenate([a.numbers for a in frames]).astype(np.int64)
    species = sorted({int(z) for z in numbers})
    _say(config, f"data: {source}: {len(frames)} frames, {len(numbers)} atoms")
    calculators = _calculators(config, species)

    with (
        _step(config, steps, "featurize"),
        make_client(config.scheduler, config.n_workers) as client,
    ):
        values, timings = _featurize_all(config, frames, calculators, out, client)
    store = FeatureStore.open(out / "features" / "nu2.zarr")
    frame_index, energy = store.frame_index, store.energy

    written = [out / "features" / f"{name}.zarr" for name in calculators]
    lengths = _lengths(calculators, values, timings)
    written.append(_write_csv(out / "lengths.csv", lengths))
    rng = np.random.default_rng(config.seed)
    n_env = len(numbers)
    idx = np.sort(rng.choice(n_env, size=min(n_env, config.max_environments), replace=False))
    with _step(config, steps, "distance and rank correlations"):
        correlations = _correlations(values, idx, figures, written)
    written.append(_write_csv(out / "correlations.csv", correlations))
    with _step(config, steps, "information imbalance"):
        imbalance = _imbalance(config, values, figures, written)
    written.append(_write_csv(out / "imbalance.csv", imbalance))
    with _step(config, steps, "recovery"):
        recovery = _recovery(calculators, values)
    (out / "recovery.json").write_text(json.dumps(recovery, indent=1))
    written.append(out / "recovery.json")
    with _step(config, steps, "learning curves"):
        learning = _learning(config, values, frame_index, numbers, energy, out, written)
    with _step(config, steps, "chemiscope maps"):
        maps = _chemiscope_maps(config, frames, values, frame_index, energy, out, written)

    symbols = [chemical_symbols[z] for z in species]
    summary = {
        "config": asdict(config),
        "data": {
            "source": source,
            "n_frames": len(frames),
            "n_atoms": n_env,
            "species": symbols,
        },
        "calculators": {name: c.to_dict() for name, c in calculators.items()},
        "lengths": lengths,
        "distance_correlation": correlations,
        "information_imbalance": imbalance,
        "recovery": recovery,
        "learning_curve": learning,
        "chemiscope": maps,
    }
    (out / "README.txt").write_text(
        _README.format(
            data=source,
            n_frames=len(frames),
            n_atoms=n_env,
            species=" ".join(symbols),
            n_env=len(idx),
            **{k: getattr(config, k) for k in ("r_cut", "n_max", "l_max", "sigma", "seed")},
        )
    )
    written += [out / "README.txt", out / "summary.json"]
    summary["files"] = sorted(str(p.relative_to(out)) for p in written)
    summary["step_seconds"] = steps
    summary["wall_time_s"] = time.perf_counter() - t_start
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    _say(config, f"done in {summary['wall_time_s']:.1f} s: {out}")
    return out
