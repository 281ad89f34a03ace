"""Independent brute-force bispectrum: SymPy Clebsch–Gordan coefficients, SciPy complex
harmonics (the complex→real unitary is fitted to slimsoap's real harmonics, not assumed),
channel maps rebuilt from their definitions, explicit sums over m."""

from functools import cache

import numpy as np
from ase.data import chemical_symbols
from scipy.special import sph_harm_y
from sympy.physics.quantum.cg import CG

from slimsoap._kernels.soap import solid_harmonics, sph_norms


@cache
def sympy_cg(l1, m1, l2, m2, l3, m3):
    return float(CG(l1, m1, l2, m2, l3, m3).doit())


@cache
def fitted_unitaries(l_max):
    """Per l, U (2l+1, 2l+1) with slimsoap's R_lm = Σ U[m, m'] Y_lm' (SciPy's Y), by least
    squares over random directions."""
    rng = np.random.default_rng(11)
    pts = rng.normal(size=(80, 3))
    pts /= np.linalg.norm(pts, axis=1)[:, None]
    nlm = (l_max + 1) ** 2
    real = np.empty((len(pts), nlm))
    Q = np.zeros((l_max + 2, l_max + 2))
    cs, sn, dR = np.empty(l_max + 1), np.empty(l_max + 1), np.zeros((3, nlm))
    for k, p in enumerate(pts):
        solid_harmonics(p[0], p[1], p[2], l_max, sph_norms(l_max), Q, cs, sn, real[k], dR, False)
    theta, phi = np.arccos(pts[:, 2]), np.arctan2(pts[:, 1], pts[:, 0])
    out = []
    for l in range(l_max + 1):
        Y = np.stack([sph_harm_y(l, m, theta, phi) for m in range(-l, l + 1)], axis=1)
        ut, *_ = np.linalg.lstsq(Y, real[:, l * l : (l + 1) ** 2].astype(complex), rcond=None)
        assert np.allclose(Y @ ut, real[:, l * l : (l + 1) ** 2], atol=1e-12)
        out.append(ut.T)
    return out


def factor(density, c, h, species_z, seed_maps=None):
    """(L+1)² × K matrix of one density for one centre's c (S, N, (L+1)²), with names."""
    S, N, nlm = c.shape
    L1 = len(h)
    symbols = [chemical_symbols[z] for z in species_z]
    lsq = np.repeat(np.arange(L1), 2 * np.arange(L1) + 1)  # l of each lm
    if density == "element":
        x = c.reshape(S * N, nlm).T
        names = [f"{e}:n{n}" for e in symbols for n in range(N)]
    elif density == "total":
        x = c.sum(axis=0).T
        names = [f"total:n{n}" for n in range(N)]
    elif density == "element_proj":
        x = np.einsum("snm,mn->ms", c, h[lsq])
        names = [f"{e}:proj" for e in symbols]
    elif density == "total_proj":
        x = np.einsum("snm,mn->m", c, h[lsq])[:, None]
        names = ["total:proj"]
    else:  # random: the calculator's seeded maps, applied per l
        X = c.reshape(S * N, nlm).T
        x = np.concatenate([X[l * l : (l + 1) ** 2] @ seed_maps[l] for l in range(L1)])
        names = [f"rand:{k}" for k in range(seed_maps[0].shape[1])]
    return x, {name: k for k, name in enumerate(names)}


def block(l1, l2, l3, x1, x2, x3):
    """B[a, b, c] (K1, K2, K3) of real factors x_k ((L+1)², K_k): Σ_{m1 m2}
    C(l1 m1, l2 m2 | l3 m1+m2) d1 d2 conj(d3), d = U^† x; real part (even l1+l2+l3) or
    imaginary part (odd)."""
    U = fitted_unitaries(max(l1, l2, l3))
    d = [U[l].conj().T @ x[l * l : (l + 1) ** 2] for l, x in zip((l1, l2, l3), (x1, x2, x3))]
    out = np.zeros((x1.shape[1], x2.shape[1], x3.shape[1]), dtype=complex)
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            m3 = m1 + m2
            if abs(m3) > l3:
                continue
            cg = sympy_cg(l1, m1, l2, m2, l3, m3)
            if cg:
                out += cg * np.einsum(
                    "a,b,c->abc", d[0][m1 + l1], d[1][m2 + l2], d[2][m3 + l3].conj()
                )
    assert np.abs(out.imag if (l1 + l2 + l3) % 2 == 0 else out.real).max() < 1e-12
    return out.real if (l1 + l2 + l3) % 2 == 0 else out.imag


def reference_row(calc, c, seed_maps=None):
    """Every column of ``calc.labels()`` for one centre's coefficients c (S, N, (L+1)²)."""
    h = calc.basis.projection()
    facs = [factor(d, c, h, calc.species_z, seed_maps) for d in calc.spec.densities]
    cache, row = {}, []
    for l1, l2, l3, n1, n2, n3 in calc.labels():
        if (l1, l2, l3) not in cache:
            cache[l1, l2, l3] = block(l1, l2, l3, *(x for x, _ in facs))
        row.append(cache[l1, l2, l3][facs[0][1][n1], facs[1][1][n2], facs[2][1][n3]])
    return np.array(row)
