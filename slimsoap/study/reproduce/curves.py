"""Energy learning curves with two baselines on the same splits (Figs. 7 and 10).

Models, each on the same random training sets (``learning_curve``'s draws):

- ``energy_model``: :class:`~slimsoap.models.EnergyModel` with ``choices`` over
  ``CHOICES`` — ζ=1 on the raw features, ζ=1 on per-feature standardised features, the
  ``ridge`` baseline's model (ζ=1 standardised, loss on the total energies, chemical
  potentials first, an unpenalised intercept, σ² on the baseline's λ grid) with σ by
  EnergyModel's CV, ζ=2 on
  normalised rows (Nyström with ``n_sparse`` CUR points) —, σ per entry by 5-fold CV and
  ``combine="stack"``: the convex combination of the entries whose
  out-of-fold predictions on the same folds have the lowest MAE (training structures only;
  the weights are reported per size and repeat);
- ``ridge``: element reference energies by least squares on the training structures, then
  scikit-learn ``RidgeCV`` on per-feature standardised per-structure summed descriptors
  for the rest, λ by efficient leave-one-out CV (one decomposition for the whole λ grid;
  an independent implementation);
- ``krr``: the paper's kernel model, ζ=2 on normalised descriptors with the same Nyström
  points: the kernel entry of ``energy_model``'s choices, fitted once for both;
- ``zeta1``, ``zeta1_std``, ``zeta1_ridge``: the ζ=1 entries alone (the paper's RR), for
  the record.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

MODELS = ("energy_model", "ridge", "krr")
#: ``EnergyModel(n_folds=...)`` of the curves: the CV that picks σ and the stack weights.
#: On the full amino-acid curves (1,000 molecules, 50-800, 3 draws) exact leave-one-out
#: ("loo") put EnergyModel at most the better baseline in 8 of 15 cases, 5-fold in 9
#: (docs/design.md §11).
CV_FOLDS: int | str = 5
#: λ grid of the ``ridge`` baseline's ``RidgeCV``; the ``zeta1_ridge`` entry's σ grid is √λ
#: (with the loss on total energies, σ² is ridge's λ).
RIDGE_ALPHAS = np.logspace(-8, 4, 25)
MODEL_LABELS = {
    "energy_model": "EnergyModel (CV choice)",
    "ridge": "ridge (standardised)",
    "krr": "KRR ζ=2",
}
#: ``EnergyModel(choices=...)`` of the curves, and the model name each entry is reported as.
CHOICES = (
    ({"zeta": 1, "normalize": False, "feature_scaling": None}, "zeta1"),
    ({"zeta": 1, "normalize": False, "feature_scaling": "standard"}, "zeta1_std"),
    (
        {
            "zeta": 1,
            "normalize": False,
            "feature_scaling": "standard",
            "loss": "per_structure",
            "chemical_potentials": "separate",
            "intercept": True,
            "sigma_grid": tuple(np.sqrt(RIDGE_ALPHAS)),
        },
        "zeta1_ridge",
    ),
    ({"zeta": 2, "normalize": True, "feature_scaling": None, "solver": "sparse"}, "krr"),
)


def _ridge_rows(X, s, E, numbers, sizes, n_repeats, seed, n_test=None) -> list[dict]:
    """The ridge baseline on ``learning_curve``'s draws (same generator, same order, the
    same ``n_test`` test structures)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from slimsoap.models.learning_curve import repeats_per_size
    from slimsoap.models.ridge import structure_matrix

    n_structures = len(E)
    S = structure_matrix(s, n_structures)
    elements = np.unique(numbers)
    counts = np.stack([S @ (numbers == z).astype(float) for z in elements], axis=1)
    phi = S @ X  # dense, or CSR for species-sparse features
    if not sp.issparse(phi):
        phi = np.asarray(phi)
    n_atoms = counts.sum(axis=1)
    rng = np.random.default_rng(seed)
    rows = []
    for n, n_rep in zip(sizes, repeats_per_size(n_repeats, sizes), strict=True):
        for rep in range(n_rep):
            perm = rng.permutation(n_structures)
            train, test = perm[:n], perm[n:]
            seen = counts[train].sum(axis=0) > 0
            test = test[counts[test][:, ~seen].sum(axis=1) == 0][:n_test]
            model = make_pipeline(
                StandardScaler(with_mean=not sp.issparse(phi)),  # the intercept centres
                RidgeCV(alphas=RIDGE_ALPHAS),  # leave-one-out for every λ at once
            )
            mu = np.linalg.lstsq(counts[train], E[train], rcond=None)[0]
            model.fit(phi[train], E[train] - counts[train] @ mu)
            err = (model.predict(phi[test]) + counts[test] @ mu - E[test]) / n_atoms[test]
            rows.append({"n_train": n, "repeat": rep, "mae_atom": float(np.mean(np.abs(err))),
                         "alpha": float(model[-1].alpha_), "n_test": len(test)})  # fmt: skip
    return rows


