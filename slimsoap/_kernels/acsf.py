"""Behler symmetry functions (G1/G2 radial, G4/G5 angular) and their position gradients.

One kernel serves every compression: the species of the neighbour (2-body) or of the
unordered neighbour pair (3-body) selects a column of a linear map, given here in
compressed-column form (``ptr``, ``row``, ``weight``), and each term is added with that
weight to the output rows it maps to.
"""

import numba as nb
import numpy as np

#: Above this ζ the direct angular term 2^(1-ζ) (1 + λcosθ)^ζ leaves the float64 range
#: (2^(1-ζ) is subnormal past ζ = 1023, (1 + λcosθ)^(ζ-1) ≤ 2^(ζ-1) overflows past ζ = 1025),
#: so it is evaluated as 2 (b/2)^ζ with b/2 = (1 + λcosθ)/2 in [0, 1], which cannot overflow
#: and underflows only where the true value is below 1e-308. At or below it the direct
#: form is kept: exact powers of two, the same numbers as before.
ZETA_DIRECT_MAX = 1000.0


@nb.njit(cache=True, inline="always")
def _power(base, exponent, exponent_int):
    """base**exponent, by repeated squaring when ``exponent_int`` >= 0 (the integer value)."""
    if exponent_int < 0:
        return base**exponent
    out = 1.0
    b = base
    n = exponent_int
    while n > 0:
        if n & 1:
            out *= b
        b *= b
        n >>= 1
    return out


@nb.njit(cache=True)
def gradient_slots(offsets, neighbours):
    """Sparse gradient layout: one slot per distinct atom around each centre, centre first.

    Args:
        offsets: (n_centres + 1,) CSR offsets of the neighbour pairs by centre.
        neighbours: (n_pairs,) global atom index of each neighbour (periodic images share it).

    Returns:
        grad_offsets: (n_centres + 1,) slots of centre i are grad_offsets[i]:grad_offsets[i+1];
            the first one is the centre itself.
        slot_atom: (n_slots,) global atom index of every slot.
        pair_slot: (n_pairs,) slot that neighbour pair p contributes to.
    """
    n = offsets.shape[0] - 1
    mark = np.full(n, -1, np.int64)
    grad_offsets = np.zeros(n + 1, np.int64)
    for i in range(n):
        mark[i] = 0
        c = 1
        for p in range(offsets[i], offsets[i + 1]):
            j = neighbours[p]
            if mark[j] < 0:
                mark[j] = c
                c += 1
        grad_offsets[i + 1] = grad_offsets[i] + c
        mark[i] = -1
        for p in range(offsets[i], offsets[i + 1]):
            mark[neighbours[p]] = -1
    slot_atom = np.empty(grad_offsets[n], np.int64)
    pair_slot = np.empty(neighbours.shape[0], np.int64)
    for i in range(n):
        base = grad_offsets[i]
        mark[i] = 0
        slot_atom[base] = i
        c = 1
        for p in range(offsets[i], offsets[i + 1]):
            j = neighbours[p]
            if mark[j] < 0:
                mark[j] = c
                slot_atom[base + c] = j
                c += 1
            pair_slot[p] = base + mark[j]
        mark[i] = -1
        for p in range(offsets[i], offsets[i + 1]):
            mark[neighbours[p]] = -1
    return grad_offsets, slot_atom, pair_slot


