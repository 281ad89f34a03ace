"""SOAP hot loops: real spherical harmonics, the density expansion and the gradients of
the packed contraction (its values: :mod:`slimsoap._kernels.contraction`). The gradient
kernel reads four named bundles of arrays (NamedTuples, which Numba passes as tuples):
:class:`PlanArrays` and :class:`PatternTables` built once per gradient plan,
:class:`FrameArrays` and :class:`FrameOutput` per frame."""

from typing import NamedTuple

import numba as nb
import numpy as np

from slimsoap._kernels.harmonics import PAIR_BLOCK, harmonics_workspace, unit_harmonics


class PlanArrays(NamedTuple):
    """A gradient plan's blocks of every l, packed for :func:`pair_gradients`.

    S' channel slots, N radial functions, F' stored entries, T touched entries.
    """

    #: (L+1,) int64 widths K1_l, K2_l of each block.
    k1: np.ndarray
    k2: np.ndarray
    #: (L+1, S'·N, Kmax) float64 maps per l, zero-padded to the widest block.
    w1: np.ndarray
    w2: np.ndarray
    #: (L+1,) bool: map 1 / map 2 is the identity (its ``w*`` ignored); the block is Y1 Y1^T.
    w1_id: np.ndarray
    w2_id: np.ndarray
    symmetric: np.ndarray
    #: (F',) int64, int64, float64: block row, block column and packing scale of each entry.
    rows: np.ndarray
    cols: np.ndarray
    scale: np.ndarray
    #: (L+2,) int64: entries of l are col0[l]:col0[l+1].
    col0: np.ndarray
    #: (L+1, S'+1) int64 CSR over (l, β) of the entries a neighbour in slot β can change.
    touch_ptr: np.ndarray
    #: (T,) int64 those entries and (T,) float64 their scale.
    touch_idx: np.ndarray
    touch_scale: np.ndarray
    #: (2, T) int64 workspace indices of each touched entry (see :func:`pair_gradients`).
    gather: np.ndarray


class PatternTables(NamedTuple):
    """Where a plan's entries go in the blocks of each output pattern (dense or sparse).

    ``widths[k]`` columns of pattern k; ``local[k, e]`` column of entry e in it (-1: not
    stored); for patterns k < ``n_direct`` (a neighbour's own) the touched entries of
    (l, β) are cut into runs ``segments[seg_ptr[l, β]:seg_ptr[l, β+1]]`` =
    (t0, length, a0, da, b0, db, dest0) along which the gather indices and the destination
    move by fixed steps. In species-block sparse tables a neighbour's pattern β holds
    exactly the entries it changes, in touched order, so those of (l, β) are one run of
    columns from ``first[l, β]``; dense tables have an empty (0, 0) ``first``.
    """

    widths: np.ndarray
    local: np.ndarray
    n_direct: int
    seg_ptr: np.ndarray
    segments: np.ndarray
    first: np.ndarray
    #: the centres' pattern's entries of l as runs centre_runs[centre_ptr[l]:centre_ptr[l+1]]
    #: = (e0, length): one block row, consecutive block columns and consecutive columns of
    #: the pattern, read out by :func:`_read_runs`.
    centre_ptr: np.ndarray
    centre_runs: np.ndarray


class FrameArrays(NamedTuple):
    """One frame's pairs and projected coefficients (P pairs, n centres)."""

    #: (n+1,) int64: pairs of centre i are offsets[i]:offsets[i+1].
    offsets: np.ndarray
    #: (P,) channel slot of each neighbour.
    pair_slot: np.ndarray
    #: (P, 3) r̂_ij and r_ij (Å).
    units: np.ndarray
    vectors: np.ndarray
    #: (P, 2, L+1, N) and (P, 4, (L+1)²) from :func:`expand_density`.
    radial_terms: np.ndarray
    angular_terms: np.ndarray
    #: (n, (L+1)², K1max), (n, (L+1)², K2max) projected coefficients (X_l W)^T.
    y1t: np.ndarray
    y2t: np.ndarray


class FrameOutput(NamedTuple):
    """Where :func:`pair_gradients` writes one frame (Q entries = pairs merged + centres).

    Entry q's (3, widths[k]) block, k = entry_pattern[q], starts at out[entry_base[q]];
    centre i's (3, 3, widths[k]) strain block at strain[strain_base[i]] (k the centre
    entry's pattern). ``out`` must be zero-initialised; ``strain`` is overwritten, and
    skipped when it has size 0.
    """

    #: (P,), (n,) int64 output entry of each pair / centre.
    pair_entry: np.ndarray
    centre_entry: np.ndarray
    #: (P,) int64 the pairs in visiting order: each centre's, those of one entry side by side.
    pair_order: np.ndarray
    #: (Q,) int64.
    entry_base: np.ndarray
    entry_pattern: np.ndarray
    #: (n,) int64.
    strain_base: np.ndarray
    #: flat float arrays.
    out: np.ndarray
    strain: np.ndarray


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


