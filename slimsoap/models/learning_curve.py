"""Learning curves of energy models for several descriptors side by side (paper Fig. 7).

For each training size and repeat, a random set of structures is drawn (the same draw for
every descriptor), an :class:`EnergyModel` is fitted on it (σ by cross-validation), and the
errors on the test structures (all the others, or ``n_test`` of them) are recorded: MAE and
RMSE per structure (eV) and per atom (eV/atom). Results are kept as one row per
(descriptor, size, repeat) and summarised as mean ± std over repeats.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from slimsoap._validation import check_bool, check_int
from slimsoap.models.ridge import (
    EnergyModel,
    Matrix,
    as_numbers,
    check_features,
    check_structure_index,
    choice_label,
)

METRICS = ("mae_structure", "rmse_structure", "mae_atom", "rmse_atom")


@dataclass
class LearningCurve:
    """Raw rows and descriptor sizes of a learning-curve run.

    Attributes:
        rows: one dict per (descriptor, n_train, repeat) with the ``METRICS``, ``sigma``
            and ``feature_scaling`` (the scaling the fitted model used); for a model with
            ``choices`` also ``choice`` (the label of the entry kept) and ``candidates``
            ({label: {metric: value}} of every entry on the same test structures), and for
            ``combine="stack"`` ``stack_weights`` ({label: weight}; ``choice`` is the entry of
            largest weight).
        lengths: {descriptor: (total length, mean non-zeros per environment)}.
    """

    rows: list[dict] = field(default_factory=list)
    lengths: dict[str, tuple[int, float]] = field(default_factory=dict)

    def summary(self) -> list[dict]:
        """Mean and std over repeats: one dict per (descriptor, n_train)."""
        out = []
        keys = sorted(
            {(r["descriptor"], r["n_train"]) for r in self.rows},
            key=lambda k: (list(self.lengths).index(k[0]), k[1]),
        )
        for name, n in keys:
            sel = [r for r in self.rows if r["descriptor"] == name and r["n_train"] == n]
            row = {
                "descriptor": name,
                "n_train": n,
                "n_repeats": len(sel),
                "length": self.lengths[name][0],
                "nonzero": self.lengths[name][1],
            }
            for m in METRICS:
                vals = np.array([r[m] for r in sel])
                row[f"{m}_mean"] = float(vals.mean())
                row[f"{m}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
            out.append(row)
        return out

    def to_csv(self, path: str | Path) -> None:
        """Write the summary table as CSV."""
        table = self.summary()
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows(table)

    def to_json(self, path: str | Path) -> None:
        """Write raw rows, summary and descriptor lengths as JSON."""
        Path(path).write_text(
            json.dumps(
                {
                    "rows": self.rows,
                    "summary": self.summary(),
                    "lengths": {k: list(v) for k, v in self.lengths.items()},
                },
                indent=1,
            )
        )

    def plot(
        self, path: str | Path, metric: str = "mae_atom", unit: str = "eV/atom", scale: float = 1.0
    ) -> None:
        """Log-log curve of ``metric`` (× ``scale``, in ``unit``) against training size with
        std error bars; legend gives each descriptor's length and non-zeros per environment."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; use one of {METRICS}")
        table = self.summary()
        fig, ax = plt.subplots(figsize=(5, 4))
        for name, (length, nnz) in self.lengths.items():
            sel = [r for r in table if r["descriptor"] == name]
            n = [r["n_train"] for r in sel]
            ax.errorbar(
                n,
                [scale * r[f"{metric}_mean"] for r in sel],
                yerr=[scale * r[f"{metric}_std"] for r in sel],
                marker="o",
                capsize=3,
                label=f"{name} (d={length}, nnz={nnz:.0f})",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training structures")
        ax.set_ylabel(f"{metric.replace('_', ' ')} ({unit})")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=150)
        plt.close(fig)


def _errors(predicted: np.ndarray, E: np.ndarray, n_atoms: np.ndarray) -> dict:
    """The ``METRICS`` of ``predicted`` total energies (n_test,) against reference energies
    ``E`` (n_test,) of structures with ``n_atoms`` (n_test,) atoms."""
    err = predicted - E
    per_atom = err / n_atoms
    return {
        "mae_structure": float(np.mean(np.abs(err))),
        "rmse_structure": float(np.sqrt(np.mean(err**2))),
        "mae_atom": float(np.mean(np.abs(per_atom))),
        "rmse_atom": float(np.sqrt(np.mean(per_atom**2))),
    }


def _nonzero_per_row(X: Matrix) -> float:
    if sp.issparse(X):
        return float(X.getnnz() / X.shape[0])
    return float(np.count_nonzero(X) / X.shape[0])


def repeats_per_size(n_repeats: int | Sequence[int], sizes: Sequence[int]) -> list[int]:
    """One repeat count (≥ 1) per training size: ``n_repeats`` for every size, or its
    entries when it is a list, tuple or array of ``len(sizes)`` counts."""
    if not isinstance(n_repeats, (list, tuple, np.ndarray)):
        return [check_int("n_repeats", n_repeats, 1)] * len(sizes)
    if len(n_repeats) != len(sizes):
        raise ValueError(f"n_repeats has {len(n_repeats)} counts for {len(sizes)} training sizes")
    return [check_int("n_repeats", k, 1) for k in n_repeats]


