"""featurize (local and Dask give the same store), run_study end to end, the CLI commands."""

import csv
import json

import numpy as np
import pytest
from structures import random_alloy, random_cluster

from slimsoap import SOAP
from slimsoap.cli.main import main
from slimsoap.data import read_frames, write_extxyz
from slimsoap.io.store import FeatureStore
from slimsoap.soap.recovery import recover
from slimsoap.study.featurize import featurize
from slimsoap.study.run import StudyConfig, load_frames, run_study


@pytest.fixture(scope="module")
def frames():
    out = [random_alloy(["Ni", "Cu", "Pd"], repeat=1, seed=s) for s in range(7)]
    out.insert(3, random_cluster(["Cu", "Pd", "Ni", "Cu", "Ni", "Pd"], seed=2, min_dist=1.8))
    return out


def _iterate(frames):
    """A generator: featurize must not need len() or indexing."""
    yield from frames


def test_unknown_data_and_compression_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="'amino' is not 'alloy', 'qm9'"):
        load_frames(StudyConfig(data="amino"))
    data = tmp_path / "one.extxyz"
    write_extxyz(data, [random_alloy(["Cu", "Ni"], repeat=1), random_alloy(["Cu"], repeat=1)])
    config = StudyConfig(data=str(data), compressions=("nu3",), out=str(tmp_path / "o"))
    with pytest.raises(ValueError, match="unknown compression 'nu3'"):
        run_study(config)


def test_local_and_dask_stores_equal_one_computation(tmp_path, frames):
    from dask.distributed import Client, LocalCluster

    soap = SOAP(["Ni", "Cu", "Pd"], 4.0, 3, 2, 0.5, compression="random", seed=11)
    ref = soap.compute(frames, gradients=True)
    local = featurize(
        _iterate(frames), soap, tmp_path / "local.zarr", batch_size=3, gradients=True,
        progress=False,
    )  # fmt: skip
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as client,
    ):
        remote = featurize(
            _iterate(frames), soap, tmp_path / "dask.zarr", batch_size=3, gradients=True,
            client=client, progress=False, max_pending=2,
        )  # fmt: skip
    for store in (local, remote):
        got = store.read()
        np.testing.assert_array_equal(got.values, ref.values)
        np.testing.assert_array_equal(got.frame_index, ref.frame_index)
        np.testing.assert_array_equal(got.gradient_pairs, ref.gradient_pairs)
        np.testing.assert_array_equal(got.gradients, ref.gradients)
        assert store.n_frames == len(frames)
        assert store.calculator().to_dict() == soap.to_dict()


def test_featurize_sparse_and_errors(tmp_path, frames):
    soap = SOAP(["Ni", "Cu", "Pd", "Pt"], 4.0, 3, 2, 0.5, compression="nu1mu1")
    store = featurize(frames, soap, tmp_path / "s.zarr", batch_size=5, sparse=True, progress=False)
    ref = soap.compute(frames, sparse=True).values
    np.testing.assert_array_equal(store.values().toarray(), ref.toarray())
    # with gradients: species-block rows, batch by batch, equal to one computation
    grads = featurize(
        frames, soap, tmp_path / "g.zarr", batch_size=5, sparse=True, gradients=True,
        progress=False,
    ).read()  # fmt: skip
    whole = soap.compute(frames, gradients=True, sparse=True)
    np.testing.assert_array_equal(grads.gradient_pairs, whole.gradient_pairs)
    np.testing.assert_array_equal(grads.gradients[:], whole.gradients[:])
    with pytest.raises(FileExistsError, match=r"cannot resume .*batch_size=5, not 64"):
        featurize(frames, soap, tmp_path / "s.zarr", progress=False, sparse=True)


