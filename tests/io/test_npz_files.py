"""Calculator and feature files: JSON header + arrays, exact round trips, refusals."""

import io
import json
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from structures import random_cluster

from slimsoap import SOAP
from slimsoap.io import load_calculator, read_features, save_calculator, write_features
from slimsoap.io.npz import read_archive, write_archive

FRAMES = [random_cluster(["H", "C", "O", "C", "O", "H"], seed=s) for s in range(2)]


@pytest.fixture(scope="module")
def fitted():
    return SOAP(["H", "C", "O"], 3.5, 3, 2, compression="optimal_radial", n_components=2).fit(
        FRAMES
    )


def test_calculator_file_keeps_seed_and_fitted_arrays(tmp_path, fitted):
    path = save_calculator(tmp_path / "calc.npz", fitted)
    assert path == tmp_path / "calc.npz" and path.exists()
    back = load_calculator(path)
    assert back.to_dict() == fitted.to_dict()
    np.testing.assert_array_equal(back.compute(FRAMES).values, fitted.compute(FRAMES).values)


def test_calculator_from_a_hand_written_json_file(tmp_path):
    soap = SOAP(["H", "C", "O"], 3.5, 3, 2, compression="random", seed=9)
    (tmp_path / "c.json").write_text(json.dumps(soap.to_dict()))
    np.testing.assert_array_equal(
        load_calculator(tmp_path / "c.json").compute(FRAMES).values, soap.compute(FRAMES).values
    )
    (tmp_path / "bad.json").write_text("{'class': 'SOAP'")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        load_calculator(tmp_path / "bad.json")


@pytest.mark.parametrize("sparse", [False, True])
def test_feature_file_round_trip(tmp_path, fitted, sparse):
    feats = fitted.compute(FRAMES, sparse=sparse)
    rows = len(feats.frame_index)
    write_features(tmp_path / "f.npz", feats, fitted, extra={"weight": np.arange(rows)})
    got, calc, extra = read_features(tmp_path / "f.npz", with_extra=True)
    assert sp.issparse(got.values) == sparse
    np.testing.assert_array_equal(
        got.values.toarray() if sparse else got.values,
        feats.values.toarray() if sparse else feats.values,
    )
    np.testing.assert_array_equal(got.frame_index, feats.frame_index)
    np.testing.assert_array_equal(extra["weight"], np.arange(rows))
    np.testing.assert_array_equal(calc.compute(FRAMES).values, fitted.compute(FRAMES).values)


def test_feature_file_keeps_dense_gradients_and_refuses_sparse_ones(tmp_path):
    soap = SOAP(["H", "C", "O"], 3.5, 3, 2)
    feats = soap.compute(FRAMES, gradients=True)
    write_features(tmp_path / "g.npz", feats, soap)
    got, _ = read_features(tmp_path / "g.npz")
    for key in ("gradient_pairs", "gradients", "strain_gradients"):
        np.testing.assert_array_equal(getattr(got, key), getattr(feats, key))
    with pytest.raises(ValueError, match="write species-block gradients to a zarr store"):
        write_features(tmp_path / "s.npz", soap.compute(FRAMES, gradients=True, sparse=True))


def test_write_features_checks_its_input(tmp_path):
    soap = SOAP(["H", "C", "O"], 3.5, 3, 2)
    x = soap.compute(FRAMES).values
    with pytest.raises(ValueError, match="calculator gives"):
        write_features(tmp_path / "x.npz", x[:, :-1], soap)
    with pytest.raises(ValueError, match="must be 2-D"):
        write_features(tmp_path / "x.npz", x[0])
    with pytest.raises(ValueError, match="'values' is taken"):
        write_features(tmp_path / "x.npz", x, extra={"values": x})
    with pytest.raises(ValueError, match="must have 12 rows"):
        write_features(tmp_path / "x.npz", x, extra={"w": np.ones(3)})
    assert not (tmp_path / "x.npz").exists()


def _archive(path, **entries):
    buffer = io.BytesIO()
    np.savez(buffer, **entries)
    path.write_bytes(buffer.getvalue())
    return path


def test_files_that_are_not_what_they_claim_are_refused(tmp_path):
    header = {"slimsoap": "features", "format": 1}
    cases = {
        "text.npz": "not an .npz archive",
        "nometa.npz": "no 'meta' entry",
        "garbage.npz": "field 'meta' is not valid JSON",
        "list.npz": "field 'meta' must be a JSON object",
        "model.npz": "field 'slimsoap' is 'model', not 'features'",
        "future.npz": "field 'format' is 7",
        "pickle.npz": "unreadable .npz archive",
        "noshape.npz": "field 'shape' missing",
        "novalues.npz": r"array\(s\) \['values'\] missing",
    }
    (tmp_path / "text.npz").write_text("values = [1, 2]")
    _archive(tmp_path / "nometa.npz", values=np.ones((2, 2)))
    _archive(tmp_path / "garbage.npz", meta=np.array("{not json"))
    _archive(tmp_path / "list.npz", meta=np.array("[1]"))
    _archive(tmp_path / "model.npz", meta=np.array(json.dumps({**header, "slimsoap": "model"})))
    _archive(tmp_path / "future.npz", meta=np.array(json.dumps({**header, "format": 7})))
    meta = json.dumps({**header, "calculator": None, "sparse": False, "shape": [1, 1]})
    _archive(tmp_path / "pickle.npz", meta=np.array(meta), values=np.array([{"a": 1}]))
    _archive(tmp_path / "noshape.npz", meta=np.array(json.dumps({**header, "calculator": None})))
    _archive(tmp_path / "novalues.npz", meta=np.array(meta), data=np.ones(1))
    for name, message in cases.items():
        with pytest.raises(ValueError, match=message) as err:
            read_features(tmp_path / name)
        assert name in str(err.value)
    with pytest.raises(FileNotFoundError):
        read_features(tmp_path / "missing.npz")


def test_archive_writes_exactly_the_given_name(tmp_path):
    path = write_archive(tmp_path / "no_suffix", "x", {"a": 1}, {"w": np.arange(3)})
    assert path.name == "no_suffix" and zipfile.is_zipfile(path)
    header, arrays = read_archive(path, "x")
    assert header["a"] == 1 and list(arrays) == ["w"]
