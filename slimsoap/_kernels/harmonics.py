"""Real spherical harmonics of many pairs at once, pairs innermost so the loops vectorise.

The values of :func:`slimsoap._kernels.soap.solid_harmonics` (no gradients) at the unit
vectors of a run of pairs, bit for bit: every pair goes through the same operations in the
same order (no fast-math, so no reassociation or fused multiply-adds), only several pairs
at a time; the divisions of the recurrence run four to a vector instruction.
"""

import numba as nb
import numpy as np

#: Pairs whose harmonics are computed together (one block of the workspace).
PAIR_BLOCK = 64


@nb.njit(cache=True)
def harmonics_workspace(l_max):
    """Work arrays of :func:`unit_harmonics` for blocks of :data:`PAIR_BLOCK` pairs:
    u (4, B) unit vector and its squared norm, cs and sn (L+1, B) the real and imaginary
    parts of (x + iy)^m, q (3, B) three consecutive Q^m_l, R ((L+1)², B) the output."""
    B = PAIR_BLOCK
    L1 = l_max + 1
    return (
        np.empty((4, B)),
        np.empty((L1, B)),
        np.empty((L1, B)),
        np.empty((3, B)),
        np.empty((L1 * L1, B)),
    )


@nb.njit(cache=True, inline="always")
def unit_harmonics(vectors, dist, p0, nb_, l_max, norms, work):
    """Y_lm(r̂_p) of pairs p0 .. p0 + nb_ - 1 (nb_ ≤ :data:`PAIR_BLOCK`) into ``work[4]``:
    R[lm, p - p0], lm = l² + l + m, r̂ = vectors[p] / dist[p] (Å / Å).

    Args:
        vectors, dist: (n_pairs, 3), (n_pairs,) r_ij and |r_ij| (Å).
        p0, nb_: the pairs.
        l_max: L.
        norms: (L+1, L+1) from :func:`~slimsoap._kernels.soap.sph_norms`.
        work: :func:`harmonics_workspace` (R = work[4] written, the rest scratch).
    """
    u, cs, sn, q, R = work
    for k in range(nb_):
        r = dist[p0 + k]
        u[0, k] = vectors[p0 + k, 0] / r
        u[1, k] = vectors[p0 + k, 1] / r
        u[2, k] = vectors[p0 + k, 2] / r
    x = u[0, :nb_]
    y = u[1, :nb_]
    z = u[2, :nb_]
    r2 = u[3, :nb_]
    for k in range(nb_):
        r2[k] = x[k] * x[k] + y[k] * y[k] + z[k] * z[k]
        cs[0, k] = 1.0
        sn[0, k] = 0.0
    for m in range(1, l_max + 1):
        c1 = cs[m - 1, :nb_]
        s1 = sn[m - 1, :nb_]
        c = cs[m, :nb_]
        s = sn[m, :nb_]
        for k in range(nb_):
            c[k] = c1[k] * x[k] - s1[k] * y[k]
            s[k] = s1[k] * x[k] + c1[k] * y[k]
    qmm = 1.0  # Q^m_m = (-1)^m (2m-1)!!, the same for every pair
    for m in range(l_max + 1):
        if m > 0:
            qmm = -(2 * m - 1) * qmm
        _store_row(R, norms, cs, sn, m, m, nb_, qmm, q[0, :nb_], False)
        if m + 1 > l_max:
            continue
        q2 = q[0, :nb_]  # Q^m_{l-2}
        q1 = q[1, :nb_]  # Q^m_{l-1}
        for k in range(nb_):
            q2[k] = qmm
            q1[k] = (2 * m + 1) * z[k] * qmm
        _store_row(R, norms, cs, sn, m + 1, m, nb_, 0.0, q1, True)
        for l in range(m + 2, l_max + 1):
            q0 = q[(l - m) % 3, :nb_]  # overwrites Q^m_{l-3}
            for k in range(nb_):
                q0[k] = ((2 * l - 1) * z[k] * q1[k] - (l + m - 1) * r2[k] * q2[k]) / (l - m)
            _store_row(R, norms, cs, sn, l, m, nb_, 0.0, q0, True)
            q2 = q1
            q1 = q0


@nb.njit(cache=True, inline="always")
def _store_row(R, norms, cs, sn, l, m, nb_, qc, qv, per_pair):
    """R[l² + l ± m] of the pairs from Q^m_l: ``qv[k]`` per pair, or ``qc`` for all."""
    base = l * l + l
    nm = norms[l, m]
    if m == 0:
        out = R[base, :nb_]
        for k in range(nb_):
            out[k] = nm * (qv[k] if per_pair else qc)
        return
    plus = R[base + m, :nb_]
    minus = R[base - m, :nb_]
    c = cs[m, :nb_]
    s = sn[m, :nb_]
    for k in range(nb_):
        t = nm * (qv[k] if per_pair else qc)
        plus[k] = t * c[k]
        minus[k] = t * s[k]
