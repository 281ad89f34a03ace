"""Radial bases g_nl(r) and the radial integrals of a Gaussian atom density against them.

For an atom at distance r from the centre, a Gaussian of width σ expands as

    c_nlm = I_nl(r) · Y_lm(r̂),
    I_nl(r) = 4π ∫_0^∞ s² g_nl(s) exp(-(s² + r²)/2σ²) i_l(s r/σ²) ds,

with i_l the modified spherical Bessel function. A basis provides ``I_nl(r)`` and its
derivative, and the unit-sphere projection weights ``h_nl``; everything else in the
expansion is basis-independent. New bases subclass :class:`RadialBasis`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from scipy.special import gamma

from ._kernels.soap import quintic_hermite
from .errors import check_int, check_positive

#: Nodes of the radial spline tables per σ.
_NODES_PER_SIGMA = 32


def _hermite_table(basis: RadialBasis, nodes_per_sigma: int) -> tuple[float, np.ndarray]:
    """Spacing h and quintic Hermite coefficients (n_intervals, 6, L+1, N) on [0, r_cut].

    On interval k with t = (r - r_k)/h: I = Σ_j coef[k, j] t^j, matching I, h·I', h²·I''
    at both ends.
    """
    n_int = max(8, int(np.ceil(basis.r_cut / basis.sigma * nodes_per_sigma)))
    h = basis.r_cut / n_int
    y, dy, ddy = basis.integrals_exact(np.arange(n_int + 1) * h, order=2)
    y0, y1 = y[:-1], y[1:]
    d0, d1 = h * dy[:-1], h * dy[1:]
    s0, s1 = h * h * ddy[:-1], h * h * ddy[1:]
    dlt = y1 - y0
    coef = np.stack(
        [
            y0,
            d0,
            0.5 * s0,
            10.0 * dlt - 6.0 * d0 - 4.0 * d1 - 1.5 * s0 + 0.5 * s1,
            -15.0 * dlt + 8.0 * d0 + 7.0 * d1 + 1.5 * s0 - s1,
            6.0 * dlt - 3.0 * (d0 + d1) - 0.5 * (s0 - s1),
        ],
        axis=1,
    )
    return h, np.ascontiguousarray(coef)


class RadialBasis(ABC):
    """Orthonormal radial basis on [0, ∞) with weight r² (units: Å).

    Args:
        n_max: number of radial functions per l (N ≥ 1).
        l_max: largest angular channel (L ≥ 0).
        r_cut: cutoff radius in Å (> 0).
        sigma: Gaussian width σ of the atom density in Å (> 0).
    """

    name: str = ""

    def __init__(self, n_max: int, l_max: int, r_cut: float, sigma: float):
        self.n_max = check_int("n_max", n_max, 1)
        self.l_max = check_int("l_max", l_max, 0)
        self.r_cut = check_positive("r_cut", r_cut)
        self.sigma = check_positive("sigma", sigma)
        self._table = None
        self._origin = None

    @abstractmethod
    def integrals_exact(self, r: np.ndarray, order: int = 1) -> list[np.ndarray]:
        """I, dI/dr (and d²I/dr² when ``order`` = 2) by direct evaluation, each (P, L+1, N)."""

    def integrals(self, r: np.ndarray, derivatives: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Radial integrals ``I`` and ``dI/dr``, each (len(r), L+1, N), for distances r (Å).

        Without ``derivatives`` the second array has zero rows.

        Evaluated from a quintic Hermite table on [0, r_cut] (nodes every σ/32, exact
        values, first and second derivatives at the nodes; agrees with
        :meth:`integrals_exact` to ~1e-12); distances beyond r_cut are evaluated directly.
        """
        if self._table is None:
            self._table = _hermite_table(self, _NODES_PER_SIGMA)
        r = np.ascontiguousarray(r, dtype=np.float64)
        if np.any(r < 0):
            raise ValueError("distances must be non-negative")
        h, coef = self._table
        values, derivs = quintic_hermite(r, h, coef, derivatives)
        outside = r > self.r_cut
        if np.any(outside):
            exact = self.integrals_exact(r[outside])
            values[outside] = exact[0]
            if derivatives:
                derivs[outside] = exact[1]
        return values, derivs

    def at_origin(self) -> np.ndarray:
        """(N,) I_n0(0), the centre's own Gaussian (computed once)."""
        if self._origin is None:
            self._origin = self.integrals(np.zeros(1))[0][0, 0]
        return self._origin

    @abstractmethod
    def projection(self) -> np.ndarray:
        """(L+1, N) weights h_nl = ∫ r² g_nl(r) dr of the unit-sphere projection."""

    @abstractmethod
    def functions(self, r: np.ndarray) -> np.ndarray:
        """The basis functions g_nl(r), (len(r), L+1, N), for checks and plots."""