def model_curves(
    descriptors: dict,
    s,
    E,
    numbers,
    sizes,
    n_repeats,
    seed: int,
    n_sparse: int,
    n_test: int | None = None,
) -> dict:
    """MAE per atom (eV/atom, mean over repeats) by model, descriptor and training size.

    ``n_repeats``: draws per size, one count or one per size (``learning_curve``). Every
    draw tests on ``n_test`` random structures outside its training set (``None``:
    all of them; the cost of the kernel models' predictions grows with the test set).

    ``descriptors``: {name: per-atom features, or a function of no argument returning
    them}. Descriptors are fitted one at a time and a function's array is dropped after
    use, so at most one descriptor's features are held (the draws do not depend on which
    descriptors are fitted).

    Returns:
        ``{"rows": [{model, descriptor, n_train, mae_atom_mean, ...}], "lengths": {name:
        (d, nnz)}, "choice": {descriptor: {n_train: [{entry: stack weight} per repeat]}}}``.
    """
    rows, lengths, choice = [], {}, {}
    for name, values in descriptors.items():
        X = values() if callable(values) else values
        one = _descriptor_curves(name, X, s, E, numbers, sizes, n_repeats, seed, n_sparse, n_test)
        del X
        rows += one["rows"]
        lengths[name] = one["length"]
        choice[name] = one["choice"]
    return {"rows": rows, "lengths": lengths, "choice": choice}


def _descriptor_curves(name, X, s, E, numbers, sizes, n_repeats, seed, n_sparse, n_test) -> dict:
    """:func:`model_curves` of one descriptor: rows, [length, nnz] and the picks."""
    from slimsoap.models import EnergyModel, learning_curve
    from slimsoap.models.ridge import choice_label

    names = {choice_label(c): key for c, key in CHOICES}
    model = EnergyModel(choices=[c for c, _ in CHOICES], n_sparse=n_sparse, n_folds=CV_FOLDS,
                        cv_metric="mae", combine="stack", random_state=seed)  # fmt: skip
    curve = learning_curve({name: X}, s, E, numbers, sizes, n_repeats=n_repeats,
                           model=model, random_state=seed, n_test=n_test)  # fmt: skip
    length = list(curve.lengths[name])
    tested = {n: [r["n_test"] for r in curve.rows if r["n_train"] == n] for n in sizes}
    rows = [{"model": "energy_model", **r, "n_test": float(np.mean(tested[r["n_train"]]))}
            for r in curve.summary()]  # fmt: skip
    choice: dict = {}
    by_model: dict = {}
    for r in curve.rows:
        weights = {names[k]: w for k, w in r["stack_weights"].items() if w > 0}
        choice.setdefault(str(r["n_train"]), []).append(weights)
        for label, err in r["candidates"].items():
            by_model.setdefault((names[label], r["n_train"]), []).append(err["mae_atom"])
    raw = _ridge_rows(X, s, E, numbers, sizes, n_repeats, seed, n_test)
    for n in sizes:
        by_model[("ridge", n)] = [r["mae_atom"] for r in raw if r["n_train"] == n]
    ridge_tested = {n: [r["n_test"] for r in raw if r["n_train"] == n] for n in sizes}
    for (key, n), sel in by_model.items():
        rows.append({"model": key, "descriptor": name, "n_train": n,
                     "n_test": float(np.mean((ridge_tested if key == "ridge" else tested)[n])),
                     "mae_atom_mean": float(np.mean(sel)),
                     "mae_atom_std": float(np.std(sel, ddof=1)) if len(sel) > 1 else 0.0,
                     "length": length[0], "nonzero": length[1]})  # fmt: skip
    return {"rows": rows, "length": length, "choice": choice}


def model_quality(rows: list[dict]) -> dict:
    """Whether EnergyModel's mean MAE is at most the better baseline's at every size and for
    every descriptor: the ratios, and for each case where it is not, the excess in units of
    the standard error of the difference (std over repeats; 0 with one repeat)."""
    table = {(r["model"], r["descriptor"], r["n_train"]): r for r in rows}
    ratios, worse = {}, {}
    for (model, name, n), r in table.items():
        if model != "energy_model":
            continue
        best = min(
            (table[(b, name, n)] for b in ("ridge", "krr")), key=lambda b: b["mae_atom_mean"]
        )
        key = f"{name}@{n}"
        ratios[key] = r["mae_atom_mean"] / best["mae_atom_mean"]
        if ratios[key] > 1.0:
            k = max(r.get("n_repeats", 1), 1)
            se = np.hypot(r["mae_atom_std"], best["mae_atom_std"]) / np.sqrt(k)
            excess = r["mae_atom_mean"] - best["mae_atom_mean"]
            worse[key] = {"ratio": ratios[key], "excess_in_se": float(excess / se) if se else None}
    return {
        "holds": not worse,
        "energy_model_over_best": ratios,
        "worse": worse,
        "n_cases": len(ratios),
    }


