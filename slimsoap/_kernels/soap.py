"""SOAP hot loops: real spherical harmonics and the density expansion with gradients."""

import numba as nb
import numpy as np


@nb.njit(cache=True)
def sph_norms(l_max):
    """Normalisation N_lm = sqrt((2l+1)/4π (l-m)!/(l+m)!) (×√2 for m > 0), (L+1, L+1)."""
    out = np.zeros((l_max + 1, l_max + 1))
    for l in range(l_max + 1):
        for m in range(l + 1):
            ratio = 1.0
            for k in range(l - m + 1, l + m + 1):
                ratio /= k
            out[l, m] = np.sqrt((2 * l + 1) / (4 * np.pi) * ratio) * (
                np.sqrt(2.0) if m > 0 else 1.0
            )
    return out


@nb.njit(cache=True)
def solid_harmonics(x, y, z, l_max, norms, Q, cs, sn, R, dR, with_grad):
    """Real solid harmonics R_lm(x, y, z) = r^l Y_lm and their Cartesian gradients.

    Index lm = l² + l + m. Uses the Cartesian recurrences of sphericart (no trigonometry):
    Q^m_m = (-1)^m (2m-1)!!, Q^m_{m+1} = (2m+1) z Q^m_m,
    Q^m_l = ((2l-1) z Q^m_{l-1} - (l+m-1) r² Q^m_{l-2}) / (l-m),
    and (x + iy)^m = c_m + i s_m. Gradients: ∂_x Q^m_l = x Q^{m+1}_{l-1},
    ∂_y Q^m_l = y Q^{m+1}_{l-1}, ∂_z Q^m_l = (l+m) Q^m_{l-1}.
    Q, cs, sn, R, dR are work/output buffers of shapes (L+2, L+2), (L+1,), (L+1,),
    ((L+1)²,), (3, (L+1)²); Q's entries above the diagonal (m > l) must be zero (they
    are never written: allocate Q with np.zeros once).
    """
    r2 = x * x + y * y + z * z
    cs[0] = 1.0
    sn[0] = 0.0
    for m in range(1, l_max + 1):
        cs[m] = cs[m - 1] * x - sn[m - 1] * y
        sn[m] = sn[m - 1] * x + cs[m - 1] * y
    Q[0, 0] = 1.0
    for m in range(1, l_max + 1):
        Q[m, m] = -(2 * m - 1) * Q[m - 1, m - 1]
    for m in range(l_max):
        Q[m + 1, m] = (2 * m + 1) * z * Q[m, m]
    for m in range(l_max + 1):
        for l in range(m + 2, l_max + 1):
            Q[l, m] = ((2 * l - 1) * z * Q[l - 1, m] - (l + m - 1) * r2 * Q[l - 2, m]) / (l - m)
    for l in range(l_max + 1):
        base = l * l + l
        R[base] = norms[l, 0] * Q[l, 0]
        for m in range(1, l + 1):
            R[base + m] = norms[l, m] * Q[l, m] * cs[m]
            R[base - m] = norms[l, m] * Q[l, m] * sn[m]
        if with_grad:
            if l == 0:
                dR[0, 0] = 0.0
                dR[1, 0] = 0.0
                dR[2, 0] = 0.0
                continue
            q1 = Q[l - 1, 1]
            dR[0, base] = norms[l, 0] * x * q1
            dR[1, base] = norms[l, 0] * y * q1
            dR[2, base] = norms[l, 0] * l * Q[l - 1, 0]
            for m in range(1, l + 1):
                nm = norms[l, m]
                qu = Q[l - 1, m + 1]
                q = Q[l, m]
                qz = (l + m) * Q[l - 1, m]
                dR[0, base + m] = nm * (x * qu * cs[m] + q * m * cs[m - 1])
                dR[1, base + m] = nm * (y * qu * cs[m] - q * m * sn[m - 1])
                dR[2, base + m] = nm * qz * cs[m]
                dR[0, base - m] = nm * (x * qu * sn[m] + q * m * sn[m - 1])
                dR[1, base - m] = nm * (y * qu * sn[m] + q * m * cs[m - 1])
                dR[2, base - m] = nm * qz * sn[m]


