"""Real-harmonic coupling coefficients for the bispectrum, from complex Clebsch–Gordan ones.

The real spherical harmonics of slimsoap (``_kernels.soap.solid_harmonics``: index
lm = l² + l + m, cos mφ for m > 0, ``sin |m|φ`` for m < 0, Condon–Shortley phase in P_l^m) are
R = U Y with the complex Y_lm of SciPy and the unitary U of :func:`real_from_complex`.
Coupling three real coefficient vectors x1, x2, x3 (each transforming like R) with the
complex coefficients C(l1 m1, l2 m2 | l3 m3) gives

    Σ_m C(l1 m1, l2 m2 | l3 m3) d1_m1 d2_m2 conj(d3_m3),   d = U^† x,

which is rotation invariant; its value is real when l1 + l2 + l3 is even and imaginary when
it is odd. :func:`real_coupling` returns the real tensor G (the real part, or the imaginary
part for odd l1 + l2 + l3) such that the invariant is Σ G[m1, m2, m3] x1_m1 x2_m2 x3_m3.
"""

from __future__ import annotations

from fractions import Fraction
from math import factorial, sqrt

import numpy as np


def clebsch_gordan(l1: int, m1: int, l2: int, m2: int, l3: int, m3: int) -> float:
    """Complex Clebsch–Gordan coefficient ⟨l1 m1; l2 m2 | l3 m3⟩ (Racah's formula, exact
    rational arithmetic under the square roots; Condon–Shortley phase convention)."""
    if m1 + m2 != m3 or not abs(l1 - l2) <= l3 <= l1 + l2:
        return 0.0
    if abs(m1) > l1 or abs(m2) > l2 or abs(m3) > l3:
        return 0.0
    f = factorial
    pre = Fraction(
        (2 * l3 + 1) * f(l3 + l1 - l2) * f(l3 - l1 + l2) * f(l1 + l2 - l3), f(l1 + l2 + l3 + 1)
    ) * (f(l3 + m3) * f(l3 - m3) * f(l1 - m1) * f(l1 + m1) * f(l2 - m2) * f(l2 + m2))
    total = Fraction(0)
    for k in range(max(0, l2 - l3 - m1, l1 - l3 + m2), min(l1 + l2 - l3, l1 - m1, l2 + m2) + 1):
        den = (
            f(k)
            * f(l1 + l2 - l3 - k)
            * f(l1 - m1 - k)
            * f(l2 + m2 - k)
            * f(l3 - l2 + m1 + k)
            * f(l3 - l1 - m2 + k)
        )
        total += Fraction((-1) ** k, den)
    return float(total) * sqrt(pre)


def real_from_complex(l: int) -> np.ndarray:
    """(2l+1, 2l+1) unitary U with R_lm = Σ_m' U[m, m'] Y_lm' (rows and columns m = -l..l).

    R_l0 = Y_l0; for m > 0, R_lm = (Y_lm + (-1)^m Y_l,-m)/√2 and
    R_l,-m = -i (Y_lm - (-1)^m Y_l,-m)/√2.
    """
    u = np.zeros((2 * l + 1, 2 * l + 1), dtype=complex)
    u[l, l] = 1.0
    s = 1.0 / np.sqrt(2.0)
    for m in range(1, l + 1):
        sign = (-1) ** m
        u[l + m, l + m] = s
        u[l + m, l - m] = sign * s
        u[l - m, l + m] = -1j * s
        u[l - m, l - m] = 1j * sign * s
    return u


def real_coupling(l1: int, l2: int, l3: int) -> np.ndarray:
    """Real coupling tensor G (2l1+1, 2l2+1, 2l3+1) of real coefficient vectors (module doc).

    Raises ValueError if (l1, l2, l3) violate the triangle rule.
    """
    if not abs(l1 - l2) <= l3 <= l1 + l2:
        raise ValueError(f"(l1, l2, l3) = ({l1}, {l2}, {l3}) violates the triangle rule")
    cg = np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1))
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            if abs(m1 + m2) <= l3:
                cg[m1 + l1, m2 + l2, m1 + m2 + l3] = clebsch_gordan(l1, m1, l2, m2, l3, m1 + m2)
    u1, u2, u3 = real_from_complex(l1), real_from_complex(l2), real_from_complex(l3)
    g = np.einsum("ijk,ai,bj,ck->abc", cg, u1.conj(), u2.conj(), u3)
    if (l1 + l2 + l3) % 2 == 0:
        return g.real.copy()
    return g.imag.copy()
