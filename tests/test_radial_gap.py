"""GAP's EQUISPACED_GAUSS radial basis: construction, interpolation, splines, errors."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import spherical_in

from slimsoap.soap.basis import make_basis
from slimsoap.soap.basis.gaussian import GaussianBasis, scaled_bessel_i


@pytest.fixture(scope="module")
def basis():
    return GaussianBasis(n_max=6, l_max=5, r_cut=4.5, sigma=0.45)


def density_sample(l, r, s, sigma):
    """4π exp(-(r² + s²)/2σ²) i_l(r s/σ²): the l-th radial part of a Gaussian at r, at radius s."""
    return 4 * np.pi * np.exp(-(r * r + s * s) / (2 * sigma**2)) * spherical_in(l, r * s / sigma**2)


def test_registered_and_grid_follows_gap(basis):
    assert isinstance(make_basis("gaussian", 3, 2, 5.0, 0.5), GaussianBasis)
    # GAP: spacing = (r_cut + σ √(2·10·ln 10)) / n_max, first point at 0
    spacing = (4.5 + 0.45 * np.sqrt(20 * np.log(10))) / 6
    np.testing.assert_allclose(basis.centres, spacing * np.arange(6), rtol=1e-14)


def test_orthonormal(basis):
    g = lambda r, n: basis.functions(np.array([r]))[0, 0, n]  # noqa: E731
    gram = np.array(
        [
            [quad(lambda r: r * r * g(r, n) * g(r, m), 0, 15, limit=200)[0] for m in range(6)]
            for n in range(6)
        ]
    )
    np.testing.assert_allclose(gram, np.eye(6), atol=1e-10)
    f = basis.functions(np.linspace(0, 5, 7))
    np.testing.assert_array_equal(f[:, 0], f[:, 3])  # the same functions at every l


def test_projection(basis):
    h = basis.projection()
    for n in range(basis.n_max):
        ref = quad(lambda r: r * r * basis.functions(np.array([r]))[0, 0, n], 0, 15, limit=200)[0]
        assert h[0, n] == pytest.approx(ref, rel=1e-10)
    np.testing.assert_array_equal(h[0], h[-1])


@pytest.mark.parametrize("r", [0.0, 0.3, 1.1, 2.6, 4.4])
def test_interpolates_density_samples(basis, r):
    """Σ_n I_nl(r) g_n(s) passes through the Gaussian's radial part at every grid point s = r_a."""
    values = basis.integrals_exact(np.array([r]))[0][0]  # (L+1, N)
    g = basis.functions(basis.centres)[:, 0, :]  # (N grid points, N functions)
    for l in range(basis.l_max + 1):
        ref = density_sample(l, r, basis.centres, basis.sigma)
        np.testing.assert_allclose(g @ values[l], ref, rtol=1e-10, atol=1e-13)


def test_exact_derivatives_match_finite_differences(basis):
    r = np.array([0.2, 0.9, 1.7, 3.3, 4.4])
    eps = 1e-5
    i0, d1, d2 = basis.integrals_exact(r, order=2)
    ip, dp = basis.integrals_exact(r + eps)
    im, dm = basis.integrals_exact(r - eps)
    np.testing.assert_allclose(d1, (ip - im) / (2 * eps), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(d2, (dp - dm) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_spline_matches_direct_evaluation(basis):
    rng = np.random.default_rng(1)
    r = np.concatenate([[0.0, basis.r_cut], rng.uniform(0, basis.r_cut, 2000)])
    val, der = basis.integrals(r)
    ref_val, ref_der = basis.integrals_exact(r)
    for l in range(basis.l_max + 1):
        scale_v = np.abs(ref_val[:, l]).max()
        scale_d = np.abs(ref_der[:, l]).max()
        assert np.abs(val[:, l] - ref_val[:, l]).max() <= 1e-10 * scale_v
        assert np.abs(der[:, l] - ref_der[:, l]).max() <= 1e-10 * scale_d
    # beyond the table: direct evaluation
    far = np.array([basis.r_cut + 0.3])
    np.testing.assert_array_equal(basis.integrals(far)[0], basis.integrals_exact(far)[0])


@pytest.mark.parametrize("x", [0.0, 1e-8, 0.4, 1.999999, 2.0, 2.000001, 7.5, 60.0])
def test_scaled_bessel(x):
    v, d1, d2 = scaled_bessel_i(6, np.array([x]))
    for l in range(7):
        ref = spherical_in(l, x) * np.exp(-x)
        ref_d = spherical_in(l, x, derivative=True) * np.exp(-x)
        assert v[l, 0] == pytest.approx(ref, rel=1e-13, abs=1e-300)
        assert d1[l, 0] == pytest.approx(ref_d, rel=1e-12, abs=1e-300)
        if x > 0.1:  # i'' from the differential equation x² i'' + 2x i' - (x² + l(l+1)) i = 0
            ref_dd = (x * x + l * (l + 1)) * spherical_in(l, x) / x**2 - 2 / x * ref_d / np.exp(-x)
            assert d2[l, 0] == pytest.approx(ref_dd * np.exp(-x), rel=1e-10, abs=1e-14)
        else:  # i_l = x^l/(2l+1)!! · (1 + x²/(2(2l+3))) + O(x^{l+4})
            dfact = np.prod(np.arange(1.0, 2 * l + 2, 2.0))
            lead = l * (l - 1) * x ** max(l - 2, 0) if l >= 2 else 0.0
            ref_dd = (lead + (l + 2) * (l + 1) * x**l / (2 * (2 * l + 3))) / dfact
            assert d2[l, 0] == pytest.approx(ref_dd * np.exp(-x), rel=1e-12, abs=1e-300)


def test_linearly_dependent_gaussians_refused():
    with pytest.raises(ValueError, match="n_max=40, sigma=0.5 Å.*lower n_max or raise sigma"):
        GaussianBasis(n_max=40, l_max=2, r_cut=3.0, sigma=0.5)


def test_negative_distance_refused(basis):
    with pytest.raises(ValueError, match="non-negative"):
        basis.integrals(np.array([-0.1]))