@nb.njit(cache=True)
def expand_density(
    offsets,
    centre_slot,
    pair_slot,
    vectors,
    dist,
    radial,
    dradial,
    fc,
    dfc,
    self_radial,
    center_weight,
    n_slots,
    l_max,
    with_grad,
):
    """Density coefficients c[i, slot, n, lm] of every centre, and ∂c/∂r_j per pair.

    Args:
        offsets: (n_centres+1,) pairs of centre i are offsets[i]:offsets[i+1].
        centre_slot: (n_centres,) channel of each centre's own species (-1: none).
        pair_slot: (n_pairs,) channel of each neighbour's species.
        vectors, dist: (n_pairs, 3), (n_pairs,) r_ij in Å.
        radial, dradial: (n_pairs, L+1, N) radial integrals I_nl(r_ij) and dI/dr.
        fc, dfc: (n_pairs,) cutoff function (times any species weight) and derivative.
        self_radial: (N,) I_n0(0) for the centre's own Gaussian.
        center_weight: weight of the centre's own Gaussian.
    Returns:
        c: (n_centres, n_slots, N, (L+1)²).
        dc: (n_pairs, 3, N, (L+1)²), ∂c[i, pair_slot[p]] / ∂r_j for pair p = (i, j)
            (zero-size when not with_grad). ∂c/∂r_i = -Σ_p dc[p].
    """
    n_centres = offsets.shape[0] - 1
    n_pairs = dist.shape[0]
    N = radial.shape[2]
    nlm = (l_max + 1) ** 2
    c = np.empty((n_centres, n_slots, N, nlm))
    dc = np.zeros((n_pairs if with_grad else 0, 3, N, nlm))
    norms = sph_norms(l_max)
    Q = np.zeros((l_max + 2, l_max + 2))
    cs = np.empty(l_max + 1)
    sn = np.empty(l_max + 1)
    R = np.empty(nlm)
    dR = np.zeros((3, nlm))
    y00 = 0.5 / np.sqrt(np.pi)
    buf = np.zeros((n_slots, nlm, N))  # one centre's c, n innermost (contiguous updates)
    g = np.empty(N)
    for i in range(n_centres):
        buf[:] = 0.0
        if centre_slot[i] >= 0:
            for n in range(N):
                buf[centre_slot[i], 0, n] += center_weight * self_radial[n] * y00
        for p in range(offsets[i], offsets[i + 1]):
            r = dist[p]
            ux = vectors[p, 0] / r
            uy = vectors[p, 1] / r
            uz = vectors[p, 2] / r
            solid_harmonics(ux, uy, uz, l_max, norms, Q, cs, sn, R, dR, with_grad)
            s = pair_slot[p]
            f = fc[p]
            for l in range(l_max + 1):
                for n in range(N):
                    g[n] = f * radial[p, l, n]
                for lm in range(l * l, (l + 1) * (l + 1)):
                    y = R[lm]
                    for n in range(N):
                        buf[s, lm, n] += y * g[n]
            if with_grad:
                inv_r = 1.0 / r
                for l in range(l_max + 1):
                    for n in range(N):
                        gn = f * radial[p, l, n]
                        dg = dfc[p] * radial[p, l, n] + f * dradial[p, l, n]
                        for lm in range(l * l, (l + 1) * (l + 1)):
                            # ∂Y/∂d = (∇R(u) - l R(u) u) / r ; radial part along u
                            a = dg * R[lm] - gn * l * R[lm] * inv_r
                            b = gn * inv_r
                            dc[p, 0, n, lm] = a * ux + b * dR[0, lm]
                            dc[p, 1, n, lm] = a * uy + b * dR[1, lm]
                            dc[p, 2, n, lm] = a * uz + b * dR[2, lm]
        for s in range(n_slots):
            for lm in range(nlm):
                for n in range(N):
                    c[i, s, n, lm] = buf[s, lm, n]
    return c, dc


@nb.njit(cache=True)
def quintic_hermite(r, h, coef):
    """Evaluate a quintic Hermite table at distances r: values and d/dr, (P, L+1, N).

    coef: (n_intervals, 6, L+1, N) polynomial coefficients in t = (r - r_k)/h on interval k;
    distances past the table are clamped to its last interval (the caller replaces them).
    """
    P = r.shape[0]
    n_int, _, L1, N = coef.shape
    values = np.empty((P, L1, N))
    derivs = np.empty((P, L1, N))
    inv_h = 1.0 / h
    for p in range(P):
        u = r[p] * inv_h
        k = min(int(u), n_int - 1)
        t = u - k
        for l in range(L1):
            for n in range(N):
                c0 = coef[k, 0, l, n]
                c1 = coef[k, 1, l, n]
                c2 = coef[k, 2, l, n]
                c3 = coef[k, 3, l, n]
                c4 = coef[k, 4, l, n]
                c5 = coef[k, 5, l, n]
                values[p, l, n] = c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * c5))))
                derivs[p, l, n] = (
                    c1 + t * (2.0 * c2 + t * (3.0 * c3 + t * (4.0 * c4 + t * 5.0 * c5)))
                ) * inv_h
    return values, derivs


@nb.njit(cache=True, fastmath=True)
def packed_entries(y1, y2, rows, cols, scale, out, col0):
    """out[i, col0 + e] = scale[e] · Σ_m y1[i, rows[e], m] y2[i, cols[e], m] for every centre.

    y1: (n, K1, M), y2: (n, K2, M) projected coefficients (M = 2l+1); (rows, cols, scale)
    are the stored entries of the block p_l = y1 y2^T.
    """
    n, _, M = y1.shape
    for i in range(n):
        for e in range(rows.shape[0]):
            r = rows[e]
            c = cols[e]
            s = 0.0
            for m in range(M):
                s += y1[i, r, m] * y2[i, c, m]
            out[i, col0 + e] = s * scale[e]


