"""Learning curves: errors shrink with data, tables and plot are written."""

import json

import numpy as np
import pytest

from slimsoap.models.learning_curve import learning_curve
from slimsoap.models.ridge import EnergyModel


def test_learning_curve_tables_and_plot(tmp_path):
    rng = np.random.default_rng(0)
    n_structures = 120
    sizes = rng.integers(2, 6, size=n_structures)
    s = np.repeat(np.arange(n_structures), sizes)
    species = rng.choice([1, 6], size=len(s))
    good = rng.normal(size=(len(s), 12))
    E = np.bincount(s, weights=good @ rng.normal(size=12) - 2.0 * (species == 6))
    E += 0.01 * sizes * rng.normal(size=n_structures)
    bad = good[:, :3].copy()  # loses information: a worse descriptor
    bad[:, 0] = 0.0
    lc = learning_curve(
        {"full": good, "short": bad},
        s,
        E,
        species,
        train_sizes=[20, 80],
        n_repeats=3,
        model=EnergyModel(n_folds=5),
    )
    table = lc.summary()
    assert [(r["descriptor"], r["n_train"]) for r in table] == [
        ("full", 20),
        ("full", 80),
        ("short", 20),
        ("short", 80),
    ]
    full = {r["n_train"]: r for r in table if r["descriptor"] == "full"}
    short = {r["n_train"]: r for r in table if r["descriptor"] == "short"}
    assert full[80]["mae_structure_mean"] < full[20]["mae_structure_mean"]
    assert full[80]["mae_structure_mean"] < 0.5 * short[80]["mae_structure_mean"]
    # per-atom errors of the well-specified model approach the noise (0.01 eV/atom)
    assert full[80]["rmse_atom_mean"] == pytest.approx(0.01, rel=0.5)
    assert lc.lengths == {"full": (12, 12.0), "short": (3, 2.0)}
    lc.to_csv(tmp_path / "lc.csv")
    lc.to_json(tmp_path / "lc.json")
    lc.plot(tmp_path / "lc.png")
    assert (tmp_path / "lc.csv").read_text().startswith("descriptor,n_train,n_repeats,length")
    data = json.loads((tmp_path / "lc.json").read_text())
    assert len(data["rows"]) == 2 * 2 * 3 and data["lengths"]["short"] == [3, 2.0]
    assert (tmp_path / "lc.png").stat().st_size > 1000


def test_learning_curve_refuses_bad_sizes():
    s = np.repeat(np.arange(5), 2)
    with pytest.raises(ValueError, match="leaves no test structure"):
        learning_curve({"x": np.ones((10, 2))}, s, np.zeros(5), [1] * 10, train_sizes=[5])
    with pytest.raises(ValueError, match="descriptors is empty"):
        learning_curve({}, s, np.zeros(5), [1] * 10, train_sizes=[2])
    with pytest.raises(ValueError, match="train_sizes is empty"):
        learning_curve({"x": np.ones((10, 2))}, s, np.zeros(5), [1] * 10, train_sizes=[])


def test_structures_with_unseen_elements_are_left_out_of_the_test_set():
    rng = np.random.default_rng(1)
    s = np.repeat(np.arange(30), 3)
    species = np.full(len(s), 1)
    species[0] = 9  # only structure 0 has fluorine
    X = rng.normal(size=(len(s), 4))
    lc = learning_curve(
        {"x": X},
        s,
        rng.normal(size=30),
        species,
        train_sizes=[10],
        n_repeats=4,
        model=EnergyModel(n_folds=3),
    )
    for row in lc.rows:
        assert row["n_test"] in (19, 20)  # 20 others, minus structure 0 when it is not trained on


def test_fixed_test_set_is_used_for_every_draw_and_never_trained_on():
    rng = np.random.default_rng(3)
    n_structures = 40
    s = np.repeat(np.arange(n_structures), 3)
    species = np.ones(len(s), dtype=int)
    X = rng.normal(size=(len(s), 4))
    E = np.bincount(s, weights=X @ np.array([1.0, -2.0, 0.5, 0.0]))
    fixed = np.arange(30, 40)
    lc = learning_curve(
        {"x": X},
        s,
        E,
        species,
        [10, 30],
        n_repeats=2,
        test_structures=fixed,
        model=EnergyModel(n_folds=3),
    )
    assert all(r["n_test"] == 10 for r in lc.rows)
    # at size 30 the training set is the whole pool: both repeats see the same structures
    at30 = [r for r in lc.rows if r["n_train"] == 30]
    assert at30[0]["mae_structure"] == pytest.approx(at30[1]["mae_structure"], rel=1e-9)
    with pytest.raises(ValueError, match="leaves no test structure"):
        learning_curve({"x": X}, s, E, species, [31], test_structures=fixed)
    with pytest.raises(ValueError, match="not both"):
        learning_curve({"x": X}, s, E, species, [10], n_test=5, test_structures=fixed)
    with pytest.raises(ValueError, match="distinct"):
        learning_curve({"x": X}, s, E, species, [10], test_structures=[1, 1])


def test_repeats_per_size_draws_the_same_sets_as_a_constant_count():
    """With counts per size, size k gets its own number of draws, and the draws continue the
    same random sequence: the first size's draws equal those of a constant count."""
    rng = np.random.default_rng(3)
    s = np.repeat(np.arange(40), 3)
    species = np.ones(len(s), dtype=int)
    X = rng.normal(size=(len(s), 5))
    E = rng.normal(size=40)
    model = EnergyModel(n_folds=3)
    mixed = learning_curve({"x": X}, s, E, species, [10, 20], n_repeats=[3, 1], model=model)
    const = learning_curve({"x": X}, s, E, species, [10], n_repeats=3, model=model)
    counts = {r["n_train"]: r["n_repeats"] for r in mixed.summary()}
    assert counts == {10: 3, 20: 1}
    assert [r["mae_structure"] for r in mixed.rows[:3]] == [r["mae_structure"] for r in const.rows]


@pytest.mark.parametrize(
    ("n_repeats", "error"),
    [
        ([3], ValueError),
        ([3, 0], ValueError),
        ("3", TypeError),
        (2.5, ValueError),
        (None, TypeError),
    ],
)
def test_repeats_per_size_refuses_bad_counts(n_repeats, error):
    s = np.repeat(np.arange(20), 2)
    with pytest.raises(error, match="n_repeats"):
        learning_curve(
            {"x": np.ones((40, 2))}, s, np.zeros(20), [1] * 40, [5, 10], n_repeats=n_repeats
        )
