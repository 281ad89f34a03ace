"""Fig. 7 of ``slimsoap reproduce``: each data set's curves are cached on their own."""

import json

from slimsoap.study.reproduce.context import ReproduceConfig
from slimsoap.study.reproduce.fig7 import dataset_params
from slimsoap.study.reproduce.runner import run_reproduce


def tiny(**overrides) -> ReproduceConfig:
    return ReproduceConfig.quick(**{"fig7_sets": ("qm9",), "qm9_n": 60, "qm9_basis": (2, 1),
                                    "train_sizes": (10, 20), "krr_sparse": 30,
                                    **overrides})  # fmt: skip


def test_a_data_sets_curves_survive_a_rerun_of_the_section(tmp_path):
    _, ctx = run_reproduce(tmp_path, tiny(), ["fig7"], progress=False)
    assert "curves/qm9" in ctx.recomputed and "section/fig7" in ctx.recomputed
    stored = json.loads((tmp_path / "fig7" / "curves_qm9.json").read_text())
    rows = stored["result"]["rows"]
    assert {r["n_train"] for r in rows} == {10, 20}
    (tmp_path / "fig7" / "section.json").unlink()  # the section stopped after its QM9 curves
    _, again = run_reproduce(tmp_path, tiny(), ["fig7"], progress=False)
    assert again.recomputed == ["section/fig7"]
    _, other = run_reproduce(tmp_path, tiny(qm9_test=15), ["fig7"], progress=False)
    assert "curves/qm9" in other.recomputed


def test_a_data_sets_cache_key_ignores_the_other_sets_settings():
    c = ReproduceConfig.full()
    qm9 = dataset_params(c, "qm9")
    assert dataset_params(ReproduceConfig.full(amino_n=10), "qm9") == qm9
    assert dataset_params(ReproduceConfig.full(train_sizes=(100,)), "qm9") != qm9
    amino = dataset_params(c, "amino")
    assert dataset_params(ReproduceConfig.full(qm9_n=10), "amino") == amino
    assert dataset_params(ReproduceConfig.full(curves_basis=(2, 1)), "amino") != amino
    elp = dataset_params(c, "elpasolite")
    assert elp["data_version"] == 3 and "data_version" not in qm9  # generated sets only
    assert (
        dataset_params(ReproduceConfig.full(elpasolite_elements=("F", "Na")), "elpasolite") != elp
    )


def test_the_full_run_draws_once_from_ten_thousand():
    c = ReproduceConfig.full()
    assert c.repeats([100, 3000, 10000, 20000]) == [3, 3, 1, 1]
    assert ReproduceConfig.quick().repeats([40, 300]) == [2, 2]


def test_a_model_worse_than_the_mean_is_implausible():
    from slimsoap.study.reproduce.fig7 import implausible

    cases = [("energy_model", "nu2", 100, 4e25), ("energy_model", "nu2", 800, 1.1),
             ("energy_model", "mu2", 100, float("nan")), ("ridge", "nu2", 100, 1e26)]  # fmt: skip
    keys = ("model", "descriptor", "n_train", "mae_atom_mean")
    rows = [dict(zip(keys, c, strict=True)) for c in cases]
    bad = implausible({"rows": rows, "energy_spread": 3.4})
    assert [(p["descriptor"], p["n_train"]) for p in bad] == [("nu2", 100), ("mu2", 100)]
    assert implausible({"rows": rows[1:2], "energy_spread": 3.4}) == []


def test_the_section_states_the_energy_spread_and_the_verdict_needs_plausible_curves(tmp_path):
    run_reproduce(tmp_path, tiny(), ["fig7"], progress=False)
    section = json.loads((tmp_path / "fig7" / "section.json").read_text())
    summary = section["section"]["numbers"]["summary"]["qm9"]
    assert summary["energy_spread_meV_atom"] > 0
    assert summary["implausible"] == []
