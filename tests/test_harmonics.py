import numpy as np
from scipy.special import sph_harm_y

from slimsoap._kernels.soap import solid_harmonics, sph_norms

L = 12


def _eval(p, grad=False):
    Q = np.zeros((L + 2, L + 2))
    cs, sn = np.empty(L + 1), np.empty(L + 1)
    R, dR = np.empty((L + 1) ** 2), np.zeros((3, (L + 1) ** 2))
    solid_harmonics(p[0], p[1], p[2], L, sph_norms(L), Q, cs, sn, R, dR, grad)
    return R.copy(), dR.copy()


def _scipy_real(u):
    theta, phi = np.arccos(u[2]), np.arctan2(u[1], u[0])
    out = []
    for l in range(L + 1):
        for m in range(-l, l + 1):
            y = sph_harm_y(l, abs(m), theta, phi)
            out.append(np.sqrt(2) * (-1) ** m * (y.real if m > 0 else y.imag) if m else y.real)
    return np.array(out)


def test_matches_scipy_up_to_fixed_phase():
    """Same functions as SciPy's real harmonics, up to one fixed sign per (l, m)."""
    rng = np.random.default_rng(0)
    signs = []
    for _ in range(4):
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        R, _ = _eval(u)
        ref = _scipy_real(u)
        np.testing.assert_allclose(np.abs(R), np.abs(ref), atol=1e-12)
        signs.append(np.sign(R * ref))
    signs = np.array(signs)
    assert np.all(np.abs(signs) == 1)
    assert np.all(signs == signs[0])


def test_orthonormal_on_sphere():
    """Lebedev-free check: Gauss-Legendre × trapezoid quadrature of Y_lm Y_l'm'."""
    x, w = np.polynomial.legendre.leggauss(2 * L + 2)
    phis = np.linspace(0, 2 * np.pi, 2 * L + 3, endpoint=False)
    gram = np.zeros(((L + 1) ** 2, (L + 1) ** 2))
    for ct, wt in zip(x, w):
        st = np.sqrt(1 - ct * ct)
        for ph in phis:
            R, _ = _eval(np.array([st * np.cos(ph), st * np.sin(ph), ct]))
            gram += wt * (2 * np.pi / len(phis)) * np.outer(R, R)
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-12)


def test_gradient_finite_difference():
    p = np.array([0.3, -0.7, 1.1])
    _, g = _eval(p, grad=True)
    h = 1e-6
    for d in range(3):
        e = np.zeros(3)
        e[d] = h
        fd = (_eval(p + e)[0] - _eval(p - e)[0]) / (2 * h)
        np.testing.assert_allclose(g[d], fd, rtol=1e-7, atol=1e-7 * np.abs(g).max())


def test_pair_blocks_equal_solid_harmonics_bit_for_bit():
    """unit_harmonics (many pairs at once, the values path) gives solid_harmonics' numbers
    at r̂ = r / |r|, to the bit, for every block size up to PAIR_BLOCK, L 0..12."""
    from slimsoap._kernels.harmonics import PAIR_BLOCK, harmonics_workspace, unit_harmonics

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(PAIR_BLOCK + 5, 3)) * rng.uniform(0.5, 6.0, (PAIR_BLOCK + 5, 1))
    vectors[:3] = [[0.0, 0.0, 2.0], [0.0, 0.0, -1.0], [1.5, 0.0, 0.0]]  # poles, an axis
    dist = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
    for l_max in (0, 1, 2, 6, L):
        work = harmonics_workspace(l_max)
        norms = sph_norms(l_max)
        for p0, count in [(0, PAIR_BLOCK), (5, PAIR_BLOCK), (2, 1), (7, 13)]:
            unit_harmonics(vectors, dist, p0, count, l_max, norms, work)
            for k in range(count):
                u = vectors[p0 + k] / dist[p0 + k]
                Q = np.zeros((l_max + 2, l_max + 2))
                cs, sn = np.empty(l_max + 1), np.empty(l_max + 1)
                R, dR = np.empty((l_max + 1) ** 2), np.zeros((3, (l_max + 1) ** 2))
                solid_harmonics(*u, l_max, norms, Q, cs, sn, R, dR, False)
                np.testing.assert_array_equal(work[4][:, k], R)