@nb.njit(cache=True)
def block_gradients(
    vectors,
    strain,
    offsets,
    pair_out,
    centre_out,
    pair_species,
    dc,
    l,
    y1,
    y2,
    w1,
    w1_id,
    w2,
    w2_id,
    symmetric,
    rows,
    cols,
    scale,
    touch_ptr,
    touch_idx,
    out,
    col0,
):
    """Add the gradients of one packed block p_l = Y1 Y2^T to ``out``, for every pair.

    For pair p = (i, j), with j of species β, dX_l is non-zero only in β's N columns, so
    dp_l = W1_β^T A + B W2_β, A = dX_β^T Y2, B = Y1^T dX_β (symmetric: dp = M + M^T).
    ∂p_i/∂r_j is added to out[pair_out[p]] and subtracted from out[centre_out[i]]
    (translation invariance); repeated images of one atom simply accumulate.
    strain[i, a, b] (if it has n rows) accumulates Σ_j r_ij[a] ∂p_i/∂r_j[b].

    Args:
        dc: (P, 3, N, (L+1)²) ∂c/∂r_j of the neighbour's species block.
        y1, y2: (n, K1, 2l+1), (n, K2, 2l+1) projected coefficients of every centre.
        w1, w2: (S·N, K) maps (ignored when the *_id flag says identity).
        rows, cols, scale: stored entries of the block and their factors.
        touch_ptr, touch_idx: entries that a neighbour of species β can change are
            touch_idx[touch_ptr[β]:touch_ptr[β+1]] (all of them unless a map is the identity).
        out: (n_entries_out, 3, n_features), zero-initialised; col0: first column of block.
    """
    n = offsets.shape[0] - 1
    N = dc.shape[2]
    M = 2 * l + 1
    K1 = y1.shape[1]
    K2 = y2.shape[1]
    y2t = np.ascontiguousarray(y2.transpose(0, 2, 1))
    E = rows.shape[0]
    lm0 = l * l
    A = np.empty((3, N, K2))
    B = np.empty((3, K1, N))
    M1 = np.zeros((3, K1, K2))
    M2 = np.zeros((3, K1, K2))
    acc = np.zeros((3, E))
    with_strain = strain.shape[0] == n
    acc_s = np.zeros((3, 3, E))
    for i in range(n):
        acc[:] = 0.0
        acc_s[:] = 0.0
        for p in range(offsets[i], offsets[i + 1]):
            c0 = pair_species[p] * N
            for x in range(3):
                for a in range(N):
                    for b in range(K2):
                        A[x, a, b] = 0.0
                    for m in range(M):
                        d = dc[p, x, a, lm0 + m]
                        for b in range(K2):
                            A[x, a, b] += d * y2t[i, m, b]
            if not w1_id:
                M1[:] = 0.0
            for x in range(3):
                if w1_id:
                    for a in range(N):
                        for b in range(K2):
                            M1[x, c0 + a, b] = A[x, a, b]
                else:
                    for k in range(N):
                        for a in range(K1):
                            w = w1[c0 + k, a]
                            if w != 0.0:
                                for b in range(K2):
                                    M1[x, a, b] += w * A[x, k, b]
            if not symmetric:
                for x in range(3):
                    for a in range(K1):
                        for k in range(N):
                            s = 0.0
                            for m in range(M):
                                s += y1[i, a, m] * dc[p, x, k, lm0 + m]
                            B[x, a, k] = s
                if not w2_id:
                    M2[:] = 0.0
                for x in range(3):
                    if w2_id:
                        for a in range(K1):
                            for k in range(N):
                                M2[x, a, c0 + k] = B[x, a, k]
                    else:
                        for a in range(K1):
                            for k in range(N):
                                bv = B[x, a, k]
                                if bv != 0.0:
                                    for b in range(K2):
                                        M2[x, a, b] += bv * w2[c0 + k, b]
            q = pair_out[p]
            beta = pair_species[p]
            for x in range(3):
                for t in range(touch_ptr[beta], touch_ptr[beta + 1]):
                    e = touch_idx[t]
                    r = rows[e]
                    c = cols[e]
                    if symmetric:
                        v = M1[x, r, c] + M1[x, c, r]
                    else:
                        v = M1[x, r, c] + M2[x, r, c]
                    if v != 0.0:
                        v *= scale[e]
                        out[q, x, col0 + e] += v
                        acc[x, e] -= v
                        if with_strain:
                            for a in range(3):
                                acc_s[a, x, e] += vectors[p, a] * v
            # identity maps filled only the neighbour's block: clear it for the next pair
            for x in range(3):
                if w1_id:
                    for a in range(N):
                        for b in range(K2):
                            M1[x, c0 + a, b] = 0.0
                if w2_id and not symmetric:
                    for a in range(K1):
                        for k in range(N):
                            M2[x, a, c0 + k] = 0.0
        q = centre_out[i]
        for x in range(3):
            for e in range(E):
                out[q, x, col0 + e] += acc[x, e]
        if with_strain:
            for a in range(3):
                for x in range(3):
                    for e in range(E):
                        strain[i, a, x, col0 + e] = acc_s[a, x, e]