@nb.njit(cache=True, nogil=True)
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
    l_max,
    c,
    radial_terms,
    angular_terms,
    no_grad,
    first,
    stop,
):
    """Density coefficients c[i, slot, n, lm] of centres first:stop, and ∂c/∂r_j per pair.

    Args:
        offsets: (n_centres+1,) pairs of centre i are offsets[i]:offsets[i+1].
        centre_slot: (n_centres,) channel of each centre's own species (-1: none).
        pair_slot: (n_pairs,) channel of each neighbour's species.
        vectors, dist: (n_pairs, 3), (n_pairs,) r_ij in Å.
        radial, dradial: (n_pairs, L+1, N) radial integrals I_nl(r_ij) and dI/dr.
        fc, dfc: (n_pairs,) cutoff function (times any species weight) and derivative.
        self_radial: (N,) I_n0(0) for the centre's own Gaussian.
        center_weight: weight of the centre's own Gaussian.
        l_max: L.
        no_grad: (n_pairs,) bool, pairs whose gradient factors are not wanted (written as
            zeros, not computed), or size 0 for none.
        first, stop: the centres to expand (ranges may run in parallel threads).
    Outputs (written; zero-size gradient arrays skip the gradients):
        c: (n_centres, n_slots, N, (L+1)²).
        radial_terms: (n_pairs, 2, L+1, N), h_nl = g' - l g / r and k_nl = g / r of each
            pair, g = f_c(r) I_nl(r) (1/Å and 1/Å² units of g).
        angular_terms: (n_pairs, 4, (L+1)²), Y_lm(r̂) and its Cartesian gradient ∇Y_lm
            (the solid harmonic's gradient at the unit vector).
        Together: ∂c[i, pair_slot[p], n, lm]/∂r_j = h_nl Y_lm r̂ + k_nl ∇Y_lm, rank two in
        (n) × (lm) per l. ∂c/∂r_i = -Σ_p ∂c/∂r_j.
    """
    n_slots = c.shape[1]
    N = radial.shape[2]
    nlm = (l_max + 1) ** 2
    with_grad = radial_terms.shape[0] > 0
    norms = sph_norms(l_max)
    Q = np.zeros((l_max + 2, l_max + 2))
    cs = np.empty(l_max + 1)
    sn = np.empty(l_max + 1)
    R = np.empty(nlm)
    dR = np.zeros((3, nlm))
    y00 = 0.5 / np.sqrt(np.pi)
    buf = np.zeros((n_slots, nlm, N))  # one centre's c, n innermost (contiguous updates)
    g = np.empty(N)
    for i in range(first, stop):
        buf[:] = 0.0
        if centre_slot[i] >= 0:
            for n in range(N):
                buf[centre_slot[i], 0, n] += center_weight * self_radial[n] * y00
        for p in range(offsets[i], offsets[i + 1]):
            r = dist[p]
            ux = vectors[p, 0] / r
            uy = vectors[p, 1] / r
            uz = vectors[p, 2] / r
            grad = with_grad and not (no_grad.shape[0] > 0 and no_grad[p])
            solid_harmonics(ux, uy, uz, l_max, norms, Q, cs, sn, R, dR, grad)
            f = fc[p]
            _add_pair(buf, pair_slot[p], f, radial, p, R, g, l_max)
            if with_grad and not grad:
                radial_terms[p] = 0.0
                angular_terms[p] = 0.0
            elif with_grad:
                # ∂Y/∂d = (∇R(u) - l R(u) u) / r; the radial part runs along u
                inv_r = 1.0 / r
                for l in range(l_max + 1):
                    for n in range(N):
                        gn = f * radial[p, l, n]
                        dg = dfc[p] * radial[p, l, n] + f * dradial[p, l, n]
                        radial_terms[p, 0, l, n] = dg - gn * l * inv_r
                        radial_terms[p, 1, l, n] = gn * inv_r
                for lm in range(nlm):
                    angular_terms[p, 0, lm] = R[lm]
                    angular_terms[p, 1, lm] = dR[0, lm]
                    angular_terms[p, 2, lm] = dR[1, lm]
                    angular_terms[p, 3, lm] = dR[2, lm]
        for s in range(n_slots):
            for lm in range(nlm):
                for n in range(N):
                    c[i, s, n, lm] = buf[s, lm, n]


@nb.njit(cache=True, inline="always")
def _add_pair(buf, s, f, radial, p, R, g, l_max):
    """buf[s, lm, n] += f I_nl(r_p) Y_lm(r̂_p): pair p's Gaussian in slot s (g: (N,) work)."""
    N = g.shape[0]
    for l in range(l_max + 1):
        for n in range(N):
            g[n] = f * radial[p, l, n]
        for lm in range(l * l, (l + 1) * (l + 1)):
            y = R[lm]
            for n in range(N):
                buf[s, lm, n] += y * g[n]