def quality_note(quality: dict) -> str:
    """One sentence on ``model_quality``: how often EnergyModel is at most the better
    baseline, and the worst case."""
    n, bad = quality["n_cases"], quality["worse"]
    if not bad:
        return f"EnergyModel at most the better baseline in all {n} (descriptor, size) cases."
    key, w = max(bad.items(), key=lambda kv: kv[1]["ratio"])
    se = "" if w["excess_in_se"] is None else f", {w['excess_in_se']:.1f} standard errors"
    return (
        f"EnergyModel at most the better baseline in {n - len(bad)} of {n} (descriptor, size) "
        f"cases; worst {key}: {w['ratio']:.2f}× the better baseline{se}."
    )


def plot_curves(ax, result: dict, title: str, descriptors) -> None:
    """Log-log MAE (meV/atom) against training size: colour = descriptor, style = model.

    The y range holds every point up to 10 × the largest EnergyModel or KRR point; a
    baseline point above that (the ridge baseline's blow-ups on rare elements, 10³⁰
    meV/atom on the elpasolites) is drawn on the top edge as an open marker and named in a
    note on the panel.
    """
    styles = {"energy_model": "-o", "ridge": ":s", "krr": "--^"}
    kept = ("energy_model", "krr")
    shown = [1000 * r["mae_atom_mean"] for r in result["rows"]
             if r["model"] in kept and r["descriptor"] in descriptors]  # fmt: skip
    limit = 10 * max(v for v in shown if np.isfinite(v))
    inside = [1000 * r["mae_atom_mean"] for r in result["rows"] if r["descriptor"] in descriptors]
    inside = [v for v in inside if v <= limit]
    top, bottom = 1.25 * max(inside), min(inside) / 1.25
    clipped = []
    for i, name in enumerate(descriptors):
        for model in MODELS:
            sel = [r for r in result["rows"] if r["model"] == model and r["descriptor"] == name]
            x = np.array([r["n_train"] for r in sel])
            y = np.array([1000 * r["mae_atom_mean"] for r in sel])
            off = ~(y <= top)
            ax.plot(x, np.where(off, top, y), styles[model], color=f"C{i}", ms=4,
                    label=f"{name}, {MODEL_LABELS[model]}")  # fmt: skip
            if off.any():
                ax.plot(x[off], np.full(off.sum(), top), styles[model][-1], ms=7,
                        mfc="none", color="k")  # fmt: skip
                clipped.append(f"{name} {model} at n={', '.join(map(str, x[off]))} "
                               f"(up to {np.nanmax(y[off]):.0e})")  # fmt: skip
    if clipped:
        ax.text(0.02, 0.02, "off scale (meV/atom): " + "; ".join(clipped), fontsize=5,
                transform=ax.transAxes, va="bottom", wrap=True)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(bottom, top)
    sizes = sorted({r["n_train"] for r in result["rows"]})
    labels = [f"{n // 1000}k" if n >= 10000 and n % 1000 == 0 else str(n) for n in sizes]
    ax.set_xticks(sizes, labels)  # minor log labels overlap on short ranges
    ax.xaxis.set_minor_formatter("")
    ax.set_xlabel("training structures")
    ax.set_ylabel("MAE (meV/atom)")
    ax.set_title(title, fontsize=9)


#: Models of the headline tables, as the report names them.
HEADLINE_MODELS = {
    "energy_model": "EnergyModel",
    "zeta1": "ζ=1",
    "zeta1_std": "ζ=1 standardised",
    "ridge": "ridge baseline",
    "krr": "KRR ζ=2",
}


def headline_rows(mae_largest: dict, labels: dict) -> list[dict]:
    """Rows {descriptor, model: MAE (meV/atom)} from a section's ``mae_largest_meV_atom``
    ({model: {descriptor: MAE}}) at the largest training size."""
    names = next(iter(mae_largest.values()))
    return [
        {"descriptor": labels.get(d, d)}
        | {label: mae_largest[m][d] for m, label in HEADLINE_MODELS.items() if m in mae_largest}
        for d in names
    ]


def largest(result: dict, model: str) -> dict[str, float]:
    """{descriptor: MAE per atom (eV/atom)} of ``model`` at the largest training size."""
    rows = [r for r in result["rows"] if r["model"] == model]
    top = max(r["n_train"] for r in rows)
    return {r["descriptor"]: r["mae_atom_mean"] for r in rows if r["n_train"] == top}
