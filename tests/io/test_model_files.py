"""Saved models: a SparseGP reloads with its descriptor and predicts bit-identically;
files naming anything but a registered class, or broken files, are refused."""

import io
import json
import os

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from slimsoap import ACSF, SOAP, models
from slimsoap.io.npz import read_archive
from slimsoap.models import PairBaseline, SparseGP


def _alloy(seed):
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True)
    atoms.numbers = np.where(rng.random(len(atoms)) < 0.5, 79, 29)
    atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
    atoms.calc = EMT()
    atoms.info["energy"] = atoms.get_potential_energy()
    atoms.arrays["forces"] = atoms.get_forces()
    atoms.info["virial"] = -atoms.get_stress(voigt=False) * atoms.get_volume()
    atoms.calc = None
    return atoms


TRAIN = [_alloy(s) for s in range(4)]
TEST = [_alloy(10), _alloy(11)]
DESCRIPTORS = {
    "soap-random": lambda: SOAP(["Cu", "Au"], 4.0, 3, 2, compression="random", seed=5),
    "soap-optimal_radial": lambda: SOAP(
        ["Cu", "Au"], 4.0, 3, 2, compression="optimal_radial", n_components=2
    ).fit(TRAIN),
    "acsf": lambda: ACSF(["Cu", "Au"], 4.0, [[0.5, 2.0], [1.0, 3.0]], [[0.1, 1.0, 1.0]]),
}


@pytest.fixture(scope="module", params=list(DESCRIPTORS))
def saved(request, tmp_path_factory):
    model = SparseGP(
        DESCRIPTORS[request.param](), zeta=2, n_sparse=6, baseline=PairBaseline(r_cut=4.0)
    ).fit(TRAIN)
    path = tmp_path_factory.mktemp("model") / "gp.npz"
    assert model.save(path) == path
    return model, path


def test_saved_sparse_gp_predicts_identically_without_its_descriptor(saved):
    model, path = saved
    loaded = models.load(path)  # no descriptor handed over: it comes from the file
    assert type(loaded) is SparseGP and loaded.descriptor is not model.descriptor
    assert loaded.descriptor.to_dict() == model.descriptor.to_dict()
    assert loaded.get_params()["zeta"] == 2 and loaded.baseline == model.baseline
    a, b = model.predict(TEST), loaded.predict(TEST)
    np.testing.assert_array_equal(a.energy, b.energy)
    np.testing.assert_array_equal(a.forces, b.forces)
    np.testing.assert_array_equal(SparseGP.load(path).predict(TEST).energy, a.energy)


def _rewrite(path, out, edit=None, edit_arrays=None):
    """Copy the model file at ``path`` to ``out`` with its header/arrays edited."""
    header, arrays = read_archive(path, "model")
    if edit:
        edit(header)
    if edit_arrays:
        edit_arrays(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(header)), **arrays)
    out.write_bytes(buffer.getvalue())
    return out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda h: h.update({"class": "os:system"}), "'os:system', not a registered slimsoap m"),
        (lambda h: h.update({"class": "subprocess.Popen"}), "not a registered slimsoap model"),
        (
            lambda h: h["descriptor"].update({"class": "os:system"}),
            "field 'descriptor': field 'class' is 'os:system'",
        ),
        (lambda h: h.pop("params"), "field 'params' missing"),
        (lambda h: h["params"].pop("zeta"), r"SparseGP parameter\(s\) \['zeta'\] missing"),
        (lambda h: h["params"].update({"descriptor": "os:system"}), "unknown SparseGP param"),
        (lambda h: h["params"].update({"zeta": "2"}), "parameter 'zeta' must be of JSON type"),
        (lambda h: h.update({"baseline": {"r_cut": 4.0, "x": 1}}), "field 'baseline' is inv"),
        (lambda h: h.update({"rank": "full"}), "field 'rank' has the wrong type"),
        (lambda h: h.update({"format": 0}), "field 'format' is 0"),
    ],
)
def test_refused_model_files(saved, tmp_path, monkeypatch, edit, message):
    _, path = saved
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    bad = _rewrite(path, tmp_path / "bad.npz", edit)
    with pytest.raises(ValueError, match=message) as err:
        models.load(bad)
    assert str(bad) in str(err.value) and not calls


def test_broken_model_files(saved, tmp_path):
    _, path = saved
    bad = _rewrite(path, tmp_path / "noarr.npz", edit_arrays=lambda a: a.pop("coef"))
    with pytest.raises(ValueError, match=r"noarr.npz: array\(s\) \['coef'\] missing"):
        models.load(bad)
    garbage = tmp_path / "garbage.npz"
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array('{"slimsoap": "model", "format": 1, "class": '))
    garbage.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="garbage.npz: field 'meta' is not valid JSON"):
        models.load(garbage)
    (tmp_path / "text.npz").write_text("import os; os.system('echo')")
    with pytest.raises(ValueError, match="text.npz: not an .npz archive"):
        models.load(tmp_path / "text.npz")


def test_unregistered_descriptor_is_saved_without_it(tmp_path):
    class Wrapped:
        def __init__(self, inner):
            self.inner, self.n_features = inner, inner.n_features

        def compute(self, frames, gradients=False):
            return self.inner.compute(frames, gradients=gradients)

    inner = DESCRIPTORS["soap-random"]()
    model = SparseGP(Wrapped(inner), n_sparse=4).fit(TRAIN)
    with pytest.warns(UserWarning, match="Wrapped is not a registered slimsoap calculator"):
        model.save(tmp_path / "w.npz")
    loaded = models.load(tmp_path / "w.npz")
    assert loaded.descriptor is None
    with pytest.raises(ValueError, match="no features given and the model has no descriptor"):
        loaded.predict(TEST)
    features = inner.compute(TEST, gradients=True)
    np.testing.assert_array_equal(
        loaded.predict(TEST, features=features).energy, model.predict(TEST).energy
    )
