"""The learning curves of ``slimsoap reproduce``: EnergyModel's choice and two baselines on
the same draws, and the model-quality verdict."""

import numpy as np
import pytest

from slimsoap.models import EnergyModel
from slimsoap.study.reproduce.curves import (
    CHOICES,
    model_curves,
    model_quality,
    quality_note,
)


def data(seed=0, n_structures=80):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 8, size=n_structures)
    s = np.repeat(np.arange(n_structures), sizes)
    numbers = rng.choice([1, 6, 8], size=len(s))
    X = np.hstack([np.ones((len(s), 1)), rng.normal(size=(len(s), 3))])
    Xh = X / np.linalg.norm(X, axis=1, keepdims=True)
    E = np.bincount(s, weights=4.0 * (Xh @ [0.1, 1.0, -0.5, 0.2]) ** 2 + numbers)
    return X, s, numbers, E


def _atoms_of(s, structures):
    """Rows of ``structures`` (in that order) and their local structure index."""
    idx = np.concatenate([np.flatnonzero(s == t) for t in structures])
    return idx, np.repeat(np.arange(len(structures)), np.bincount(s)[structures])


def test_krr_baseline_is_the_kernel_entry_on_the_same_draws():
    X, s, numbers, E = data()
    res = model_curves({"toy": X}, s, E, numbers, [40], n_repeats=2, seed=0, n_sparse=60)
    mae = {r["model"]: r["mae_atom_mean"] for r in res["rows"]}
    assert set(mae) == {"energy_model", "ridge", "krr", "zeta1", "zeta1_std", "zeta1_ridge"}
    picks = res["choice"]["toy"]["40"]  # the stack's weights per repeat
    assert len(picks) == 2
    for weights in picks:
        assert set(weights) <= {name for _, name in CHOICES}
        assert np.isclose(sum(weights.values()), 1.0) and min(weights.values()) > 0
    rng = np.random.default_rng(0)  # learning_curve's draws
    by_hand = {name: [] for _, name in CHOICES}
    stacked = []
    for rep in range(2):
        perm = rng.permutation(len(E))
        train, test = perm[:40], perm[40:]
        (tr, tr_s), (te, te_s) = _atoms_of(s, train), _atoms_of(s, test)
        combined = 0.0
        for entry, name in CHOICES:
            m = EnergyModel(n_sparse=60, n_folds=5, cv_metric="mae", random_state=0, **entry)
            m.fit(X[tr], tr_s, E[train], numbers[tr])
            pred = m.predict(X[te], te_s, numbers[te])
            by_hand[name].append(np.mean(np.abs((pred - E[test]) / np.bincount(s)[test])))
            combined = combined + picks[rep].get(name, 0.0) * pred
        stacked.append(np.mean(np.abs((combined - E[test]) / np.bincount(s)[test])))
    for name, errs in by_hand.items():
        assert np.isclose(mae[name], np.mean(errs), rtol=1e-12), name
    assert np.isclose(mae["energy_model"], np.mean(stacked), rtol=1e-10)
    # the quadratic energies need the kernel: the CV weights it most, it beats the ζ=1 fits
    assert all(w.get("krr", 0.0) > 0.8 for w in picks)
    assert mae["krr"] < min(mae["zeta1"], mae["zeta1_std"], mae["ridge"])


def test_n_test_limits_every_model_to_the_same_number_of_test_structures():
    X, s, numbers, E = data(seed=1)
    res = model_curves({"toy": X}, s, E, numbers, [30, 50], n_repeats=2, seed=0, n_sparse=40,
                       n_test=12)  # fmt: skip
    assert {(r["model"], r["n_test"]) for r in res["rows"]} >= {("energy_model", 12), ("ridge", 12)}
    assert all(r["n_test"] == 12 for r in res["rows"])
    full = model_curves({"toy": X}, s, E, numbers, [50], n_repeats=1, seed=0, n_sparse=40)
    assert all(r["n_test"] == 30 for r in full["rows"])


def test_model_quality_names_the_worst_case():
    rows = [
        {"model": "energy_model", "descriptor": "a", "n_train": 10, "mae_atom_mean": 1.2,
         "mae_atom_std": 0.1, "n_repeats": 4},
        {"model": "ridge", "descriptor": "a", "n_train": 10, "mae_atom_mean": 1.0,
         "mae_atom_std": 0.1},
        {"model": "krr", "descriptor": "a", "n_train": 10, "mae_atom_mean": 1.5,
         "mae_atom_std": 0.1},
        {"model": "energy_model", "descriptor": "a", "n_train": 20, "mae_atom_mean": 0.5,
         "mae_atom_std": 0.0, "n_repeats": 4},
        {"model": "ridge", "descriptor": "a", "n_train": 20, "mae_atom_mean": 0.6,
         "mae_atom_std": 0.0},
        {"model": "krr", "descriptor": "a", "n_train": 20, "mae_atom_mean": 0.5,
         "mae_atom_std": 0.0},
    ]  # fmt: skip
    q = model_quality(rows)
    assert not q["holds"]
    assert q["energy_model_over_best"] == {"a@10": 1.2, "a@20": 1.0}
    se = np.hypot(0.1, 0.1) / 2
    assert np.isclose(q["worse"]["a@10"]["excess_in_se"], 0.2 / se)
    note = quality_note(q)
    assert "1 of 2" in note and "a@10: 1.20×" in note
    assert model_quality(rows[3:])["holds"]
    assert "all 1" in quality_note(model_quality(rows[3:]))