@nb.njit(cache=True, nogil=True)
def expand_blocks(
    offsets, centre_slot, pair_slot, vectors, dist, radial, fc, self_radial, center_weight,
    l_max, c, first, stop,
):  # fmt: skip
    """:func:`expand_density`'s coefficients (no gradients) in per-l blocks: c[l] is
    X_l of every centre, (n_centres, 2l+1, n_slots·N), C-contiguous (m-major), columns
    species outer and radial inner, so the contraction reads each block as it is.

    Args: as :func:`expand_density`; c: a tuple of the L+1 blocks (written).
    """
    N = radial.shape[2]
    norms = sph_norms(l_max)
    work = harmonics_workspace(l_max)
    R = work[4]  # Y_lm of pairs b0 .. b1 - 1 (a block of at most PAIR_BLOCK)
    b0 = b1 = offsets[first]
    y00 = 0.5 / np.sqrt(np.pi)
    g = np.empty(N)
    for i in range(first, stop):
        # accumulated in place, per l and m one contiguous run of N per pair (the sums of
        # expand_density, in the same order)
        for l in range(l_max + 1):
            c[l][i] = 0.0
        own = centre_slot[i]
        if own >= 0:
            x0 = c[0][i, 0, own * N : (own + 1) * N]
            for n in range(N):
                x0[n] += center_weight * self_radial[n] * y00
        for p in range(offsets[i], offsets[i + 1]):
            if p == b1:  # the harmonics of the next block of pairs
                b0 = p
                b1 = min(p + PAIR_BLOCK, offsets[stop])
                unit_harmonics(vectors, dist, b0, b1 - b0, l_max, norms, work)
            f = fc[p]
            c0 = pair_slot[p] * N
            for l in range(l_max + 1):
                for n in range(N):
                    g[n] = f * radial[p, l, n]
                xl = c[l][i]
                for m in range(2 * l + 1):
                    y = R[l * l + m, p - b0]
                    row = xl[m, c0 : c0 + N]
                    for n in range(N):
                        row[n] += y * g[n]


@nb.njit(cache=True, nogil=True)
def quintic_hermite(r, h, coef, with_derivs):
    """Evaluate a quintic Hermite table at distances r: values and d/dr, (P, L+1, N).

    coef: (n_intervals, 6, L+1, N) polynomial coefficients in t = (r - r_k)/h on interval k;
    distances past the table are clamped to its last interval (the caller replaces them).
    Without ``with_derivs`` the derivatives are a zero-size array.
    """
    P = r.shape[0]
    n_int, _, L1, N = coef.shape
    values = np.empty((P, L1, N))
    derivs = np.empty((P if with_derivs else 0, L1, N))
    # (l, n) as one run of L1·N, so the loops are long enough to vectorise
    cf = coef.reshape((n_int, 6, L1 * N))
    vf = values.reshape((P, L1 * N))
    df = derivs.reshape((derivs.shape[0], L1 * N))
    inv_h = 1.0 / h
    for p in range(P):
        u = r[p] * inv_h
        k = min(int(u), n_int - 1)
        t = u - k
        c0, c1, c2, c3, c4, c5 = cf[k, 0], cf[k, 1], cf[k, 2], cf[k, 3], cf[k, 4], cf[k, 5]
        v = vf[p]
        for j in range(L1 * N):
            v[j] = c0[j] + t * (c1[j] + t * (c2[j] + t * (c3[j] + t * (c4[j] + t * c5[j]))))
        if with_derivs:
            d = df[p]
            for j in range(L1 * N):
                d[j] = (
                    c1[j]
                    + t * (2.0 * c2[j] + t * (3.0 * c3[j] + t * (4.0 * c4[j] + t * 5.0 * c5[j])))
                ) * inv_h
    return values, derivs


@nb.njit(cache=True, nogil=True)
def scatter_rows(values, starts, positions, dst):
    """dst[starts[i] + positions[j]] = values[i, j]: rows (n, w) into a flat array (e.g.
    CSR data), converted to dst's dtype."""
    for i in range(values.shape[0]):
        s = starts[i]
        for j in range(values.shape[1]):
            dst[s + positions[j]] = values[i, j]


@nb.njit(cache=True, nogil=True)
def frame_entries(offsets, neighbours, atom_slot, n_slots, widths):
    """The gradient entries of one frame: every (i, j) of its pairs and (i, i) of every
    centre, each once, sorted by (row, atom) (what np.unique of the keys row·n + atom
    gives), and where they go.

    Args:
        offsets: (n+1,) int64 pairs of each centre; neighbours: (P,) int64 their atoms.
        atom_slot: (n,) int64 channel slot of each atom (sparse layout: a neighbour's entry
            has its slot's pattern, a centre's own pattern ``n_slots``), or (0,) for dense
            rows (pattern 0).
        widths: (n_patterns,) int64 columns of each pattern.

    Returns:
        keys (Q, 2) [row, atom], pair_entry (P,), centre_entry (n,), entry_pattern (Q,),
        entry_base (Q,) (start of each entry's (3, width) block), all int64.
    """
    n = offsets.shape[0] - 1
    n_pairs = neighbours.shape[0]
    keys = np.empty((n_pairs + n, 2), dtype=np.int64)
    pair_entry = np.empty(n_pairs, dtype=np.int64)
    centre_entry = np.empty(n, dtype=np.int64)
    mark = np.full(n, -1, dtype=np.int64)
    entry_of = np.empty(n, dtype=np.int64)
    q = 0
    for i in range(n):
        mark[i] = i
        seen = [i]
        for p in range(offsets[i], offsets[i + 1]):
            j = neighbours[p]
            if mark[j] != i:
                mark[j] = i
                seen.append(j)
        seen.sort()
        for j in seen:
            keys[q, 0] = i
            keys[q, 1] = j
            entry_of[j] = q
            q += 1
        for p in range(offsets[i], offsets[i + 1]):
            pair_entry[p] = entry_of[neighbours[p]]
        centre_entry[i] = entry_of[i]
    entry_pattern = np.zeros(q, dtype=np.int64)
    entry_base = np.zeros(q, dtype=np.int64)
    base = 0
    for e in range(q):
        if atom_slot.shape[0] > 0:
            same = keys[e, 0] == keys[e, 1]
            entry_pattern[e] = n_slots if same else atom_slot[keys[e, 1]]
        entry_base[e] = base
        base += 3 * widths[entry_pattern[e]]
    return keys[:q], pair_entry, centre_entry, entry_pattern, entry_base


