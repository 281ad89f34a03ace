"""The cosine cutoff: its values at the edges and its derivative by finite differences."""

import numpy as np
import pytest

from slimsoap.systems.cutoff import cosine_cutoff

R = np.linspace(0.01, 4.99, 211)


@pytest.mark.parametrize("width", [0.5, 2.0, 5.0, None])
def test_derivative_matches_finite_differences(width):
    h = 1e-6
    f, df = cosine_cutoff(R, 5.0, width)
    fd = (cosine_cutoff(R + h, 5.0, width)[0] - cosine_cutoff(R - h, 5.0, width)[0]) / (2 * h)
    inside = np.abs(R - (5.0 - (width or 5.0))) > 1e-3  # the kink at r_cut − w
    np.testing.assert_allclose(df[inside], fd[inside], atol=1e-8)
    assert f.shape == df.shape == R.shape


def test_smooth_cutoff_regions():
    f, df = cosine_cutoff(np.array([1.0, 4.5, 4.75, 5.0, 6.0]), 5.0, 0.5)
    np.testing.assert_allclose(f, [1.0, 1.0, 0.5, 0.0, 0.0], atol=1e-15)
    assert df[0] == df[3] == df[4] == 0.0 and df[2] == pytest.approx(-np.pi / 2 / 0.5)


def test_behler_form_and_hard_cutoff():
    f, df = cosine_cutoff(np.array([0.0, 2.5, 5.0]), 5.0)
    np.testing.assert_allclose(f, [1.0, 0.5, 0.0], atol=1e-15)
    assert df[1] == pytest.approx(-0.5 * np.pi / 5.0)
    f, df = cosine_cutoff(np.array([4.9, 5.0]), 5.0, 0.0)
    np.testing.assert_array_equal(f, [1.0, 0.0])
    np.testing.assert_array_equal(df, [0.0, 0.0])
