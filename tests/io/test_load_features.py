"""``slimsoap.io.load_features`` on every format the package writes, and what it refuses."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from structures import random_alloy

from slimsoap import SOAP
from slimsoap.io import load_features, write_features
from slimsoap.io.store import FeatureStore, write_store

FRAMES = [random_alloy(["Cu", "Ag", "Au"], repeat=1, seed=s) for s in range(3)]


@pytest.fixture(scope="module")
def soap():
    return SOAP(["Cu", "Ag", "Au"], 4.0, 3, 2, compression="random", seed=3)


def _numbers():
    return np.concatenate([a.numbers for a in FRAMES])


def test_zarr_store(tmp_path, soap):
    ref = soap.compute(FRAMES, gradients=True)
    write_store(tmp_path / "s.zarr", ref, _numbers(), soap)
    got, calc = load_features(tmp_path / "s.zarr")
    np.testing.assert_array_equal(got.values, ref.values)
    np.testing.assert_array_equal(got.gradients, ref.gradients)
    np.testing.assert_array_equal(got.frame_index, ref.frame_index)
    assert calc.to_dict() == soap.to_dict()


@pytest.mark.parametrize("sparse", [False, True])
def test_slimsoap_npz(tmp_path, soap, sparse):
    ref = soap.compute(FRAMES, sparse=sparse)
    write_features(tmp_path / "f.npz", ref, soap)
    got, calc = load_features(tmp_path / "f.npz")
    assert sp.issparse(got.values) == sparse
    assert (got.values != ref.values).nnz == 0 if sparse else np.array_equal(got.values, ref.values)
    assert calc.seed == 3


def test_plain_arrays_from_any_code(tmp_path):
    x = np.random.default_rng(0).normal(size=(6, 4))
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "one.npz", anything=x)
    for name in ("x.npy", "one.npz"):
        got, calc = load_features(tmp_path / name)
        np.testing.assert_array_equal(got.values, x)
        assert calc is None and got.n_frames == 1


def test_refused(tmp_path, soap):
    np.savez(tmp_path / "two.npz", values=np.ones((2, 2)), other=np.ones(2))
    np.save(tmp_path / "flat.npy", np.ones(5))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    (tmp_path / "x.txt").write_text("1 2 3")
    (tmp_path / "fake.npy").write_text("not an array")
    (tmp_path / "empty.zarr").mkdir()
    cases = {
        "two.npz": r"must hold exactly one array .*\['other', 'values'\]",
        "flat.npy": r"expected a 2-D numeric array .*shape \(5,\)",
        "obj.npy": "not a plain .npy array",
        "text.npy": "expected a 2-D numeric array",
        "fake.npy": "not a plain .npy array",
        "x.txt": "expected a feature store directory",
        "empty.zarr": "not a zarr feature store",
    }
    for name, message in cases.items():
        with pytest.raises(ValueError, match=message):
            load_features(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no feature file or store"):
        load_features(tmp_path / "missing.npz")


def test_store_whose_calculator_does_not_match_its_values(tmp_path, soap):
    path = tmp_path / "s.zarr"
    write_store(path, soap.compute(FRAMES), _numbers(), soap)
    store = FeatureStore.open(path, mode="a")
    d = soap.to_dict()
    d["params"]["n_max"] = 4
    store._group.attrs["calculator"] = json.loads(json.dumps(d))
    with pytest.raises(ValueError, match="the features come from another calculator"):
        load_features(path)