def _table(path):
    with open(path) as fh:
        return {row["compression"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    config = StudyConfig(
        data="alloy", n=24, out=str(root / "out"), r_cut=4.0, n_max=3, l_max=2,
        seed=1, batch_size=8, max_environments=300, train_sizes=(8, 14), n_repeats=2,
        cache=str(root / "cache"), progress=False,
    )  # fmt: skip
    return config, run_study(config)


def test_study_files(study):
    _, out = study
    summary = json.loads((out / "summary.json").read_text())
    for name in summary["files"]:
        assert (out / name).exists(), name
    expected = ["README.txt", "lengths.csv", "correlations.csv", "imbalance.csv", "recovery.json"]
    expected += ["learning_curve.csv", "learning_curve.json", "figures/imbalance_plane.png"]
    expected += ["figures/learning_curve.png", "figures/distance_mu2.png"]
    expected += ["figures/rank_random.png", "summary.json"]
    expected += ["features/nu2.zarr", "features/random.zarr"]
    assert set(expected) <= set(summary["files"])
    assert "Frames: 24" in (out / "README.txt").read_text()


def test_study_stores_equal_direct_computation(study):
    config, out = study
    frames, _ = load_frames(config)
    species = sorted({int(z) for a in frames for z in a.numbers})
    for name in config.compressions:
        stored = FeatureStore.open(out / "features" / f"{name}.zarr")
        direct = stored.calculator().compute(frames).values
        np.testing.assert_array_equal(stored.values(), direct)
        assert stored.calculator().species_z.tolist() == species


def test_study_lengths_follow_the_design_formulas(study):
    config, out = study
    summary = json.loads((out / "summary.json").read_text())
    S, N, L = len(summary["data"]["species"]), config.n_max, config.l_max
    assert S * N > 2 * L + 1  # every l of `random` is compressed
    formulas = {
        "nu2": N * S * (N * S + 1) * (L + 1) // 2,
        "nu1mu1": N * N * S * (L + 1),
        "nu1muhat1": N * S * (L + 1),
        "mu2": N * (N + 1) * (L + 1) // 2,
        "random": N * S * (L + 1) ** 2,
    }
    table = _table(out / "lengths.csv")
    assert {k: int(v["length"]) for k, v in table.items()} == formulas
    for row in table.values():
        assert 0 < float(row["nonzero_mean"]) <= int(row["length"])
        assert float(row["atoms_per_s"]) > 0
    assert float(table["mu2"]["nonzero_mean"]) == formulas["mu2"]  # no element channels


def test_study_self_comparisons_are_exact(study):
    _, out = study
    corr = _table(out / "correlations.csv")
    assert float(corr["nu2"]["pearson"]) == pytest.approx(1.0, abs=1e-12)
    assert float(corr["nu2"]["rank_pearson"]) == pytest.approx(1.0, abs=1e-12)
    for row in corr.values():
        assert -1.0 <= float(row["pearson"]) <= 1.0 + 1e-12
    imb = _table(out / "imbalance.csv")
    n = int(imb["nu2"]["n_samples"])
    # against itself every nearest neighbour has rank 1: Δ = 2/N both ways
    assert float(imb["nu2"]["from_nu2"]) == pytest.approx(2.0 / n, rel=1e-12)
    assert float(imb["nu2"]["to_nu2"]) == pytest.approx(2.0 / n, rel=1e-12)
    # μ=2 forgets the elements: it cannot predict ν=2's neighbours as well as the reverse
    assert float(imb["mu2"]["to_nu2"]) > float(imb["mu2"]["from_nu2"])


def test_study_recovery_matches_an_independent_run(study):
    config, out = study
    frames, _ = load_frames(config)
    species = sorted({int(z) for a in frames for z in a.numbers})
    hyper = (species, config.r_cut, config.n_max, config.l_max, config.sigma)
    soap = SOAP(*hyper, compression="random", seed=config.seed)
    full = recover(soap.compute(frames), soap)
    nu2 = SOAP(*hyper).compute(frames).values
    err = np.max(np.abs(full - nu2)) / np.max(np.abs(nu2))
    got = json.loads((out / "recovery.json").read_text())["random"]
    assert got["relative_error"] == pytest.approx(err, rel=1e-6, abs=1e-15)
    assert got["exact_fraction"] == 1.0


def test_study_recovery_of_nu2_is_exact(study):
    _, out = study
    assert json.loads((out / "recovery.json").read_text())["random"]["relative_error"] < 1e-8


def test_study_learning_curve(study):
    config, out = study
    data = json.loads((out / "learning_curve.json").read_text())
    assert len(data["rows"]) == len(config.compressions) * 2 * config.n_repeats
    for row in data["rows"]:
        assert row["n_train"] in (8, 14)
        assert np.isfinite(row["mae_atom"]) and row["mae_atom"] > 0
        assert row["rmse_atom"] >= row["mae_atom"]


def chemiscope_data(path):
    """The file as chemiscope's own reader (``show_input``, as in a notebook) loads it."""
    chemiscope = pytest.importorskip("chemiscope")
    return json.loads(chemiscope.show_input(path).value)


def test_study_writes_one_chemiscope_file_per_compression(study):
    config, out = study
    summary = json.loads((out / "summary.json").read_text())
    frames, _ = load_frames(config)
    n_atoms = sum(len(a) for a in frames)
    names = list(dict.fromkeys(["nu2", *config.compressions]))
    assert list(summary["chemiscope"]) == names
    energy = np.array([a.info["energy"] for a in frames])
    for name in names:
        assert summary["chemiscope"][name] == f"chemiscope/{name}.json.gz"
        assert summary["chemiscope"][name] in summary["files"]
        data = chemiscope_data(out / "chemiscope" / f"{name}.json.gz")
        assert data["meta"]["name"] == f"slimsoap study: {name}"
        assert len(data["structures"]) == len(frames)
        assert len(data["environments"]) == n_atoms
        props = data["properties"]
        assert [len(props[f"pca[{k}]"]["values"]) for k in (1, 2)] == [n_atoms, n_atoms]
        np.testing.assert_allclose(props["energy"]["values"], energy, rtol=1e-12)
        assert props["atomic number"]["values"] == [int(z) for a in frames for z in a.numbers]
        # the map is the PCA of this compression's stored descriptors (computed here)
        x = FeatureStore.open(out / "features" / f"{name}.zarr").values()
        s = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
        pca = np.array([props["pca[1]"]["values"], props["pca[2]"]["values"]])
        np.testing.assert_allclose(np.linalg.norm(pca, axis=1), s[:2], rtol=1e-8)


def test_cli_study_and_featurize(tmp_path, frames):
    out = tmp_path / "cli-study"
    main(
        ["study", "--quick", "--n", "16", "--compressions", "mu2", "--out", str(out),
         "--cache", str(tmp_path / "cache"), "--train-sizes", "8", "--repeats", "1",
         "--max-environments", "100", "--no-progress"]
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert [r["compression"] for r in summary["lengths"]] == ["nu2", "mu2"]
    assert summary["config"]["n_max"] == 4 and summary["data"]["n_frames"] == 16
    assert sorted(summary["chemiscope"]) == ["mu2", "nu2"]
    main(
        ["study", "--quick", "--n", "16", "--compressions", "mu2", "--out", str(tmp_path / "o2"),
         "--cache", str(tmp_path / "cache"), "--train-sizes", "8", "--repeats", "1",
         "--max-environments", "100", "--no-progress", "--no-chemiscope"]
    )  # fmt: skip
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert summary["chemiscope"] == {"skipped": "chemiscope=False"}
    assert not (tmp_path / "o2" / "chemiscope").exists()

    data = tmp_path / "frames.extxyz"
    write_extxyz(data, frames)
    store = tmp_path / "f.zarr"
    main(
        ["featurize", str(data), "--compression", "nu1mu1", "--out", str(store), "--r-cut", "4",
         "--n-max", "3", "--l-max", "2", "--batch-size", "3", "--no-progress"]
    )  # fmt: skip
    got = FeatureStore.open(store)
    soap = SOAP(["Ni", "Cu", "Pd"], 4.0, 3, 2, 0.5, compression="nu1mu1")
    assert got.calculator().to_dict() == soap.to_dict()
    np.testing.assert_array_equal(got.values(), soap.compute(list(read_frames(data))).values)


def test_study_of_a_file_without_energies_skips_the_learning_curve(tmp_path, frames):
    data = tmp_path / "frames.extxyz"
    write_extxyz(data, frames)
    config = StudyConfig(
        data=str(data), compressions=("mu2",), out=str(tmp_path / "out"), r_cut=4.0, n_max=3,
        l_max=2, max_environments=20, progress=False,
    )  # fmt: skip
    out = run_study(config)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["data"]["n_frames"] == len(frames)
    assert "no energy" in summary["learning_curve"]["skipped"]
    assert not (out / "learning_curve.csv").exists()
    assert summary["recovery"] == {}  # neither nu2 nor mu2 is a recoverable compression
    data = chemiscope_data(out / "chemiscope" / "mu2.json.gz")
    assert len(data["environments"]) == sum(len(a) for a in frames)
    assert "energy" not in data["properties"] and "n_atoms" in data["properties"]
    for name in summary["files"]:
        assert (out / name).exists(), name


def test_dask_payload_carries_fitted_arrays(frames):
    """What a Dask worker receives rebuilds the calculator, fitted maps included."""
    from slimsoap.study.featurize import _calculator_from_payload, _payload

    soap = SOAP(["Ni", "Cu", "Pd"], 4.0, 3, 2, compression="optimal_radial", n_components=2)
    soap.fit(frames[:3])
    payload = _payload(soap)
    hash(payload)  # workers cache rebuilt calculators by payload
    again = _calculator_from_payload(payload)
    np.testing.assert_array_equal(again.compute(frames).values, soap.compute(frames).values)
