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

from slimsoap._kernels.soap import quintic_hermite
from slimsoap._runtime.limits import check_allocation
from slimsoap._validation import check_int, check_positive

#: Nodes of the radial spline tables per σ.
_NODES_PER_SIGMA = 32
#: Arrays of (n_nodes, L+1, N) float64 alive at the peak of building the table: 6 coefficients,
#: I, I', I'' and the basis' temporaries in ``integrals_exact`` (18 measured with tracemalloc
#: for the gto and gaussian bases).
_TABLE_ARRAYS = 18


def _n_intervals(r_cut: float, sigma: float, nodes_per_sigma: int) -> int:
    """Intervals of the spline table on [0, r_cut]: ``nodes_per_sigma`` per σ, at least 8."""
    return max(8, int(np.ceil(r_cut / sigma * nodes_per_sigma)))


def _hermite_table(basis: RadialBasis, nodes_per_sigma: int) -> tuple[float, np.ndarray]:
    """Spacing h and quintic Hermite coefficients (n_intervals, 6, L+1, N) on [0, r_cut].

    On interval k with t = (r - r_k)/h: I = Σ_j coef[k, j] t^j, matching I, h·I', h²·I''
    at both ends.
    """
    n_int = _n_intervals(basis.r_cut, basis.sigma, nodes_per_sigma)
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

    Raises:
        MemoryLimitError: if the spline table (r_cut/σ · 32 nodes × (L+1) × N) would exceed
            the memory limit (:mod:`slimsoap._runtime.limits`), before anything is allocated.
    """

    name: str = ""

    def __init__(self, n_max: int, l_max: int, r_cut: float, sigma: float):
        self.n_max = check_int("n_max", n_max, 1)
        self.l_max = check_int("l_max", l_max, 0)
        self.r_cut = check_positive("r_cut", r_cut)
        self.sigma = check_positive("sigma", sigma)
        check_allocation(
            self.table_bytes(),
            "the radial spline table",
            f"sigma = {self.sigma:g} Å is tiny against r_cut = {self.r_cut:g} Å "
            f"({_NODES_PER_SIGMA} nodes per sigma, (l_max+1)·n_max = "
            f"{(self.l_max + 1) * self.n_max} values per node)",
        )
        self._table = None
        self._origin = None

    def table_bytes(self) -> int:
        """Estimated peak memory (bytes) of building the radial spline table."""
        n_nodes = _n_intervals(self.r_cut, self.sigma, _NODES_PER_SIGMA) + 1
        return n_nodes * (self.l_max + 1) * self.n_max * 8 * _TABLE_ARRAYS

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