@nb.njit(cache=True, nogil=True)
def acsf_kernel(
    offsets,
    vectors,
    distances,
    nb_species,
    r_cut,
    rad_eta,
    rad_rs,
    ang_eta_idx,
    ang_zl_idx,
    ang_g4,
    eta_uniq,
    zeta_uniq,
    zeta_int,
    lam_uniq,
    pair_of,
    m2_ptr,
    m2_row,
    m2_w,
    m3_ptr,
    m3_row,
    m3_w,
    ang_col0,
    values,
    want_grad,
    pair_slot,
    centre_slot,
    grads,
    strain,
    first,
    stop,
):
    """Accumulate symmetry functions (and gradients) of centres first:stop into the outputs.

    Centres write disjoint rows and gradient slots, so ranges may run in parallel threads.

    Args:
        offsets, vectors, distances: neighbour pairs by centre (CSR), r_j - r_i in Å, |r_ij|.
        nb_species: (n_pairs,) species index of each neighbour.
        r_cut: cutoff (Å) of f_c(r) = ½(cos(πr/r_cut) + 1).
        rad_eta, rad_rs: (n_rad,) radial functions exp(-η(r - R_s)²) f_c(r); η = 0, R_s = 0 is G1.
        ang_eta_idx, ang_zl_idx: (n_ang,) index of each angular function's η in ``eta_uniq``
            and of its (ζ, λ) in ``zeta_uniq``/``lam_uniq``; ``zeta_int`` is ζ - 1 as an
            integer where ζ is one (-1 otherwise).
        ang_g4: (n_ang,) True for G4 (exp(-η r_jk²) f_c(r_jk) factor), False for G5.
        pair_of: (S, S) index of the unordered species pair {β, γ}.
        m2_ptr, m2_row, m2_w: map over neighbour species (CSC): species β adds weight
            m2_w[m] to output radial block m2_row[m], for m in m2_ptr[β]:m2_ptr[β+1].
        m3_ptr, m3_row, m3_w: the same over unordered species pairs for the angular blocks.
        ang_col0: first column of the angular blocks.
        values: (n_centres, n_features) float64 output, zero on entry.
        want_grad: also fill ``grads``.
        pair_slot: (n_pairs,) gradient row of each neighbour pair; centre_slot: (n_centres,)
            gradient row of each centre (any valid indices, e.g. zeros, without gradients).
        grads: (n_slots, 3, n_features) float64 output, zero on entry (untouched without
            gradients).
        strain: (n_centres, 3, 3, n_features) output, zero on entry: Σ_j r_ij ⊗ ∂x_i/∂r_j
            (filled only with gradients and when it has n_centres rows).
    """
    n_centres = offsets.shape[0] - 1
    with_strain = want_grad and strain.shape[0] == n_centres
    n_rad = rad_eta.shape[0]
    n_ang = ang_eta_idx.shape[0]
    n_eta = eta_uniq.shape[0]
    n_zl = zeta_uniq.shape[0]
    max_nb = 0
    for i in range(n_centres):
        max_nb = max(max_nb, offsets[i + 1] - offsets[i])
    fc = np.empty(max_nb)
    dfc = np.empty(max_nb)
    rad = np.empty((max_nb, n_eta))
    drad = np.empty((max_nb, n_eta))
    rc_f = np.empty(n_eta)
    rc_d = np.empty(n_eta)
    ang = np.empty(n_zl)
    dang = np.empty(n_zl)
    pref = np.empty(n_zl)
    for z in range(n_zl):
        pref[z] = 2.0 ** (1.0 - zeta_uniq[z])
    dcu = np.empty(3)
    dcv = np.empty(3)
    du = np.empty(3)
    dv = np.empty(3)
    k_pi = np.pi / r_cut
    any_g5 = False
    for t in range(n_ang):
        any_g5 = any_g5 or not ang_g4[t]

    for i in range(first, stop):
        s = offsets[i]
        n = offsets[i + 1] - s
        ci = centre_slot[i]
        # --- per-neighbour cutoff and Gaussian legs; radial (2-body) functions
        for a in range(n):
            p = s + a
            r = distances[p]
            fc[a] = 0.5 * (np.cos(k_pi * r) + 1.0)
            dfc[a] = -0.5 * k_pi * np.sin(k_pi * r)
            for e in range(n_eta):
                ex = np.exp(-eta_uniq[e] * r * r)
                rad[a, e] = ex * fc[a]
                drad[a, e] = ex * (dfc[a] - 2.0 * eta_uniq[e] * r * fc[a])
            sp = nb_species[p]
            for q in range(n_rad):
                d = r - rad_rs[q]
                ex = np.exp(-rad_eta[q] * d * d)
                g = ex * fc[a]
                dg = ex * (dfc[a] - 2.0 * rad_eta[q] * d * fc[a]) / r
                for m in range(m2_ptr[sp], m2_ptr[sp + 1]):
                    col = m2_row[m] * n_rad + q
                    w = m2_w[m]
                    values[i, col] += w * g
                    if want_grad:
                        sj = pair_slot[p]
                        for c in range(3):
                            gv = w * dg * vectors[p, c]
                            grads[sj, c, col] += gv
                            grads[ci, c, col] -= gv
                            if with_strain:
                                for d in range(3):
                                    strain[i, d, c, col] += vectors[p, d] * gv
        if n_ang == 0:
            continue
        # --- angular (3-body) functions over unordered neighbour pairs
        for a in range(n):
            pa = s + a
            ra = distances[pa]
            ux, uy, uz = vectors[pa, 0], vectors[pa, 1], vectors[pa, 2]
            for b in range(a + 1, n):
                pb = s + b
                rb = distances[pb]
                vx, vy, vz = vectors[pb, 0], vectors[pb, 1], vectors[pb, 2]
                wx, wy, wz = vx - ux, vy - uy, vz - uz
                rc = np.sqrt(wx * wx + wy * wy + wz * wz)
                inv_ab = 1.0 / (ra * rb)
                cos = (ux * vx + uy * vy + uz * vz) * inv_ab
                g4_ok = rc < r_cut
                if not (g4_ok or any_g5):
                    continue
                if g4_ok:
                    fcc = 0.5 * (np.cos(k_pi * rc) + 1.0)
                    dfcc = -0.5 * k_pi * np.sin(k_pi * rc)
                    for e in range(n_eta):
                        ex = np.exp(-eta_uniq[e] * rc * rc)
                        rc_f[e] = ex * fcc
                        rc_d[e] = ex * (dfcc - 2.0 * eta_uniq[e] * rc * fcc)
                for z in range(n_zl):
                    base = 1.0 + lam_uniq[z] * cos
                    if base < 0.0:
                        base = 0.0
                    if zeta_uniq[z] > ZETA_DIRECT_MAX:
                        half = 0.5 * base
                        pw = _power(half, zeta_uniq[z] - 1.0, zeta_int[z])
                        ang[z] = 2.0 * pw * half
                        dang[z] = zeta_uniq[z] * lam_uniq[z] * pw
                    else:
                        pw = _power(base, zeta_uniq[z] - 1.0, zeta_int[z])
                        ang[z] = pref[z] * pw * base
                        dang[z] = pref[z] * zeta_uniq[z] * lam_uniq[z] * pw
                if want_grad:
                    ca = cos / (ra * ra)
                    cb = cos / (rb * rb)
                    dcu[0] = vx * inv_ab - ca * ux
                    dcu[1] = vy * inv_ab - ca * uy
                    dcu[2] = vz * inv_ab - ca * uz
                    dcv[0] = ux * inv_ab - cb * vx
                    dcv[1] = uy * inv_ab - cb * vy
                    dcv[2] = uz * inv_ab - cb * vz
                sa = pair_slot[pa]
                sb = pair_slot[pb]
                pair = pair_of[nb_species[pa], nb_species[pb]]
                for t in range(n_ang):
                    e = ang_eta_idx[t]
                    z = ang_zl_idx[t]
                    if ang_g4[t]:
                        if not g4_ok:
                            continue
                        f3, d3 = rc_f[e], rc_d[e]
                    else:
                        f3, d3 = 1.0, 0.0
                    rab = rad[a, e] * rad[b, e]
                    g = ang[z] * rab * f3
                    if want_grad:
                        t1 = dang[z] * rab * f3
                        ta = ang[z] * drad[a, e] * rad[b, e] * f3 / ra
                        tb = ang[z] * rad[a, e] * drad[b, e] * f3 / rb
                        tc = ang[z] * rab * d3 / rc if g4_ok else 0.0
                        du[0] = t1 * dcu[0] + ta * ux - tc * wx
                        du[1] = t1 * dcu[1] + ta * uy - tc * wy
                        du[2] = t1 * dcu[2] + ta * uz - tc * wz
                        dv[0] = t1 * dcv[0] + tb * vx + tc * wx
                        dv[1] = t1 * dcv[1] + tb * vy + tc * wy
                        dv[2] = t1 * dcv[2] + tb * vz + tc * wz
                    for m in range(m3_ptr[pair], m3_ptr[pair + 1]):
                        col = ang_col0 + m3_row[m] * n_ang + t
                        w = m3_w[m]
                        values[i, col] += w * g
                        if want_grad:
                            for c in range(3):
                                grads[sa, c, col] += w * du[c]
                                grads[sb, c, col] += w * dv[c]
                                grads[ci, c, col] -= w * (du[c] + dv[c])
                                if with_strain:
                                    for d in range(3):
                                        strain[i, d, c, col] += w * (
                                            vectors[pa, d] * du[c] + vectors[pb, d] * dv[c]
                                        )
