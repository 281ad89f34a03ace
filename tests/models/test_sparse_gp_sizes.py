"""SparseGP.fit_sizes: several sparse sizes from one design matrix."""

import numpy as np
import pytest

from slimsoap.models.pair_baseline import PairBaseline
from slimsoap.models.sparse_gp import SparseGP

from .test_sparse_gp import DESCRIPTOR, alloy

TRAIN = [alloy(s) for s in range(6)]
TEST = [alloy(s) for s in range(30, 32)]


def test_fps_sizes_equal_separate_fits():
    """With FPS the nested sets are fit()'s own, so every model is the separate fit's."""
    kw = dict(zeta=2, selection="fps", baseline=PairBaseline(r_cut=4.0))
    gp = SparseGP(DESCRIPTOR, **kw)
    models = gp.fit_sizes(TRAIN, [12, 4, 30])
    assert not hasattr(gp, "coef_")
    assert [m.n_sparse for m in models] == [12, 4, 30]
    for model in models:
        ref = SparseGP(DESCRIPTOR, n_sparse=model.n_sparse, **kw).fit(TRAIN)
        np.testing.assert_array_equal(model.sparse_points_, ref.sparse_points_)
        np.testing.assert_array_equal(model.sparse_species_, ref.sparse_species_)
        np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-7, atol=1e-10)
        got, want = model.predict(TEST), ref.predict(TEST)
        np.testing.assert_allclose(got.energy, want.energy, rtol=1e-10)
        np.testing.assert_allclose(got.forces, want.forces, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(got.virial, want.virial, rtol=1e-7, atol=1e-9)


def test_cur_sizes_are_nested_per_species():
    small, large = SparseGP(DESCRIPTOR, zeta=2).fit_sizes(TRAIN, [5, 10])
    for s in (0, 1):
        a = small.sparse_points_[small.sparse_species_ == s]
        b = large.sparse_points_[large.sparse_species_ == s]
        assert len(a) == 5 and len(b) == 10
        np.testing.assert_array_equal(a, b[:5])
    assert len(small.coef_) == 10 and np.all(np.isfinite(small.coef_))


def test_empty_sizes():
    with pytest.raises(ValueError, match="sizes is empty"):
        SparseGP(DESCRIPTOR).fit_sizes(TRAIN, [])
