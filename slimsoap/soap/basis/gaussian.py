"""GAP's ``EQUISPACED_GAUSS`` radial basis (the default of quippy's ``soap``), reproduced.

GAP does not project the neighbour density on its basis; it interpolates. With
α = 1/2σ², n_max = N and ``basis_error_exponent`` E = 10 (GAP's default):

1. Grid: r_a = a·h for a = 0..N-1, with h = (r_cut + σ √(2 E ln 10)) / N (the last
   point stops one spacing short of r_cut + σ√(2E ln 10)).
2. Gaussians φ_a(s) = exp(-α (s - r_a)²) of width σ; their covariance C_ab = φ_b(r_a) and
   their r²-weighted overlap S_ab = ∫_0^∞ s² φ_a φ_b ds, Cholesky-factored S = L Lᵀ
   (L lower triangular).
3. For a neighbour at distance r, the l-th radial component of its Gaussian,
   ρ_l(r; s) = 4π exp(-α (r² + s²)) i_l(2α r s) (i_l: modified spherical Bessel function),
   is sampled at the grid, interpolated with the φ_a (weights w = C⁻¹ ρ_l), and expressed
   in the orthonormal functions g_n = Σ_a φ_a (L⁻ᵀ)_an (w·L), so

       I_nl(r) = Σ_a ρ_l(r; r_a) T_an,    T = C⁻¹ L.

The basis is the same for every l. The factor 4π makes I the expansion of the same density
as the other bases; GAP omits it (see ``tests/peers/test_quippy_soap.py`` for the fixed
factors between the two). I and dI/dr are tabulated once on a grid of spacing σ/32 in r and
evaluated with quintic Hermite splines (values, first and second derivatives at the nodes),
which agree with the direct evaluation (:meth:`GaussianBasis.integrals_exact`) to ~1e-12.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf, ive

from slimsoap.soap.basis.base import RadialBasis

#: GAP's default ``basis_error_exponent``: the grid extends σ√(2·10·ln 10) beyond r_cut.
BASIS_ERROR_EXPONENT = 10.0
#: Below this argument the modified spherical Bessel functions come from their power series.
_SERIES_BELOW = 2.0
_SERIES_TERMS = 30


def _radial_moment(centre: np.ndarray, alpha: float) -> np.ndarray:
    """∫_0^∞ s² exp(-α (s - c)²) ds for each centre c ≥ 0 (closed form)."""
    c = np.asarray(centre, dtype=np.float64)
    g = 0.5 * np.sqrt(np.pi / alpha) * (1.0 + erf(c * np.sqrt(alpha)))
    return c * np.exp(-alpha * c * c) / (2.0 * alpha) + g * (c * c + 0.5 / alpha)


def scaled_bessel_i(l_max: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """e^{-x} i_l(x) and its first two derivatives in x (of i_l, times e^{-x}), x ≥ 0.

    Returns three arrays of shape (L+1, *x.shape). Power series for x < 2 (all terms
    positive, exact at x = 0), ``scipy.special.ive`` with the recurrences
    i_l' = i_{l+1} + (l/x) i_l and i_l'' = (1 + l(l+1)/x²) i_l - (2/x) i_l' above.
    """
    x = np.asarray(x, dtype=np.float64)
    ls = np.arange(l_max + 1).reshape((-1,) + (1,) * x.ndim)
    val = np.empty((l_max + 1,) + x.shape)
    d1, d2 = np.empty_like(val), np.empty_like(val)
    small = x < _SERIES_BELOW
    xs = x[small]
    if xs.size:
        # i_l(x) = Σ_k x^{l+2k} / (2^k k! (2l+2k+1)!!)
        v = np.zeros((l_max + 1, xs.size))
        dv, ddv = np.zeros_like(v), np.zeros_like(v)
        for l in range(l_max + 1):
            coef = 1.0 / np.prod(np.arange(1.0, 2 * l + 2, 2.0))  # 1/(2l+1)!!
            for k in range(_SERIES_TERMS):
                p = l + 2 * k
                v[l] += coef * xs**p
                if p >= 1:
                    dv[l] += coef * p * xs ** (p - 1)
                if p >= 2:
                    ddv[l] += coef * p * (p - 1) * xs ** (p - 2)
                coef /= 2.0 * (k + 1) * (2 * l + 2 * k + 3)
        e = np.exp(-xs)
        val[:, small], d1[:, small], d2[:, small] = v * e, dv * e, ddv * e
    xl = x[~small]
    if xl.size:
        pref = np.sqrt(np.pi / (2.0 * xl))
        il = pref * ive(np.arange(l_max + 2)[:, None] + 0.5, xl[None, :])  # (L+2, n)
        lsl = ls.reshape(-1, 1)
        v = il[:-1]
        dv = il[1:] + lsl / xl * v
        val[:, ~small] = v
        d1[:, ~small] = dv
        d2[:, ~small] = (1.0 + lsl * (lsl + 1) / xl**2) * v - 2.0 / xl * dv
    return val, d1, d2


class GaussianBasis(RadialBasis):
    """GAP's ``EQUISPACED_GAUSS`` radial basis (interpolation by equispaced Gaussians).

    Args: as :class:`~slimsoap.soap.basis.base.RadialBasis`. The construction is in the module
    docstring; ``centres`` (N,) are the r_a in Å, ``transform`` (N, N) is T = C⁻¹L, and
    ``orthonormal`` (N, N) is L⁻ᵀ (g_n = Σ_a φ_a orthonormal[a, n]).
    """

    name = "gaussian"

    def __init__(self, n_max: int, l_max: int, r_cut: float, sigma: float):
        super().__init__(n_max, l_max, r_cut, sigma)
        N = self.n_max
        self.alpha = 0.5 / self.sigma**2
        extent = self.r_cut + self.sigma * np.sqrt(2.0 * BASIS_ERROR_EXPONENT * np.log(10.0))
        self.centres = np.arange(N) * (extent / N)
        diff = self.centres[:, None] - self.centres[None, :]
        covariance = np.exp(-self.alpha * diff**2)
        mid = 0.5 * (self.centres[:, None] + self.centres[None, :])
        overlap = np.exp(-0.5 * self.alpha * diff**2) * _radial_moment(mid, 2.0 * self.alpha)
        for what, matrix in (("covariance", covariance), ("overlap", overlap)):
            eig = np.linalg.eigvalsh(matrix)
            if eig.min() <= 1e-12 * eig.max():
                cond = eig.max() / max(eig.min(), 1e-300)
                raise ValueError(
                    f"gaussian basis cannot be built at n_max={N}, sigma={self.sigma} Å, "
                    f"r_cut={self.r_cut} Å: Gaussians {extent / N:.3g} Å apart are numerically "
                    f"linearly dependent ({what} condition number {cond:.1e}); "
                    "lower n_max or raise sigma"
                )
        chol = np.linalg.cholesky(overlap)
        self.transform = np.linalg.solve(covariance, chol)
        self.orthonormal = np.linalg.inv(chol).T
        self._moments = _radial_moment(self.centres, self.alpha)

    # -- direct evaluation -------------------------------------------------------------
    def _samples(self, r: np.ndarray, order: int) -> list[np.ndarray]:
        """ρ_l(r; r_a) and its r-derivatives up to ``order``, each (P, L+1, N)."""
        r = np.asarray(r, dtype=np.float64)[:, None]  # (P, 1)
        s = self.centres[None, :]  # (1, N)
        a = self.alpha
        x = 2.0 * a * r * s
        g = 4.0 * np.pi * np.exp(-a * (r - s) ** 2)  # 4π e^{-α(r²+s²)} e^{x}
        b, db, ddb = scaled_bessel_i(self.l_max, x)  # (L+1, P, N), times e^{-x}
        beta = 2.0 * a * s
        out = [g * b]
        if order >= 1:
            out.append(g * (-2.0 * a * r * b + beta * db))
        if order >= 2:
            out.append(
                g * ((4.0 * a * a * r * r - 2.0 * a) * b - 4.0 * a * r * beta * db + beta**2 * ddb)
            )
        return [np.ascontiguousarray(o.transpose(1, 0, 2)) for o in out]

    def integrals_exact(self, r: np.ndarray, order: int = 1) -> list[np.ndarray]:
        """I, dI/dr (and d²I/dr² when ``order`` = 2) by direct evaluation, each (P, L+1, N)."""
        return [s @ self.transform for s in self._samples(r, order)]

    # -- basis functions ---------------------------------------------------------------
    def functions(self, r: np.ndarray) -> np.ndarray:
        """g_n(r) = Σ_a φ_a(r) (L⁻ᵀ)_an, the same for every l: (len(r), L+1, N)."""
        r = np.asarray(r, dtype=np.float64)
        phi = np.exp(-self.alpha * (r[:, None] - self.centres[None, :]) ** 2)
        g = phi @ self.orthonormal
        return np.broadcast_to(g[:, None, :], (len(r), self.l_max + 1, self.n_max)).copy()

    def projection(self) -> np.ndarray:
        """h_nl = ∫ r² g_n(r) dr (closed form), (L+1, N); the same row for every l."""
        h = self._moments @ self.orthonormal
        return np.tile(h, (self.l_max + 1, 1))
