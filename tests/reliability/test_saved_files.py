"""Damaged calculator and model files → a ValueError naming the file and the field (issue 13).

Each case writes a file as slimsoap does, damages one thing (garbage JSON, a missing key or
array, an array of the wrong shape or with NaN, an unknown parameter) and loads it.
"""

import io
import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from slimsoap import SOAP, models
from slimsoap.io import load_calculator, save_calculator
from slimsoap.io.npz import read_archive
from slimsoap.models import SparseGP


def _alloy(seed):
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True)
    atoms.numbers = np.where(rng.random(len(atoms)) < 0.5, 79, 29)
    atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
    atoms.calc = EMT()
    atoms.info["energy"] = atoms.get_potential_energy()
    atoms.calc = None
    return atoms


TRAIN = [_alloy(s) for s in range(3)]


def _fitted_soap():
    return SOAP(["Cu", "Au"], 4.0, 3, 2, compression="optimal_radial", n_components=2).fit(TRAIN)


def _rewrite(path, out, kind, edit=None, edit_arrays=None):
    """Copy the archive at ``path`` to ``out`` with its header or arrays edited."""
    header, arrays = read_archive(path, kind)
    if edit:
        edit(header)
    if edit_arrays:
        edit_arrays(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(header)), **arrays)
    out.write_bytes(buffer.getvalue())
    return out


@pytest.fixture(scope="module")
def calc_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("calc") / "calc.npz"
    save_calculator(path, _fitted_soap())
    return path


L0 = "calculator/components.l0"

# (name, edit of the header, edit of the arrays, pattern after "<file>: ")
CALC_ARCHIVE_CASES = [
    ("array missing", None, lambda a: a.pop(L0), r"fitted arrays .*components.l0"),
    ("array short", None, lambda a: a.update({L0: a[L0][:1]}), r"components.l0 must have shape"),
    ("array flat", None, lambda a: a.update({L0: a[L0].ravel()}), r"got \(12,\)"),
    ("array nan", None, lambda a: a.update({L0: np.full_like(a[L0], np.nan)}),
     r"fitted array 'components.l0' contains NaN or inf"),
    ("array inf", None, lambda a: a.update({L0: np.full_like(a[L0], np.inf)}),
     r"fitted array 'components.l0' contains NaN or inf"),
    ("array of strings", None, lambda a: a.update({L0: np.array(["x"])}), r"cannot rebuild SOAP"),
    ("class unknown", lambda h: h["calculator"].update({"class": "os:system"}), None,
     r"field 'class' is 'os:system', not a registered"),
    ("params missing", lambda h: h["calculator"].pop("params"), None,
     r"field 'params' must be an object"),
    ("parameter missing", lambda h: h["calculator"]["params"].pop("n_max"), None,
     r"SOAP parameter\(s\) \['n_max'\] missing"),
    ("parameter unknown", lambda h: h["calculator"]["params"].update({"n_mx": 3}), None,
     r"\['n_mx'\]"),
    ("parameter wrong type", lambda h: h["calculator"]["params"].update({"r_cut": [4]}), None,
     r"parameter 'r_cut' must be of JSON type"),
    ("parameter out of range", lambda h: h["calculator"]["params"].update({"n_max": 0}), None,
     r"n_max must be >= 1"),
]  # fmt: skip


@pytest.mark.parametrize(
    "edit, edit_arrays, pattern",
    [c[1:] for c in CALC_ARCHIVE_CASES],
    ids=[c[0] for c in CALC_ARCHIVE_CASES],
)
def test_damaged_calculator_archive(calc_file, tmp_path, edit, edit_arrays, pattern):
    bad = _rewrite(calc_file, tmp_path / "bad.npz", "calculator", edit, edit_arrays)
    with pytest.raises(ValueError, match=pattern) as err:
        load_calculator(bad)
    assert str(err.value).startswith(str(bad))