def learning_curve(
    descriptors: Mapping[str, Matrix],
    structure_index: np.ndarray,
    energies: np.ndarray,
    species: Sequence[str | int] | np.ndarray,
    train_sizes: Sequence[int],
    n_repeats: int | Sequence[int] = 5,
    n_test: int | None = None,
    model: EnergyModel | None = None,
    random_state: int = 0,
    progress: bool = False,
    test_structures: Sequence[int] | None = None,
) -> LearningCurve:
    """Errors of ``model`` (default ``EnergyModel()``: ζ=1, σ by 10-fold CV) against
    training-set size for every descriptor.

    Args:
        descriptors: {name: per-atom features (n_atoms, d)} of the same atoms.
        structure_index: (n_atoms,) structure of each atom, 0..n_structures-1.
        energies: (n_structures,) total energies.
        species: (n_atoms,) element of each atom.
        train_sizes: numbers of training structures (each < n_structures).
        n_repeats: random draws per size, or one count per entry of ``train_sizes`` (few
            draws where a fit is expensive and its error varies little).
        n_test: test structures per draw (default: all those not in the training set).
            Structures with an element absent from the draw's training set are skipped
            (each row records the ``n_test`` actually used).
        model: an unfitted :class:`EnergyModel` whose parameters are used for every fit.
        random_state: seed of the draws.
        progress: print one line per fit.
        test_structures: a fixed test set (structure indices) used for every draw, the
            training structures being drawn from the others; excludes ``n_test``.
    """
    if not descriptors:
        raise ValueError("descriptors is empty: give at least one {name: features}")
    s = np.asarray(structure_index)
    first = next(iter(descriptors.values()))
    n_structures = check_structure_index(s, first.shape[0])
    E = np.asarray(energies, dtype=np.float64)
    if E.shape != (n_structures,):
        raise ValueError(f"energies must have shape ({n_structures},), got {E.shape}")
    feats = {}
    for name, X in descriptors.items():
        X = check_features(X)
        if X.shape[0] != len(s):
            raise ValueError(f"descriptor {name!r} has {X.shape[0]} rows for {len(s)} atoms")
        feats[name] = sp.csr_matrix(X) if sp.issparse(X) else X
    sizes = [check_int("train size", n, 2) for n in train_sizes]
    if not sizes:
        raise ValueError("train_sizes is empty: give at least one training-set size")
    if test_structures is None:
        pool = np.arange(n_structures)
    else:
        if n_test is not None:
            raise ValueError("give either n_test or test_structures, not both")
        fixed = np.asarray(test_structures)
        if fixed.ndim != 1 or fixed.dtype.kind not in "iu" or len(fixed) == 0:
            raise ValueError("test_structures must be a non-empty 1-D list of structure indices")
        if fixed.min() < 0 or fixed.max() >= n_structures or len(np.unique(fixed)) != len(fixed):
            raise ValueError(f"test_structures must be distinct indices in [0, {n_structures})")
        pool = np.setdiff1d(np.arange(n_structures), fixed)
    if max(sizes) > len(pool) or (test_structures is None and max(sizes) >= n_structures):
        raise ValueError(f"train size {max(sizes)} leaves no test structure out of {n_structures}")
    repeats = repeats_per_size(n_repeats, sizes)
    progress = check_bool("progress", progress)
    template = model if model is not None else EnergyModel()
    species = np.asarray(species)
    species_z = as_numbers(species)
    n_atoms = np.bincount(s)
    order = np.argsort(s, kind="stable")
    starts = np.concatenate([[0], np.cumsum(n_atoms)])

    def atoms_of(structs):
        idx = np.concatenate([order[starts[t] : starts[t + 1]] for t in structs])
        local = np.repeat(np.arange(len(structs)), n_atoms[structs])
        return idx, local

    result = LearningCurve(lengths={k: (v.shape[1], _nonzero_per_row(v)) for k, v in feats.items()})
    rng = np.random.default_rng(random_state)
    for n, n_rep in zip(sizes, repeats, strict=True):
        for rep in range(n_rep):
            perm = rng.permutation(pool)
            train = perm[:n]
            test = perm[n:] if test_structures is None else fixed
            # a structure with an element absent from the training set cannot be predicted
            seen = np.isin(species_z, np.unique(species_z[atoms_of(train)[0]]))
            test = test[np.bincount(s, weights=~seen, minlength=n_structures)[test] == 0]
            if n_test is not None:
                test = test[:n_test]
            tr_idx, tr_s = atoms_of(train)
            te_idx, te_s = atoms_of(test)
            for name, X in feats.items():
                m = EnergyModel(**template.get_params())
                m.fit(X[tr_idx], tr_s, E[train], species[tr_idx])
                test_set = (X[te_idx], te_s, species[te_idx])
                # with choices, every entry predicts once; the model's prediction combines them
                entries = m.predict_candidates(*test_set) if hasattr(m, "choice_") else None
                predicted = (
                    m.predict(*test_set) if entries is None else m.combine_candidates(entries)
                )
                row = {
                    "descriptor": name,
                    "n_train": n,
                    "repeat": rep,
                    "n_test": len(test),
                    "sigma": m.sigma_,
                    "feature_scaling": m.feature_scaling_,
                    **_errors(predicted, E[test], n_atoms[test]),
                }
                if hasattr(m, "choice_"):
                    row["choice"] = choice_label(m.choice_)
                    if m.stack_weights_ is not None:
                        row["stack_weights"] = dict(
                            zip(m.cv_choice_rmse_, m.stack_weights_.tolist(), strict=True)
                        )
                    row["candidates"] = {
                        label: _errors(p, E[test], n_atoms[test])
                        for label, p in zip(m.cv_choice_rmse_, entries, strict=True)
                    }
                result.rows.append(row)
                if progress:
                    print(
                        f"{name:>14s} n={n:6d} rep={rep} MAE={row['mae_structure']:.4g} "
                        f"sigma={m.sigma_:.2g}",
                        flush=True,
                    )
    return result
