"""What every section of ``slimsoap reproduce`` shares: settings, data, cached features.

A section is a module with ``KEY``, ``TITLE``, ``params(config) -> dict`` (everything its
numbers depend on) and ``run(ctx) -> Section``. :class:`Context` gives it the output
directory, the data sets (generated into ``DIR/data``), feature stores cached under
``DIR/features`` (:func:`slimsoap.study.featurize.featurize`; a store is reused when its
calculator, frames and data are the same) and counts what it recomputed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class ReproduceConfig:
    """Sizes and hyper-parameters of one reproduction run (``quick()`` or ``full()``).

    Attributes:
        alloy_n: generated EMT alloy configurations (15 % are liquid MD snapshots).
        alloy_elements: the five metals of the HEA analogue.
        amino_n: generated amino acids (GFN2-xTB geometry optimised, half with cations).
        elpasolite_n: generated elpasolites (GFN1 proxy energies).
        elpasolite_elements: the elements of their sites (``None``: all 39 of the paper).
        fig7_sets: the data sets of the Fig. 7 learning curves (``qm9``, ``amino``,
            ``elpasolite``; the elpasolites' GFN1 energies take seconds per cell).
        qm9_n: first QM9 molecules read from ``qm9pack`` (25 000: the largest training size
            is at most 80 % of the structures, so 20 000 needs 25 000).
        qm9_test: QM9 test molecules per draw, random among those outside its training set
            (``None``: all of them). The kernel models' predictions cost as much per test
            molecule as their fit per training molecule: testing 5 000 instead of up to
            24 900 per draw cuts that cost about fivefold at the small training sizes.
        n_max, l_max, r_cut, sigma: SOAP basis size and cutoff / Gaussian width (Å) of
            Figs. 4-10 (Table 1 uses the paper's N=12, L=9).
        qm9_r_cut: SOAP cutoff for the molecules (Å).
        qm9_basis: (n_max, l_max) of the QM9 SOAP (smaller than the alloys': at (6, 4) the
            dense ν=2 values of 24 000 molecules take 8 GB and the models' working copies
            took the full run past 22 GB, killed for memory on a 24 GB machine; (4, 3) is
            2.8× smaller).
        train_sizes: training-set sizes of the QM9 learning curves (Figs. 7, 10).
        small_train_sizes: sizes for the amino-acid and elpasolite learning curves.
        n_repeats: random training sets per size.
        one_draw_from: training sizes from this one on get a single draw (``None``: every
            size gets ``n_repeats``). A fit at 20 000 QM9 molecules costs tens of times one
            at 1 000, and its error varies little between draws.
        curves_basis: (n_max, l_max) of the SOAP of the amino-acid and elpasolite
            learning curves (Fig. 7; ν=2 of the 11 amino-acid elements is 27 412 long at
            (8, 6) and 3 960 at (4, 3), and the models' cost grows with it).
        max_environments: environments for correlations and information imbalance.
        sparse_points: sparse points per centre species of the force-field fits (Fig. 8;
            x 5 species in all, a decade and more like the paper's axis; 400 per species is
            2 000 columns, whose dense design matrix and QR the fit's cost grows with).
        gp_frames: alloy configurations used by the force fields (80 % train, 20 % test;
            ``None``: all).
        n_sensitivity: liquid environments of the sensitivity analysis (Fig. 9).
        krr_sparse: representative environments of the kernel baseline (Nyström).
        seed: seed of every draw.
    """

    alloy_n: int = 2000
    alloy_elements: tuple[str, ...] = ("Al", "Cu", "Ag", "Au", "Ni")
    amino_n: int = 1000
    elpasolite_n: int = 2000
    elpasolite_elements: tuple[str, ...] | None = None
    fig7_sets: tuple[str, ...] = ("qm9", "amino", "elpasolite")
    qm9_n: int = 25000
    qm9_test: int | None = 5000
    n_max: int = 8
    l_max: int = 6
    r_cut: float = 5.0
    sigma: float = 0.5
    qm9_r_cut: float = 4.5
    qm9_basis: tuple[int, int] = (4, 3)
    train_sizes: tuple[int, ...] = (100, 300, 1000, 3000, 10000, 20000)
    small_train_sizes: tuple[int, ...] = (50, 100, 200, 400, 800)
    n_repeats: int = 3
    one_draw_from: int | None = 10000
    curves_basis: tuple[int, int] = (4, 3)
    max_environments: int = 3000
    sparse_points: tuple[int, ...] = (25, 50, 100, 200, 400)
    gp_frames: int | None = 600
    n_sensitivity: int = 50
    krr_sparse: int = 3000
    seed: int = 0

    @classmethod
    def full(cls, **overrides) -> ReproduceConfig:
        """The full run (hours on a few cores)."""
        return cls(**overrides)

    @classmethod
    def quick(cls, **overrides) -> ReproduceConfig:
        """``--quick``: small data and bases, a few minutes on two cores."""
        quick = {
            "alloy_n": 200,
            "amino_n": 40,
            "elpasolite_n": 80,
            "elpasolite_elements": ("Li", "Na", "K", "Mg", "Ca", "F", "Cl", "Br"),
            "fig7_sets": ("qm9", "amino"),
            "qm9_n": 400,
            "qm9_test": None,
            "n_max": 4,
            "l_max": 3,
            "r_cut": 4.5,
            "qm9_r_cut": 4.0,
            "qm9_basis": (4, 3),
            "train_sizes": (40, 100, 300),
            "small_train_sizes": (10, 20, 30),
            "n_repeats": 2,
            "one_draw_from": None,
            "max_environments": 400,
            "sparse_points": (20, 50, 100),
            "gp_frames": 60,
            "n_sensitivity": 5,
            "krr_sparse": 300,
        }
        return cls(**{**quick, **overrides})

    def repeats(self, sizes) -> list[int]:
        """Draws per training size in ``sizes`` (``n_repeats``, one from ``one_draw_from``)."""
        big = self.one_draw_from
        return [1 if big is not None and n >= big else self.n_repeats for n in sizes]

    def to_dict(self) -> dict:
        """JSON-ready settings (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))


@dataclass
class Section:
    """One figure or table of the paper, checked.

    Attributes:
        key: registry name (``"fig4"``).
        title: the figure/table it reproduces.
        claim: the paper's claim, quoted or paraphrased, with the figure number.
        criterion: how ``holds`` is decided from ``numbers``.
        holds: whether the claim holds on slimsoap's numbers.
        numbers: slimsoap's numbers behind the verdict (JSON-ready).
        files: files written, relative to the output directory.
        notes: what differs from the paper (data, sizes, proxies).
        seconds: wall time of the run that computed it (s).
        cpu_seconds: CPU time of that run, all threads of the process (s): with no other
            work on the machine the wall time is at most this.
        cached: whether this run reused the stored result.
    """

    key: str
    title: str
    claim: str
    criterion: str
    holds: bool
    numbers: dict
    files: list[str]
    notes: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    cached: bool = False

    def repeats(self, sizes) -> list[int]:
        """Draws per training size in ``sizes`` (``n_repeats``, one from ``one_draw_from``)."""
        big = self.one_draw_from
        return [1 if big is not None and n >= big else self.n_repeats for n in sizes]

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


def params_hash(params: dict) -> str:
    """Stable 16-hex-digit hash of JSON-ready ``params``."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Context:
    """Output directory, settings and caches of one ``slimsoap reproduce`` run.

    Attributes:
        out: output directory.
        config: the run's settings.
        progress: print one line per step.
        recomputed: names of every feature store and section computed (not reused) by
            this run, in order.
    """

    out: Path
    config: ReproduceConfig
    progress: bool = True
    recomputed: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        """One progress line."""
        if self.progress:
            print(text, flush=True)

    def section_dir(self, key: str) -> Path:
        """``DIR/<key>``, created."""
        path = self.out / key
        path.mkdir(parents=True, exist_ok=True)
        return path

    # ------------------------------------------------------------------------ data
    def frames(self, kind: str, energies: bool = True) -> list:
        """Frames of data set ``kind``: ``alloy``, ``liquid`` (alloy liquid snapshots with at
        least 3 elements), ``amino``, ``elpasolite`` (with GFN1 proxy energies unless
        ``energies`` is False) or ``qm9``."""
        from slimsoap.data import generate, read_frames, read_qm9pack

        c = self.config
        cache = self.out / "data"
        if kind == "qm9":
            return list(itertools.islice(read_qm9pack(properties=False), c.qm9_n))
        if kind == "liquid":
            return [
                a
                for a in self.frames("alloy")
                if a.info.get("config_type") == "liquid" and len(set(a.numbers)) >= 3
            ]
        sizes = {"alloy": c.alloy_n, "amino": c.amino_n, "elpasolite": c.elpasolite_n}
        if kind not in sizes:
            raise ValueError(f"unknown data set {kind!r}")
        options = {
            "alloy": {"elements": list(c.alloy_elements)},
            "elpasolite": {"energies": energies}
            | ({"elements": list(c.elpasolite_elements)} if c.elpasolite_elements else {}),
        }.get(kind, {})
        path = generate(kind, n=sizes[kind], seed=c.seed, cache=cache, **options)
        return list(read_frames(path))

    # -------------------------------------------------------------------- features
    def features(
        self, dataset: str, frames: list, calculator, gradients: bool = False, sparse: bool = False
    ):
        """The feature store of ``calculator`` on ``frames`` (named ``dataset``), computed
        into ``DIR/features/<dataset>/<hash>.zarr`` or reused when it is complete;
        ``sparse``: CSR values built from the species present (many elements)."""
        from slimsoap.io.store import FeatureStore
        from slimsoap.study.featurize import featurize

        key = params_hash(
            {
                "calculator": calculator.to_dict(),
                "fitted": {
                    k: params_hash({"a": np.asarray(v).tolist()})
                    for k, v in sorted(calculator.fitted_arrays().items())
                },
                "frames": _frames_hash(frames),
                "gradients": gradients,
            }
            | ({"sparse": True} if sparse else {})
        )
        path = self.out / "features" / dataset / f"{key}.zarr"
        done = path.with_suffix(".done")
        if done.exists():
            return FeatureStore.open(path)
        self.recomputed.append(f"features/{dataset}/{key}")
        store = featurize(
            frames,
            calculator,
            path,
            batch_size=32,
            gradients=gradients,
            sparse=sparse,
            overwrite=True,
            progress=False,
        )
        done.write_text("complete\n")
        return store


def _frames_hash(frames: list) -> str:
    h = hashlib.sha256()
    for a in frames:
        h.update(np.ascontiguousarray(a.numbers, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(a.positions, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(a.cell.array, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]