class GTOBasis(RadialBasis):
    """DScribe's GTO basis: g_nl = Σ_k β^l_nk r^l exp(-α_kl r²), Löwdin-orthonormalised.

    α_kl = -ln(10⁻³ / a_k^l) / a_k², a_k = linspace(1, r_cut, N): each primitive decays to
    10⁻³ at a_k. β^l = S_l^{-1/2}, with S_l the r²-weighted overlap of the primitives.

    The radial integral has a closed form (no Bessel functions):
        ∫_0^∞ s^{l+2} e^{-a s²} i_l(b s) ds = √π b^l / (2^{l+2} a^{l+3/2}) · e^{b²/4a},
    so with a_k = α_kl + 1/2σ² and b = r/σ²,
        I_nl(r) = 4π Σ_k β^l_nk √π (r/σ²)^l / (2^{l+2} a_k^{l+3/2}) · exp(-α_kl r² / (2σ² a_k)).
    """

    name = "gto"

    def __init__(self, n_max: int, l_max: int, r_cut: float, sigma: float):
        super().__init__(n_max, l_max, r_cut, sigma)
        a = np.linspace(1.0, self.r_cut, self.n_max)
        L, N = self.l_max, self.n_max
        self.alphas = np.empty((L + 1, N))
        self.betas = np.empty((L + 1, N, N))
        for l in range(L + 1):
            alpha = -np.log(1e-3 / a**l) / a**2
            if np.any(alpha <= 0):
                raise ValueError(
                    f"GTO basis: r_cut={self.r_cut} Å gives non-decaying primitives at l={l}; "
                    "use r_cut ≥ 1.5 Å or a smaller l_max"
                )
            overlap = 0.5 * gamma(l + 1.5) * (alpha[:, None] + alpha[None, :]) ** (-l - 1.5)
            w, v = np.linalg.eigh(overlap)
            if w.min() <= 1e-12 * w.max():
                raise ValueError(
                    f"GTO basis cannot be orthonormalised at n_max={N}, l={l} "
                    f"(overlap condition number {w.max() / max(w.min(), 1e-300):.1e}); "
                    "lower n_max or raise r_cut"
                )
            self.alphas[l] = alpha
            self.betas[l] = (v / np.sqrt(w)) @ v.T
        inv2s2 = 0.5 / self.sigma**2
        self._a = self.alphas + inv2s2  # (L+1, N)
        self._gamma = self.alphas * inv2s2 / self._a
        ls = np.arange(L + 1)[:, None]
        pref = 4.0 * np.pi * np.sqrt(np.pi) / (2.0 ** (ls + 2) * self._a ** (ls + 1.5))
        self._pref = pref * self.sigma ** (-2.0 * ls)

    def integrals_exact(self, r: np.ndarray, order: int = 1) -> list[np.ndarray]:
        r = np.asarray(r, dtype=np.float64)[:, None, None]
        ls = np.arange(self.l_max + 1)[None, :, None]
        g = self._gamma[None]
        e = self._pref[None] * np.exp(-g * r * r)
        # r^(l-k) for k = 0, 1, 2, zero where l < k (the derivative of a lower power)
        rl = [np.where(ls >= k, r ** np.maximum(ls - k, 0), 0.0) for k in range(3)]
        prims = [e * rl[0]]
        if order >= 1:
            prims.append(e * (ls * rl[1] - 2.0 * g * r * rl[0]))
        if order >= 2:
            prims.append(
                e
                * (
                    ls * (ls - 1) * rl[2]
                    - 2.0 * g * (2 * ls + 1) * rl[0]
                    + 4.0 * g * g * r * r * rl[0]
                )
            )
        return [np.einsum("plk,lnk->pln", q, self.betas) for q in prims]

    def projection(self) -> np.ndarray:
        ls = np.arange(self.l_max + 1)[:, None]
        prim = gamma((ls + 3) / 2.0) / (2.0 * self.alphas ** ((ls + 3) / 2.0))
        return np.einsum("lk,lnk->ln", prim, self.betas)

    def functions(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, dtype=np.float64)[:, None, None]
        ls = np.arange(self.l_max + 1)[None, :, None]
        prim = r**ls * np.exp(-self.alphas[None] * r * r)
        return np.einsum("plk,lnk->pln", prim, self.betas)


#: Registry of radial bases by name; other modules add theirs here.
BASES: dict[str, type[RadialBasis]] = {"gto": GTOBasis}


def make_basis(name: str, n_max: int, l_max: int, r_cut: float, sigma: float) -> RadialBasis:
    """Build the radial basis called ``name`` (one of :data:`BASES`)."""
    if name not in BASES:
        raise ValueError(f"unknown radial_basis {name!r}; valid: {sorted(BASES)}")
    return BASES[name](n_max, l_max, r_cut, sigma)


from .radial_gap import GaussianBasis  # noqa: E402  (subclasses RadialBasis above)

BASES[GaussianBasis.name] = GaussianBasis
