"""Row normalisation and the projection of derivatives (slimsoap._linalg), against the
explicit Jacobian of x ↦ x/|x| and finite differences."""

import numpy as np
import pytest
import scipy.sparse as sp

from slimsoap._linalg import project_rows, unit_rows


def test_unit_rows_dense_and_sparse_agree_and_zero_rows_stay_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5))
    x[2] = 0.0
    xh, norms = unit_rows(x)
    assert np.allclose(np.linalg.norm(xh[[0, 1, 3, 4, 5]], axis=1), 1.0, rtol=0, atol=1e-15)
    assert not xh[2].any() and norms[2] == 1.0
    np.testing.assert_allclose(norms[[0, 1]], np.sqrt((x[[0, 1]] ** 2).sum(axis=1)), rtol=1e-15)
    s, snorms = unit_rows(sp.csr_matrix(x))
    assert sp.isspmatrix_csr(s)
    np.testing.assert_allclose(s.toarray(), xh, rtol=1e-15, atol=0)
    np.testing.assert_allclose(snorms, norms, rtol=1e-15)


def test_unit_rows_in_place_keeps_dtype():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    expected = x / np.linalg.norm(x, axis=1, keepdims=True)
    xh, _ = unit_rows(x, out=x)
    assert xh is x and x.dtype == np.float32
    np.testing.assert_allclose(x, expected, rtol=1e-6)


def test_projection_is_the_jacobian_of_the_normalisation():
    """d ← (1 − x̂x̂ᵀ) d/|x| equals J d with J the finite-difference Jacobian of x/|x|, for
    derivative rows of any inner shape mapped to descriptor rows by ``rows``."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4))
    rows = np.array([2, 0, 0, 1, 2])
    d = rng.normal(size=(5, 3, 4))
    xh, norms = unit_rows(x)
    got = d.copy()
    project_rows(got, xh, norms, rows)
    h = 1e-6
    for p, r in enumerate(rows):
        for k in range(3):
            plus = x[r] + h * d[p, k]
            minus = x[r] - h * d[p, k]
            fd = (plus / np.linalg.norm(plus) - minus / np.linalg.norm(minus)) / (2 * h)
            np.testing.assert_allclose(got[p, k], fd, rtol=0, atol=1e-8)


def test_projection_in_chunks_equals_whole(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 6))
    d = rng.normal(size=(40, 3, 3, 6))
    xh, norms = unit_rows(x)
    whole = d.copy()
    project_rows(whole, xh, norms)
    monkeypatch.setattr("slimsoap._linalg.PROJECT_CHUNK", 7)
    chunked = d.copy()
    project_rows(chunked, xh, norms)
    np.testing.assert_array_equal(chunked, whole)


def test_projection_shapes_are_checked():
    xh, norms = unit_rows(np.ones((2, 3)))
    with pytest.raises(ValueError, match="3 derivative rows but 2 row indices"):
        project_rows(np.zeros((3, 3)), xh, norms, np.array([0, 1]))
    with pytest.raises(ValueError, match="derivatives have 4 features"):
        project_rows(np.zeros((2, 4)), xh, norms)
