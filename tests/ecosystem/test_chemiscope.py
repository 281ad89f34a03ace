"""Chemiscope files: read back as JSON, with the structures, properties and the 2-D map."""

import gzip
import json

import numpy as np
import pytest
from ase.build import molecule

pytest.importorskip("chemiscope")

from structures import random_alloy  # noqa: E402

from slimsoap import SOAP  # noqa: E402
from slimsoap.io.chemiscope import (  # noqa: E402
    _sigmoid,
    _stress,
    pca_map,
    sketchmap,
    write_chemiscope,
)

FRAMES = [molecule("CH3OH"), molecule("H2O"), molecule("CH4"), molecule("C2H6")]


def soap_features(sparse=False):
    soap = SOAP(["H", "C", "O"], r_cut=3.0, n_max=3, l_max=2)
    return soap.compute(FRAMES, sparse=sparse)


def read(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f)


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_structure_map_with_properties(tmp_path, suffix):
    feats = soap_features()
    energies = np.array([-1.0, -2.0, -3.0, -4.0])
    path = tmp_path / f"map{suffix}"
    write_chemiscope(path, FRAMES, feats, properties={"energy": energies})
    data = read(path)
    assert len(data["structures"]) == len(FRAMES)
    assert [len(s["names"]) for s in data["structures"]] == [len(a) for a in FRAMES]
    props = data["properties"]
    assert set(props) == {"energy", "pca[1]", "pca[2]"}
    np.testing.assert_allclose(props["energy"]["values"], energies)
    assert props["pca[1]"]["target"] == "structure"
    # the map is the PCA of the per-structure means, computed independently here
    means = np.stack([feats.frame(f).mean(axis=0) for f in range(len(FRAMES))])
    centred = means - means.mean(axis=0)
    _, s, _ = np.linalg.svd(centred, full_matrices=False)
    got = np.stack([props["pca[1]"]["values"], props["pca[2]"]["values"]], axis=1)
    np.testing.assert_allclose(np.linalg.norm(got, axis=0), s[:2], rtol=1e-10)
    np.testing.assert_allclose(got.T @ got, np.diag(s[:2] ** 2), atol=1e-10 * s[0] ** 2)
    assert data["settings"]["map"]["x"]["property"] == "pca[1]"


def test_atom_map_has_environments_and_sparse_values_agree(tmp_path):
    dense, sparse = soap_features(), soap_features(sparse=True)
    write_chemiscope(tmp_path / "a.json", FRAMES, dense, target="atom", cutoff=3.0)
    data = read(tmp_path / "a.json")
    n_atoms = sum(len(a) for a in FRAMES)
    assert len(data["environments"]) == n_atoms
    assert data["environments"][0]["cutoff"] == 3.0
    assert len(data["properties"]["pca[1]"]["values"]) == n_atoms
    np.testing.assert_allclose(pca_map(sparse.values), pca_map(dense.values), atol=1e-10)


def test_sketchmap_lowers_its_stress_and_separates_clusters(tmp_path):
    atoms = random_alloy(["Cu", "Ag"], repeat=2, seed=1)
    soap = SOAP(["Cu", "Ag"], r_cut=3.5, n_max=3, l_max=2)
    frames = [molecule("H2O")]  # two very different groups of environments
    mol = SOAP(["H", "O"], r_cut=3.5, n_max=3, l_max=2).compute(frames).values
    x = np.vstack([soap.compute(atoms).values[:, :20], mol[:, :20] * 5.0])
    y = sketchmap(x)
    assert y.shape == (len(x), 2) and np.all(np.isfinite(y))
    d_high = np.linalg.norm(x[:, None] - x[None], axis=-1)
    sigma = np.median(d_high[np.triu_indices(len(x), 1)])

    def stress(points):
        d = np.linalg.norm(points[:, None] - points[None], axis=-1)
        return np.sum((_sigmoid(d, sigma, 2, 6)[0] - _sigmoid(d_high, sigma, 2, 6)[0]) ** 2)

    start = pca_map(x)
    start *= np.median(d_high) / np.median(np.linalg.norm(start[:, None] - start[None], axis=-1))
    assert stress(y) < stress(start)
    write_chemiscope(tmp_path / "s.json", [atoms], soap.compute(atoms), projection="sketchmap",
                     target="atom")  # fmt: skip
    assert "sketchmap[1]" in read(tmp_path / "s.json")["properties"]


def test_sketchmap_stress_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    target = _sigmoid(np.abs(rng.normal(size=(6, 6))), 1.3, 2.0, 6.0)[0]
    target = 0.5 * (target + target.T)
    y = rng.normal(size=12)
    _, grad = _stress(y, target, 1.3, 2.0, 6.0)
    h = 1e-6
    fd = [
        (
            _stress(y + h * e, target, 1.3, 2.0, 6.0)[0]
            - _stress(y - h * e, target, 1.3, 2.0, 6.0)[0]
        )
        / (2 * h)
        for e in np.eye(12)
    ]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_bad_input_is_refused(tmp_path):
    feats = soap_features()
    with pytest.raises(ValueError, match="pass the frames they came from"):
        write_chemiscope(tmp_path / "x.json", FRAMES[:2], feats)
    with pytest.raises(ValueError, match="projection must be one of"):
        write_chemiscope(tmp_path / "x.json", FRAMES, feats, projection="tsne")
    with pytest.raises(ValueError, match="target must be"):
        write_chemiscope(tmp_path / "x.json", FRAMES, feats, target="bond")
    with pytest.raises(ValueError, match="at most"):
        sketchmap(np.zeros((4000, 2)))


def test_large_matrices_take_a_truncated_svd_with_the_same_scores():
    """Above 200 rows and columns pca_map uses ARPACK (svds), not a full SVD: the scores
    agree with a full SVD's (signs fixed as documented), deterministically."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 300)) @ np.diag(np.linspace(3.0, 0.1, 300))
    u, s, _ = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    full = u[:, :2] * s[:2]
    full *= np.sign(full[np.argmax(np.abs(full), axis=0), [0, 1]])
    got = pca_map(x)
    np.testing.assert_allclose(got, full, atol=1e-9 * np.abs(full).max())
    np.testing.assert_array_equal(got, pca_map(x))