@nb.njit(cache=True, nogil=True)
def entry_runs(pair_entry, n_entries):
    """(P,) int64 order of the pairs with each entry's pairs side by side, at its first
    pair's place, first occurrences in order (a stable counting sort by first occurrence)."""
    n = pair_entry.shape[0]
    count = np.zeros(n_entries + 1, dtype=np.int64)
    for p in range(n):
        count[pair_entry[p] + 1] += 1
    for q in range(n_entries):
        count[q + 1] += count[q]
    by_entry = np.empty(n, dtype=np.int64)
    fill = count[:-1].copy()
    for p in range(n):
        q = pair_entry[p]
        by_entry[fill[q]] = p
        fill[q] += 1
    order = np.empty(n, dtype=np.int64)
    t = 0
    for p in range(n):
        q = pair_entry[p]
        if by_entry[count[q]] == p:  # the entry's first pair: emit all of its pairs
            for k in range(count[q], count[q + 1]):
                order[t] = by_entry[k]
                t += 1
    return order


@nb.njit(cache=True, fastmath=True, nogil=True)
def pair_gradients(plan, tables, frame, dest, first, stop):
    """Gradients of every packed block p_l = Y1 Y2^T of centres first:stop, into ``dest``.

    For pair p = (i, j), j in channel slot β, ∂X_l is non-zero only in β's N columns and is
    rank two: ∂X[x, n, m] = h_n r̂_x Y_m + k_n ∂_xY_m (see :func:`expand_density`). So
    A = ∂X_β^T Y2 costs two products of Y and ∇Y with Y2, and dp_l = W1_β^T A + B W2_β
    with B = Y1^T ∂X_β (symmetric blocks: dp = M + M^T). ∂p_i/∂r_j goes to the pair's entry;
    the centre's entry gets -Σ_j ∂p_i/∂r_j (translation invariance), accumulated on the
    (K1, K2) matrices and read out once per centre; periodic images of one atom simply
    accumulate into one entry, and images of the centre itself, whose +∂p_i/∂r_j and share
    of -Σ_j cancel in the centre's entry, are left out of it (they count for the strain
    only). Loops run centre → pair → l, so each pair's output block is
    written while it is in cache. Pairs are visited in ``pair_order``, the periodic
    images of one atom side by side, and GROUP_MIN or more of them are one unit for the
    symmetric identity blocks: ∂X_β = Σ_images (h r̂_x Y + k ∂_xY) (and Σ_images r_s ∂X_β
    for the strain) is summed at the density, and A = ∂X_β^T Y2 is contracted, added to
    the centre's matrix and written once (on 4-atom cells a centre has ~10 images per
    neighbour atom). Centres write disjoint parts
    of ``out`` and ``strain``, so ranges of centres may run in parallel threads (the GIL
    is released).

    Output layout (one flat, zero-initialised array, dense or species-block sparse alike):
    entry q holds (3, widths[k]) values at out[entry_base[q]:], k = entry_pattern[q], and
    stored entry e lands in column local[k, e] of it. Only the entries a neighbour of β can
    change are visited for a pair: t in touch_ptr[l, β]:touch_ptr[l, β+1], entry
    touch_idx[t], factor touch_scale[t]; for patterns k < n_direct (a neighbour's own
    pattern) the touched entries of (l, β) are one run of columns from first[l, β]
    (species-block tables) or runs segments[seg_ptr[l, β]:seg_ptr[l, β+1]] =
    (t0, length, a0, da, b0, db, dest0) (dense rows):
    entry t0 + k reads W[a0 + k·da] + W[b0 + k·db] into column dest0 + k (steps 0 or 1
    give unit-stride loops that vectorise).

    Args:
        plan: :class:`PlanArrays`. Touched entry t of β is W[gather[0, t]] + W[gather[1, t]]
            of a flat workspace: for a symmetric identity block W = [A | 0], A = ∂X_β^T Y2
            (N × K2, read at [r, c] and at [c, r]), so no K1 × K2 matrix is formed per
            pair; for any other
            block W = [M1 | M2] of direction x (each (K1max, K2max), row-major).
        tables: :class:`PatternTables` of the output layout.
        frame: :class:`FrameArrays`; of y1t / y2t the first k1[l] / k2[l] channels are
            valid at l.
        dest: :class:`FrameOutput`; the strain gradient of centre i is
            Σ_j r_ij ⊗ ∂p_i/∂r_j.
        first, stop: the centres to compute.
    """
    (k1, k2, w1, w2, w1_id, w2_id, symmetric, rows, cols, scale, col0,
     touch_ptr, touch_idx, touch_scale, gather) = plan  # fmt: skip
    widths, local, n_direct, seg_ptr, segments, first_col, centre_ptr, centre_runs = tables
    offsets, pair_slot, units, vectors, radial_terms, angular_terms, y1t, y2t = frame
    (pair_entry, centre_entry, pair_order, entry_base, entry_pattern, strain_base, out,
     strain) = dest  # fmt: skip
    with_strain = strain.shape[0] > 0
    L1 = k1.shape[0]
    N = radial_terms.shape[3]
    K1m = y1t.shape[2]
    K2m = y2t.shape[2]
    n_s = 9 if with_strain else 0
    MM = np.zeros((2, 3, K1m, K2m))  # M1 = MM[0], M2 = MM[1]; gather indices read it flat
    M1 = MM[0]
    M2 = MM[1]
    MMf = MM.reshape(-1)
    C1 = np.zeros((L1, 3, K1m, K2m))
    C2 = np.zeros((L1, 3, K1m, K2m))
    S1 = np.zeros((L1, n_s, K1m, K2m))
    S2 = np.zeros((L1, n_s, K1m, K2m))
    Af = np.zeros(N * K2m + 1)  # A of one (x, l), and the zero a missing term reads
    contiguous = first_col.shape[0] > 0
    hw1 = np.empty(K1m)
    kw1 = np.empty(K1m)
    hw2 = np.empty(K2m)
    kw2 = np.empty(K2m)
    u2 = np.empty((L1, 4, K2m))
    u1 = np.empty((4, K1m))
    all_identity = True
    for l in range(L1):
        if not (symmetric[l] and w1_id[l]):
            all_identity = False
    dX = np.zeros((3, N, L1 * L1))  # ∂X_β of a group of images, (x, n, lm)
    dXs = np.zeros((n_s, N, L1 * L1))  # and Σ r_s ∂X_β, (3 s + x, n, lm)
    As = np.zeros(N * K2m)  # A of one strain component
    for i in range(first, stop):
        # only what is summed and read: K1 × K2 of each l, the second matrices for
        # non-symmetric blocks alone (clearing them whole was ~2 MB a centre with strain)
        for l in range(L1):
            K1, K2 = k1[l], k2[l]
            C1[l, :, :K1, :K2] = 0.0
            S1[l, :, :K1, :K2] = 0.0
            if not symmetric[l]:
                C2[l, :, :K1, :K2] = 0.0
                S2[l, :, :K1, :K2] = 0.0
        j0 = offsets[i]
        while j0 < offsets[i + 1]:
            # the pairs pair_order[j0:j1] share one entry: periodic images of one atom
            q = pair_entry[pair_order[j0]]
            j1 = j0 + 1
            while j1 < offsets[i + 1] and pair_entry[pair_order[j1]] == q:
                j1 += 1
            # a periodic image of the centre itself adds +∂p_i/∂r_j to the centre's entry,
            # which also gets -Σ_j ∂p_i/∂r_j: its two terms cancel, so it is left out of
            # both (the exact result; only its strain term remains)
            own = q == centre_entry[i]
            if own and not with_strain:
                j0 = j1
                continue
            # the symmetric identity blocks of several images are linear in their summed
            # ∂X_β (and the strain's in Σ r_s ∂X_β): contracted and written once
            grouped = j1 - j0 >= GROUP_MIN
            # every pair of the entry is in this unit: the identity blocks write its
            # columns once (a group, or a lone pair), any other block once when the pair
            # is alone, so those stores need not add to what is there
            once_identity = grouped or j1 - j0 == 1
            once_other = j1 - j0 == 1
            # one entry, one atom: its slot and the entry's block are those of every image
            beta = pair_slot[pair_order[j0]]
            c0 = beta * N
            kq = entry_pattern[q]
            wq = widths[kq]
            direct = kq < n_direct
            one_run = contiguous and direct
            if grouped:
                _group_density(dX, dXs, pair_order, j0, j1, units, vectors, radial_terms,
                               angular_terms, symmetric, w1_id, N)  # fmt: skip
            for jp in range(j0, j1):
                if grouped and jp > j0 and all_identity:
                    break
                p = pair_order[jp]
                identity = not grouped or jp == j0
                # u2[l, k, b] = Σ_m (Y, ∂xY, ∂yY, ∂zY)[k, m] Y2_l[b, m]
                if not (grouped and all_identity):
                    u2[:] = 0.0
                    for l in range(L1):
                        lm0 = l * l
                        for m in range(2 * l + 1):
                            a0 = angular_terms[p, 0, lm0 + m]
                            a1 = angular_terms[p, 1, lm0 + m]
                            a2 = angular_terms[p, 2, lm0 + m]
                            a3 = angular_terms[p, 3, lm0 + m]
                            for b in range(k2[l]):
                                v = y2t[i, lm0 + m, b]
                                u2[l, 0, b] += a0 * v
                                u2[l, 1, b] += a1 * v
                                u2[l, 2, b] += a2 * v
                                u2[l, 3, b] += a3 * v
                # symmetric identity blocks: x outermost, so the pair's output row x is
                # written in order over l (its columns run l by l)
                for x in range(3):
                    if not identity:
                        break
                    ob = entry_base[q] + x * wq
                    ux = units[p, x]
                    for l in range(L1):
                        if not (symmetric[l] and w1_id[l]):
                            continue
                        K2 = k2[l]
                        if grouped:
                            _contract_group(dX, x, l, y2t, i, N, K2, Af, C1[l, x], c0, not own)
                            for s in range(n_s // 3):
                                _contract_group(dXs, 3 * s + x, l, y2t, i, N, K2, As,
                                                S1[l, 3 * s + x], c0, True)  # fmt: skip
                        # A straight from the rank-two factors; centre and strain sums on
                        # the fly
                        for a in range(N):
                            if grouped:
                                break
                            h = radial_terms[p, 0, l, a] * ux
                            k = radial_terms[p, 1, l, a]
                            # indexed, not sliced: a view per (x, l, a) made the kernel a
                            # fifth slower on 4-atom cells
                            if own:
                                for b in range(K2):
                                    Af[a * K2 + b] = h * u2[l, 0, b] + k * u2[l, 1 + x, b]
                            else:
                                for b in range(K2):
                                    v = h * u2[l, 0, b] + k * u2[l, 1 + x, b]
                                    Af[a * K2 + b] = v
                                    C1[l, x, c0 + a, b] += v
                            if with_strain:
                                for s in range(3):
                                    rs = vectors[p, s]
                                    for b in range(K2):
                                        S1[l, 3 * s + x, c0 + a, b] += rs * Af[a * K2 + b]
                        if own:
                            continue
                        if one_run:
                            _add_run(Af, 0, l, beta, touch_ptr, touch_scale, gather, out,
                                     ob + first_col[l, beta], once_identity)  # fmt: skip
                        else:
                            _scatter(Af, 0, direct, l, beta, touch_ptr, touch_idx, touch_scale,
                                     gather, seg_ptr, segments, local[kq], out, ob)  # fmt: skip
                # every other block: maps that mix channels, or non-symmetric blocks
                for l in range(L1):
                    if symmetric[l] and w1_id[l]:
                        continue
                    M = 2 * l + 1
                    lm0 = l * l
                    K1 = k1[l]
                    K2 = k2[l]
                    # dp = W1_β^T ∂X_β^T Y2 + Y1^T ∂X_β W2_β, with ∂X_β = h r̂_x Y + k ∂_xY rank two:
                    # M1[x] = (r̂_x W1_β^T h) ⊗ (Y·Y2) + (W1_β^T k) ⊗ (∂_xY·Y2), M2 likewise
                    lo1, hi1 = _project_factors(
                        radial_terms, p, l, c0, N, w1, w1_id[l], K1, hw1, kw1
                    )
                    for x in range(3):
                        ux = units[p, x]
                        for a in range(lo1, hi1):
                            f = ux * hw1[a]
                            g = kw1[a]
                            for b in range(K2):
                                M1[x, a, b] = f * u2[l, 0, b] + g * u2[l, 1 + x, b]
                    lo2, hi2 = 0, 0
                    if not symmetric[l]:
                        u1[:] = 0.0
                        for m in range(M):
                            a0 = angular_terms[p, 0, lm0 + m]
                            a1 = angular_terms[p, 1, lm0 + m]
                            a2 = angular_terms[p, 2, lm0 + m]
                            a3 = angular_terms[p, 3, lm0 + m]
                            for a in range(K1):
                                t = y1t[i, lm0 + m, a]
                                u1[0, a] += a0 * t
                                u1[1, a] += a1 * t
                                u1[2, a] += a2 * t
                                u1[3, a] += a3 * t
                        lo2, hi2 = _project_factors(
                            radial_terms, p, l, c0, N, w2, w2_id[l], K2, hw2, kw2
                        )
                        for x in range(3):
                            ux = units[p, x]
                            for a in range(K1):
                                f = ux * u1[0, a]
                                g = u1[1 + x, a]
                                for b in range(lo2, hi2):
                                    M2[x, a, b] = f * hw2[b] + g * kw2[b]
                    for x in range(3):
                        if own:
                            break
                        ob = entry_base[q] + x * wq
                        if one_run:
                            _add_run(MMf, x * K1m * K2m, l, beta, touch_ptr, touch_scale, gather,
                                     out, ob + first_col[l, beta], once_other)  # fmt: skip
                        else:
                            _scatter(MMf, x * K1m * K2m, direct, l, beta, touch_ptr, touch_idx,
                                     touch_scale, gather, seg_ptr, segments, local[kq], out,
                                     ob)  # fmt: skip
                    # the centre's entry and the strain gradient, on the matrices
                    for x in range(3):
                        if not own:
                            for a in range(lo1, hi1):
                                for b in range(K2):
                                    C1[l, x, a, b] += M1[x, a, b]
                        if with_strain:
                            for s in range(3):
                                rs = vectors[p, s]
                                for a in range(lo1, hi1):
                                    for b in range(K2):
                                        S1[l, 3 * s + x, a, b] += rs * M1[x, a, b]
                    if not symmetric[l]:
                        for x in range(3):
                            if not own:
                                for a in range(K1):
                                    for b in range(lo2, hi2):
                                        C2[l, x, a, b] += M2[x, a, b]
                            if with_strain:
                                for s in range(3):
                                    rs = vectors[p, s]
                                    for a in range(K1):
                                        for b in range(lo2, hi2):
                                            S2[l, 3 * s + x, a, b] += rs * M2[x, a, b]
                        if w2_id[l]:  # identity filled only β's columns: clear them
                            M2[:, :K1, lo2:hi2] = 0.0
                    if w1_id[l]:
                        M1[:, lo1:hi1, :K2] = 0.0
            j0 = j1
        q = centre_entry[i]
        kq = entry_pattern[q]
        wq = widths[kq]
        for l in range(L1):
            r0, r1 = centre_ptr[l], centre_ptr[l + 1]
            for x in range(3):
                ob = entry_base[q] + x * wq
                _read_runs(C1[l, x], C2[l, x], symmetric[l], rows, cols, scale, centre_runs,
                           r0, r1, local[kq], out, ob, -1.0)  # fmt: skip
            if with_strain:
                for sx in range(9):
                    ob = strain_base[i] + sx * wq
                    _read_runs(S1[l, sx], S2[l, sx], symmetric[l], rows, cols, scale,
                               centre_runs, r0, r1, local[kq], strain, ob, 0.0)  # fmt: skip


#: Periodic images of one neighbour atom from which its symmetric identity blocks are summed
#: at the density (one contraction and one write for all of them) rather than pair by pair.
GROUP_MIN = 2


@nb.njit(cache=True, fastmath=True, inline="always")
def _group_density(
    dX, dXs, pair_order, j0, j1, units, vectors, radial_terms, angular_terms, symmetric, w1_id, N
):
    """dX[x, n, lm] = Σ_p (h_pn r̂_px Y_p,lm + k_pn ∂_xY_p,lm) over the pairs
    pair_order[j0:j1]: ∂X_β (3, N, (L+1)²) of those images summed, and, when dXs has 9
    rows, dXs[3 s + x] = Σ_p r_ps (...) for the strain, at every l of a symmetric identity
    block (the others are not read)."""
    dX[:] = 0.0
    dXs[:] = 0.0
    strain = dXs.shape[0] > 0
    LL = dX.shape[2]
    d = dX.reshape(-1)  # flat (x, n, lm): indexed, not sliced per (l, x, n)
    ds = dXs.reshape(-1)
    xs = 3 * N * LL  # from strain row x to row 3 + x
    for j in range(j0, j1):
        p = pair_order[j]
        r0, r1, r2 = vectors[p, 0], vectors[p, 1], vectors[p, 2]
        for l in range(radial_terms.shape[2]):
            if not (symmetric[l] and w1_id[l]):
                continue
            lm0 = l * l
            M = 2 * l + 1
            for x in range(3):
                ux = units[p, x]
                for a in range(N):
                    h = radial_terms[p, 0, l, a] * ux
                    k = radial_terms[p, 1, l, a]
                    e = (x * N + a) * LL + lm0
                    if strain:
                        for m in range(M):
                            v = (
                                h * angular_terms[p, 0, lm0 + m]
                                + k * angular_terms[p, 1 + x, lm0 + m]
                            )
                            d[e + m] += v
                            ds[e + m] += r0 * v
                            ds[xs + e + m] += r1 * v
                            ds[2 * xs + e + m] += r2 * v
                    else:
                        for m in range(M):
                            d[e + m] += (
                                h * angular_terms[p, 0, lm0 + m]
                                + k * angular_terms[p, 1 + x, lm0 + m]
                            )


@nb.njit(cache=True, fastmath=True, inline="always")
def _contract_group(dX, x, l, y2t, i, N, K2, Af, C, c0, add):
    """Af[n·K2 + b] = Σ_m dX[x, n, l²+m] Y2_l[b, m] (A of the summed images, as a single
    pair's), added to the matrix C (K1max, K2max) at rows c0 + n when ``add``."""
    lm0 = l * l
    for a in range(N):
        row = Af[a * K2 : (a + 1) * K2]
        row[:] = 0.0
        for m in range(2 * l + 1):
            d = dX[x, a, lm0 + m]
            y = y2t[i, lm0 + m, :K2]
            for b in range(K2):
                row[b] += d * y[b]
        if add:
            c = C[c0 + a, :K2]
            for b in range(K2):
                c[b] += row[b]


@nb.njit(cache=True, fastmath=True, inline="always")
def _read_runs(p1, p2, sym, rows, cols, scale, runs, r0, r1, local, dst, ob, sign):
    """Stored entries of runs r0:r1 of p = P1 + P1^T (symmetric) or P1 + P2 into
    dst[ob + local[e]]: added with ``sign`` ±1, or assigned when ``sign`` is 0. A run is
    one row of P over consecutive columns into consecutive columns of dst, so its loop
    reads P1's row contiguously (and its column at a fixed stride)."""
    for k in range(r0, r1):
        e0 = runs[k, 0]
        n = runs[k, 1]
        r = rows[e0]
        c0 = cols[e0]
        sc = scale[e0 : e0 + n]
        o = dst[ob + local[e0] : ob + local[e0] + n]
        row = p1[r, c0 : c0 + n]
        other = p1[c0 : c0 + n, r] if sym else p2[r, c0 : c0 + n]
        if sign == 0.0:
            for j in range(n):
                o[j] = (row[j] + other[j]) * sc[j]
        else:
            for j in range(n):
                o[j] += sign * ((row[j] + other[j]) * sc[j])


#: Numba's fast-math flags but for "nsz": x + 0.0 is kept, so -0.0 stores as +0.0.
_SIGNED_ZEROS = {"nnan", "ninf", "arcp", "contract", "afn", "reassoc"}


@nb.njit(cache=True, fastmath=_SIGNED_ZEROS)
def _add_run(W, base, l, beta, touch_ptr, touch_scale, gather, out, o0, assign):
    """:func:`_scatter` into a species-block pattern, whose touched entries of (l, β) are
    the consecutive columns from out[o0]: one loop over them (slices, so the indices are
    known non-negative). With ``assign`` (no other term reaches these entries) they are
    stored, not added, as 0.0 + v: the bits of the sum into a zeroed output, without
    reading it (a sixth of the kernel on 256-atom cells)."""
    t0, t1 = touch_ptr[l, beta], touch_ptr[l, beta + 1]
    n = t1 - t0
    dst = out[o0 : o0 + n]
    ts = touch_scale[t0:t1]
    g0 = gather[0, t0:t1]
    g1 = gather[1, t0:t1]
    if assign:
        for t in range(n):
            dst[t] = (W[base + g0[t]] + W[base + g1[t]]) * ts[t] + 0.0
    else:
        for t in range(n):
            dst[t] += (W[base + g0[t]] + W[base + g1[t]]) * ts[t]


#: Runs of at least this many entries are written by vectorised loops (shorter: scalar).
_LONG_RUN = 16


@nb.njit(cache=True, fastmath=True, inline="always")
def _scatter(
    W,
    base,
    direct,
    l,
    beta,
    touch_ptr,
    touch_idx,
    touch_scale,
    gather,
    seg_ptr,
    segments,
    local,
    out,
    ob,
):
    """Add one pair's touched entries of block l (neighbour slot β) to out[ob:]: entry t is
    (W[base + gather[0, t]] + W[base + gather[1, t]]) · touch_scale[t]. A neighbour's own
    pattern (``direct``) is written run by run (unit-stride loops); any other by entry."""
    if not direct:
        for t in range(touch_ptr[l, beta], touch_ptr[l, beta + 1]):
            v = W[base + gather[0, t]] + W[base + gather[1, t]]
            out[ob + local[touch_idx[t]]] += v * touch_scale[t]
        return
    for sg in range(seg_ptr[l, beta], seg_ptr[l, beta + 1]):
        s0 = segments[sg, 0]
        ln = segments[sg, 1]
        a0 = base + segments[sg, 2]
        da = segments[sg, 3]
        b0 = base + segments[sg, 4]
        db = segments[sg, 5]
        o0 = ob + segments[sg, 6]
        if ln < _LONG_RUN:
            for j in range(ln):
                out[o0 + j] += (W[a0 + j * da] + W[b0 + j * db]) * touch_scale[s0 + j]
            continue
        # slices: loop indices that are provably non-negative (no wrap-around test), so
        # the loops vectorise
        dst = out[o0 : o0 + ln]
        ts = touch_scale[s0 : s0 + ln]
        if da == 1 and db == 1:
            wa = W[a0 : a0 + ln]
            wb = W[b0 : b0 + ln]
            for j in range(ln):
                dst[j] += (wa[j] + wb[j]) * ts[j]
        elif da == 1 and db == 0:
            w = W[b0]
            wa = W[a0 : a0 + ln]
            for j in range(ln):
                dst[j] += (wa[j] + w) * ts[j]
        elif da == 0 and db == 1:
            w = W[a0]
            wb = W[b0 : b0 + ln]
            for j in range(ln):
                dst[j] += (w + wb[j]) * ts[j]
        else:
            for j in range(ln):
                dst[j] += (W[a0 + j * da] + W[b0 + j * db]) * ts[j]


@nb.njit(cache=True, fastmath=True, inline="always")
def _project_factors(radial_terms, p, l, c0, N, w, identity, K, hw, kw):
    """hw = W_β^T h, kw = W_β^T k (the radial factors of pair p at l through the map's rows
    of slot β); returns the range of channels they can be non-zero in (β's own for W = I)."""
    if identity:
        for a in range(N):
            hw[c0 + a] = radial_terms[p, 0, l, a]
            kw[c0 + a] = radial_terms[p, 1, l, a]
        return c0, c0 + N
    hw[:K] = 0.0
    kw[:K] = 0.0
    for k in range(N):
        hk = radial_terms[p, 0, l, k]
        kk = radial_terms[p, 1, l, k]
        for a in range(K):
            wv = w[l, c0 + k, a]
            hw[a] += wv * hk
            kw[a] += wv * kk
    return 0, K