JSON_CASES = [
    ("empty", "", r"not valid JSON"),
    ("garbage", "{not json", r"not valid JSON"),
    ("truncated", '{"class": "SOAP", "format": 1, "params": {', r"not valid JSON"),
    ("a list", "[1, 2]", r"a calculator must be a JSON object, got \[1, 2\]"),
    ("null", "null", r"a calculator must be a JSON object, got None"),
    ("no class", '{"format": 1, "params": {}}', r"field 'class' is None"),
    ("no params", '{"class": "SOAP", "format": 1}', r"field 'params' must be an object"),
    ("no format", '{"class": "SOAP", "params": {}}', r"field 'format' is None"),
    ("importable name", '{"class": "subprocess:Popen", "format": 1, "params": {}}',
     r"not a registered slimsoap calculator"),
]  # fmt: skip


@pytest.mark.parametrize(
    "text, pattern", [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES]
)
def test_damaged_calculator_json(tmp_path, text, pattern):
    path = tmp_path / "calc.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern) as err:
        load_calculator(path)
    assert str(err.value).startswith(str(path))


def test_calculator_json_with_an_unknown_parameter(tmp_path):
    d = SOAP(["Cu"], 4.0, 3, 2).to_dict()
    d["params"]["n_maximum"] = 4
    path = tmp_path / "calc.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"calc.json: .*\['n_maximum'\]"):
        load_calculator(path)


def test_not_an_archive_and_missing_files(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.npz: not an .npz archive"):
        load_calculator(tmp_path / "empty.npz")
    with pytest.raises(FileNotFoundError, match=r"missing.npz"):
        load_calculator(tmp_path / "missing.npz")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    model = SparseGP(SOAP(["Cu", "Au"], 4.0, 3, 2), zeta=2, n_sparse=4).fit(TRAIN)
    path = tmp_path_factory.mktemp("model") / "gp.npz"
    model.save(path)
    return path


MODEL_CASES = [
    ("coef missing", None, lambda a: a.pop("coef"), r"array\(s\) \['coef'\] missing"),
    ("sparse points narrow", None,
     lambda a: a.update({"sparse_points": a["sparse_points"][:, :3]}),
     r"sparse points have 3 features"),
    ("descriptor unknown", lambda h: h["descriptor"].update({"class": "os:system"}), None,
     r"field 'descriptor': field 'class' is 'os:system'"),
    ("parameter wrong type", lambda h: h["params"].update({"zeta": "2"}), None,
     r"parameter 'zeta' must be of JSON type"),
]  # fmt: skip


@pytest.mark.parametrize(
    "edit, edit_arrays, pattern", [c[1:] for c in MODEL_CASES], ids=[c[0] for c in MODEL_CASES]
)
def test_damaged_model_file(model_file, tmp_path, edit, edit_arrays, pattern):
    bad = _rewrite(model_file, tmp_path / "bad.npz", "model", edit, edit_arrays)
    with pytest.raises(ValueError, match=pattern) as err:
        models.load(bad)
    assert str(err.value).startswith(str(bad))


# Fitted arrays of the wrong shape, type or with NaN are refused, naming the array.
MODEL_ARRAYS = [
    ("coef short", lambda a: a.update({"coef": a["coef"][:1]}), r"array 'coef' has shape"),
    ("coef nan", lambda a: a.update({"coef": np.full_like(a["coef"], np.nan)}), r"'coef'.*NaN"),
    ("e0 long", lambda a: a.update({"e0": np.zeros(len(a["e0"]) + 1)}), r"array 'e0'"),
    ("sparse species past", lambda a: a.update({"sparse_species": a["sparse_species"] + 99}),
     r"'sparse_species' indexes past"),
    ("sparse points 1-D", lambda a: a.update({"sparse_points": a["sparse_points"].ravel()}),
     r"'sparse_points' must be 2-D"),
]  # fmt: skip


@pytest.mark.parametrize(
    "edit_arrays, pattern", [c[1:] for c in MODEL_ARRAYS], ids=[c[0] for c in MODEL_ARRAYS]
)
def test_damaged_model_arrays(model_file, tmp_path, edit_arrays, pattern):
    bad = _rewrite(model_file, tmp_path / "bad.npz", "model", None, edit_arrays)
    with pytest.raises(ValueError, match=pattern) as err:
        models.load(bad)
    assert str(err.value).startswith(str(bad))
