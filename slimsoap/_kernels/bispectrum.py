"""Numba kernels of the bispectrum: the sparse real-CG contraction of three mapped factors.

Shared arguments (built by ``slimsoap.bispectrum.contraction``):
    A1, A2, A3: (n_centres, (L+1)², K_k) mapped coefficients (X_l W_k)[m, a] of each centre.
    cg_off: (n_blocks+1,) non-zero coupling entries of block t are cg_off[t]:cg_off[t+1].
    cg_lm: (nnz, 3) int64 (lm1, lm2, lm3) of each entry (lm = l² + l + m); cg_val: (nnz,).
    blk_lm3, blk_w3: (n_blocks,) first lm of l3 and 2 l3 + 1.
    grp_block, grp_a, grp_b: (n_groups,) block and channels (a, b) of each group of entries;
    grp_off: (n_groups+1,) entries of group g are grp_off[g]:grp_off[g+1] (= their columns).
    ent_c: (n_features,) channel c of each entry.
Per group: T[m3] = Σ_cg G A1[lm1, a] A2[lm2, b] (nnz work), then each entry is
B = Σ_m3 T[m3] A3[lm3, c] (2 l3 + 1 work).
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(nogil=True, cache=True)
def map_factor(c, w_ptr, w_row, w_val, out, first, stop):
    """out[i, lm, a] (n, (L+1)², K) = Σ_r X_l[lm, r] W_l[r, a] for centres first:stop, with
    X_l[lm, αN + n] = c[i, α, n, lm] (c: (n, S', N, (L+1)²)).

    W_l is given by columns: the non-zeros of column a are rows w_row and values w_val at
    w_ptr[l, a]:w_ptr[l, a+1] (ascending rows), summed in that order, so that dropping
    rows whose X is zero (absent species) changes no bit of the result.
    """
    N = c.shape[2]
    L1 = w_ptr.shape[0]
    K = w_ptr.shape[1] - 1
    for i in range(first, stop):
        for l in range(L1):
            for a in range(K):
                for lm in range(l * l, (l + 1) * (l + 1)):
                    out[i, lm, a] = 0.0
                for q in range(w_ptr[l, a], w_ptr[l, a + 1]):
                    alpha = w_row[q] // N
                    n = w_row[q] - alpha * N
                    w = w_val[q]
                    for lm in range(l * l, (l + 1) * (l + 1)):
                        out[i, lm, a] += c[i, alpha, n, lm] * w


@nb.njit(nogil=True, cache=True)
def _group_products(i, A1, A2, cg_off, cg_lm, cg_val, blk_lm3, grp_block, grp_a, grp_b, T):
    """T[g, m3] = Σ G[m1, m2, m3] A1[i, lm1, a_g] A2[i, lm2, b_g] for every group g."""
    for g in range(len(grp_block)):
        t = grp_block[g]
        base = blk_lm3[t]
        a = grp_a[g]
        b = grp_b[g]
        T[g, :] = 0.0
        for q in range(cg_off[t], cg_off[t + 1]):
            T[g, cg_lm[q, 2] - base] += cg_val[q] * A1[i, cg_lm[q, 0], a] * A2[i, cg_lm[q, 1], b]


@nb.njit(nogil=True, cache=True)
def bispectrum_values(
    A1, A2, A3, cg_off, cg_lm, cg_val, blk_lm3, blk_w3, grp_block, grp_a, grp_b, grp_off,
    ent_c, out, first, stop,
):  # fmt: skip
    """out[i, e] (n_centres, n_features) = the bispectrum of centres first:stop."""
    T = np.empty((len(grp_block), A3.shape[1]))
    for i in range(first, stop):
        _group_products(i, A1, A2, cg_off, cg_lm, cg_val, blk_lm3, grp_block, grp_a, grp_b, T)
        for g in range(len(grp_block)):
            t = grp_block[g]
            base = blk_lm3[t]
            for e in range(grp_off[g], grp_off[g + 1]):
                c = ent_c[e]
                s = 0.0
                for m in range(blk_w3[t]):
                    s += T[g, m] * A3[i, base + m, c]
                out[i, e] = s


@nb.njit(nogil=True, cache=True)
def _factor_gradient(p, s, W, radial_terms, angular_terms, u, dA):
    """dA[x, lm, a] = ∂(X W)[lm, a]/∂r_j of pair p (neighbour species s):
    Σ_n (h_nl Y_lm u_x + k_nl ∂_x Y_lm) W_l[s N + n, a]."""
    L1 = radial_terms.shape[2]
    N = radial_terms.shape[3]
    K = W.shape[2]
    for l in range(L1):
        for a in range(K):
            hw = 0.0
            kw = 0.0
            for n in range(N):
                w = W[l, s * N + n, a]
                hw += radial_terms[p, 0, l, n] * w
                kw += radial_terms[p, 1, l, n] * w
            for lm in range(l * l, (l + 1) * (l + 1)):
                y = angular_terms[p, 0, lm] * hw
                for x in range(3):
                    dA[x, lm, a] = y * u[x] + kw * angular_terms[p, 1 + x, lm]


@nb.njit(nogil=True, cache=True)
def bispectrum_gradients(
    A1, A2, A3, W1, W2, W3, touch1, touch2, touch3, same12, same23, cg_off, cg_lm, cg_val,
    blk_lm3, blk_w3, grp_block, grp_a, grp_b, grp_off, ent_c, centres, offsets, pair_species,
    vectors, distances, radial_terms, angular_terms, pair_row, centre_row, row_base,
    row_pattern, pattern_local, pattern_width, values, grad, strain, first, stop,
):  # fmt: skip
    """Values, position gradients and strain gradients of local centres first:stop.

    Local centre k (row k of A_k, ``values`` and ``strain``) is centre ``centres[k]`` of the
    pair arrays. Extra args: W_k (L+1, S'·N, K_k) maps; touch_k (S', K_k) uint8, 1 where a
    neighbour of species slot s can change channel k of factor k (terms with none skipped:
    work follows the species, an S-fold saving for element maps); same12/same23 whether
    factors share a map; offsets (n_centres+1,), pair_species (P,) slots, vectors (P, 3),
    distances (P,), and the expansion's radial_terms (P, 2, L+1, N), angular_terms
    (P, 4, (L+1)²); pair_row (P,) and centre_row (n_centres,) gradient rows of
    (centre, neighbour) and (centre, centre). Row r is the (3, w) block at ``row_base[r]``
    of flat ``grad``, w = pattern_width[q], q = row_pattern[r]; entry e is at column
    pattern_local[q, e] of it (-1 only for entries the row's neighbour cannot change).
    Outputs: values (n_local, F); grad and strain (n_local, 3, 3, F) accumulated (zero them
    first): ∂B/∂r_j per pair, -Σ of them on the centre's row, and Σ_p r_ij[a] ∂B/∂r_j[b] in
    strain[k, a, b] (skipped when strain has no rows).
    """
    n_groups = len(grp_block)
    nlm = A1.shape[1]
    with_strain = strain.shape[0] > 0
    T = np.empty((n_groups, nlm))
    dT = np.empty((3, nlm))
    u = np.empty(3)
    dB = np.empty(3)
    dA1 = np.empty((3, nlm, A1.shape[2]))
    dA2 = np.empty((3, nlm, A2.shape[2]))
    dA3 = np.empty((3, nlm, A3.shape[2]))
    if same12:
        dA2 = dA1
    if same23:
        dA3 = dA2
    for k in range(first, stop):
        i = centres[k]
        _group_products(k, A1, A2, cg_off, cg_lm, cg_val, blk_lm3, grp_block, grp_a, grp_b, T)
        for g in range(n_groups):
            t = grp_block[g]
            base = blk_lm3[t]
            for e in range(grp_off[g], grp_off[g + 1]):
                c = ent_c[e]
                acc = 0.0
                for m in range(blk_w3[t]):
                    acc += T[g, m] * A3[k, base + m, c]
                values[k, e] = acc
        ci = centre_row[i]
        c_base = row_base[ci]
        c_pat = row_pattern[ci]
        c_w = pattern_width[c_pat]
        for p in range(offsets[i], offsets[i + 1]):
            s = pair_species[p]
            for x in range(3):
                u[x] = vectors[p, x] / distances[p]
            _factor_gradient(p, s, W1, radial_terms, angular_terms, u, dA1)
            if not same12:
                _factor_gradient(p, s, W2, radial_terms, angular_terms, u, dA2)
            if not same23:
                _factor_gradient(p, s, W3, radial_terms, angular_terms, u, dA3)
            row = pair_row[p]
            r_base = row_base[row]
            r_pat = row_pattern[row]
            r_w = pattern_width[r_pat]
            for g in range(n_groups):
                t = grp_block[g]
                base = blk_lm3[t]
                w3 = blk_w3[t]
                a = grp_a[g]
                b = grp_b[g]
                t1 = touch1[s, a] != 0
                t2 = touch2[s, b] != 0
                if t1 or t2:
                    dT[:, :w3] = 0.0
                    for q in range(cg_off[t], cg_off[t + 1]):
                        lm1 = cg_lm[q, 0]
                        lm2 = cg_lm[q, 1]
                        m3 = cg_lm[q, 2] - base
                        v1 = cg_val[q] * A1[k, lm1, a] if t2 else 0.0
                        v2 = cg_val[q] * A2[k, lm2, b] if t1 else 0.0
                        for x in range(3):
                            dT[x, m3] += dA1[x, lm1, a] * v2 + v1 * dA2[x, lm2, b]
                for e in range(grp_off[g], grp_off[g + 1]):
                    c = ent_c[e]
                    t3 = touch3[s, c] != 0
                    if not (t1 or t2 or t3):
                        continue  # no channel of this entry sees the neighbour's species
                    for x in range(3):
                        acc = 0.0
                        if t1 or t2:
                            for m in range(w3):
                                acc += dT[x, m] * A3[k, base + m, c]
                        if t3:
                            for m in range(w3):
                                acc += T[g, m] * dA3[x, base + m, c]
                        dB[x] = acc
                    r_col = r_base + pattern_local[r_pat, e]
                    c_col = c_base + pattern_local[c_pat, e]
                    for x in range(3):
                        grad[r_col + x * r_w] += dB[x]
                        grad[c_col + x * c_w] -= dB[x]
                        if with_strain:
                            for y in range(3):
                                strain[k, y, x, e] += vectors[p, y] * dB[x]
