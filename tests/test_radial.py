import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import spherical_in

from slimsoap.soap.basis import GTOBasis, make_basis


@pytest.fixture(scope="module")
def basis():
    return GTOBasis(n_max=5, l_max=4, r_cut=5.0, sigma=0.45)


def test_orthonormal(basis):
    for l in range(basis.l_max + 1):
        gram = np.array(
            [
                [
                    quad(
                        lambda r: (
                            r
                            * r
                            * basis.functions(np.array([r]))[0, l, n]
                            * basis.functions(np.array([r]))[0, l, m]
                        ),
                        0,
                        30,
                        limit=200,
                    )[0]
                    for m in range(basis.n_max)
                ]
                for n in range(basis.n_max)
            ]
        )
        np.testing.assert_allclose(gram, np.eye(basis.n_max), atol=1e-9)


@pytest.mark.parametrize("r", [0.0, 0.7, 2.3, 4.9])
def test_radial_integral_against_quadrature(basis, r):
    s = basis.sigma
    values, derivs = basis.integrals(np.array([r, r + 1e-6, max(r - 1e-6, 0)]))
    for l in range(basis.l_max + 1):
        for n in range(basis.n_max):

            def f(x):
                g = basis.functions(np.array([x]))[0, l, n]
                return (
                    4
                    * np.pi
                    * x
                    * x
                    * g
                    * np.exp(-(x * x + r * r) / (2 * s * s))
                    * spherical_in(l, x * r / s**2)
                )

            ref = quad(f, 0, 20, points=[r] if r > 0 else None, limit=400)[0]
            assert values[0, l, n] == pytest.approx(ref, rel=1e-9, abs=1e-12)
            if r > 0:
                fd = (values[1, l, n] - values[2, l, n]) / 2e-6
                assert derivs[0, l, n] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_projection(basis):
    for l in (0, 3):
        for n in range(basis.n_max):
            ref = quad(lambda r: r * r * basis.functions(np.array([r]))[0, l, n], 0, 30)[0]
            assert basis.projection()[l, n] == pytest.approx(ref, rel=1e-9)


def test_cannot_orthonormalise():
    with pytest.raises(ValueError, match="cannot be orthonormalised at n_max=40"):
        GTOBasis(n_max=40, l_max=2, r_cut=5.0, sigma=0.5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_max=0), "n_max must be >= 1"),
        (dict(l_max=-1), "l_max must be >= 0"),
        (dict(r_cut=0.0), "r_cut must be > 0"),
        (dict(sigma=-0.1), "sigma must be > 0"),
    ],
)
def test_bad_hyperparameters(kwargs, message):
    args = dict(n_max=4, l_max=3, r_cut=5.0, sigma=0.5) | kwargs
    with pytest.raises(ValueError, match=message):
        GTOBasis(**args)


def test_unknown_basis():
    with pytest.raises(ValueError, match="unknown radial_basis 'bessel'"):
        make_basis("bessel", 4, 3, 5.0, 0.5)


@pytest.mark.parametrize("sigma", [0.3, 0.5])
def test_spline_table_matches_closed_form(sigma):
    """The quintic Hermite table reproduces the closed-form integrals to ≤1e-10."""
    basis = GTOBasis(n_max=8, l_max=6, r_cut=5.0, sigma=sigma)
    r = np.random.default_rng(0).uniform(0, 5.0, 2000)
    values, derivs = basis.integrals(r)
    exact, dexact = basis.integrals_exact(r)
    assert np.abs(values - exact).max() <= 1e-10 * np.abs(exact).max()
    assert np.abs(derivs - dexact).max() <= 1e-10 * np.abs(dexact).max()


def test_second_derivative_finite_difference(basis):
    r = np.array([0.4, 1.7, 3.9])
    h = 1e-5
    _, d2 = basis.integrals_exact(r, order=2)[1:]
    dp = basis.integrals_exact(r + h)[1]
    dm = basis.integrals_exact(r - h)[1]
    np.testing.assert_allclose(d2, (dp - dm) / (2 * h), rtol=1e-6, atol=1e-8 * np.abs(d2).max())