def test_species_sparse_features_give_the_dense_curves():
    """CSR features (Fig. 7's many-element data sets) run every model and give the same
    errors as the same features dense."""
    import scipy.sparse as sp

    X, s, numbers, E = data(seed=2)
    X = np.hstack([X, np.zeros((len(s), 6))])  # columns of absent species
    X[:, 4 + numbers % 3] = 0.0  # and entries zero per row
    args = (s, E, numbers, [30, 50])
    kw = dict(n_repeats=2, seed=0, n_sparse=40)
    dense = model_curves({"toy": X}, *args, **kw)
    csr = model_curves({"toy": sp.csr_matrix(X)}, *args, **kw)
    assert len(csr["rows"]) == len(dense["rows"]) > 0
    for a, b in zip(dense["rows"], csr["rows"], strict=True):
        assert (a["model"], a["n_train"]) == (b["model"], b["n_train"])
        assert np.isclose(a["mae_atom_mean"], b["mae_atom_mean"], rtol=1e-6), a["model"]


def test_ridge_baseline_picks_the_lambda_of_least_leave_one_out_error():
    """The baseline's λ is the grid value whose leave-one-out squared error, found here by
    refitting without each training structure in turn, is smallest."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    from slimsoap.study.reproduce.curves import RIDGE_ALPHAS, _ridge_rows

    X, s, numbers, E = data(seed=3, n_structures=40)
    X = np.hstack([X, X[:, 1:] ** 2])  # a few more features than the toy's four
    (row,) = _ridge_rows(X, s, E, numbers, [25], n_repeats=1, seed=0)
    train = np.random.default_rng(0).permutation(len(E))[:25]
    S = np.stack([np.bincount(s, weights=X[:, j], minlength=len(E)) for j in range(X.shape[1])], 1)
    counts = np.stack(
        [np.bincount(s, weights=numbers == z, minlength=len(E)) for z in (1, 6, 8)], 1
    )
    mu = np.linalg.lstsq(counts[train], E[train], rcond=None)[0]
    y = E[train] - counts[train] @ mu
    Z = StandardScaler().fit_transform(S[train])
    loo = []
    for alpha in RIDGE_ALPHAS:
        err = [y[i] - Ridge(alpha=alpha).fit(np.delete(Z, i, 0), np.delete(y, i)).predict(Z[[i]])[0]
               for i in range(len(y))]  # fmt: skip
        loo.append(np.mean(np.square(err)))
    assert row["alpha"] == RIDGE_ALPHAS[int(np.argmin(loo))]


def test_repeats_per_size_give_each_size_its_draws():
    X, s, numbers, E = data(seed=4)
    res = model_curves({"toy": X}, s, E, numbers, [20, 40], n_repeats=[2, 1], seed=0, n_sparse=30)
    for r in res["rows"]:
        assert r["n_test"] > 0
    em = {r["n_train"]: r for r in res["rows"] if r["model"] == "energy_model"}
    assert (em[20]["n_repeats"], em[40]["n_repeats"]) == (2, 1)
    ridge = {r["n_train"]: r for r in res["rows"] if r["model"] == "ridge"}
    assert ridge[40]["mae_atom_std"] == 0.0 < ridge[20]["mae_atom_std"]


def test_a_blown_up_baseline_is_drawn_off_scale_not_stretching_the_axis():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from slimsoap.study.reproduce.curves import plot_curves

    def row(model, n, mae):
        return {"model": model, "descriptor": "nu2", "n_train": n, "mae_atom_mean": mae}

    rows = [row("energy_model", 50, 5.0), row("energy_model", 100, 2.0), row("krr", 50, 4.9),
            row("krr", 100, 2.1), row("ridge", 50, 9.6), row("ridge", 100, 2e26)]  # fmt: skip
    fig, ax = plt.subplots()
    plot_curves(ax, {"rows": rows}, "elpasolite", ["nu2"])
    assert ax.get_ylim() == pytest.approx((2000.0 / 1.25, 1.25 * 9600.0))
    ridge = next(line for line in ax.lines if "ridge" in line.get_label())
    assert list(ridge.get_ydata()) == pytest.approx([9600.0, 1.25 * 9600.0])
    notes = [t.get_text() for t in ax.texts]
    assert len(notes) == 1 and "nu2 ridge at n=100 (up to 2e+29)" in notes[0]
    plt.close(fig)
