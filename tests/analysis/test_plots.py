"""Figures are written, non-empty, in the requested format."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from slimsoap.analysis import distance_correlation, imbalance_plane  # noqa: E402
from slimsoap.analysis.plots import (  # noqa: E402
    plot_distance_correlation,
    plot_histogram2d,
    plot_imbalance_plane,
    plot_sensitivity_scatter,
)

MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF"}


def check_file(path, suffix):
    assert path.exists() and path.stat().st_size > 1000
    assert path.read_bytes()[:4] == MAGIC[suffix]


@pytest.fixture(scope="module")
def descriptors():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(60, 5))
    return A, np.tanh(A[:, :2]) + 0.1 * rng.normal(size=(60, 2))


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
@pytest.mark.parametrize("kind", ["distance", "rank"])
def test_distance_correlation_plot(tmp_path, descriptors, suffix, kind):
    result = distance_correlation(*descriptors, bins=20)
    path = plot_distance_correlation(result, tmp_path / f"c{suffix}", kind=kind)
    check_file(path, suffix)


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_imbalance_plane_plot(tmp_path, descriptors, suffix):
    A, B = descriptors
    plane = imbalance_plane(A, {"tanh": B, "copy": 2 * A}, n_samples=30, n_repeats=3)
    check_file(plot_imbalance_plane(plane, tmp_path / "sub" / f"plane{suffix}"), suffix)


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_sensitivity_scatter_plot(tmp_path, suffix):
    rng = np.random.default_rng(1)
    ref = np.sort(rng.uniform(0, 1, size=(4, 24)), axis=1)[:, ::-1]
    ref[:, -6:] = 0.0
    comp = ref * rng.uniform(0.5, 1.5, size=ref.shape)
    path = plot_sensitivity_scatter(ref, {"nu1mu1": comp}, tmp_path / f"s{suffix}")
    check_file(path, suffix)


def test_bad_plot_input(tmp_path):
    with pytest.raises(ValueError, match="square"):
        plot_histogram2d(np.ones((2, 3)), np.linspace(0, 1, 3), tmp_path / "x.png", "a", "b")
    with pytest.raises(ValueError, match="empty"):
        plot_histogram2d(np.zeros((2, 2)), np.linspace(0, 1, 3), tmp_path / "x.png", "a", "b")
    with pytest.raises(ValueError, match="environments"):
        plot_sensitivity_scatter(np.ones((2, 9)), {"c": np.ones((3, 9))}, tmp_path / "x.png")
