"""The values contraction: every l of p_l = (X_l W1_l)^T (X_l W2_l), packed, centre by centre.

Per centre and l the projections Y = X_l W (2l+1 × K, m-major) are formed in a small
workspace (or read in place for the identity) and the stored entries of p_l are computed as
*panels*: one, two or four rows of p_l over a run of consecutive columns, accumulated over m
four at a time with the rows' coefficients held in registers, so the innermost loop runs
along contiguous columns and vectorises (four rows: four multiply-adds per column loaded).
A panel's run starts at a multiple of four columns (the few extra entries before it are
computed and dropped), so the loops have no scalar remainder when K is a multiple of four.
Each centre's output row is written once, l after l. The sums over m run in a fixed order
per entry, whatever the panel, so the numbers do not depend on the panels, the ranges of
centres or the threads (they differ from a dot product per entry in the last bits).
"""

from typing import NamedTuple

import numba as nb
import numpy as np

#: Columns of a panel row of :class:`ValueArrays`.
PANEL_FIELDS = 14
#: Panels start at a multiple of this many columns (the vector width of the loops).
_ALIGN = 4


class ValueArrays(NamedTuple):
    """A channel map's L+1 blocks packed for :func:`packed_values` (C input channels).

    Panel k of l (``panel_ptr[l] <= k < panel_ptr[l+1]``) is ``rows`` (1, 2 or 4) rows
    ``row`` .. ``row + rows - 1`` of the block over columns ``col`` .. ``col + length``,
    read from the row operand's channels and the column operand's channels (the row
    operand is Y1 unless ``transposed``): ``panels[k] = (row, col, length, step, rows,
    entry_0, offset_0, .., entry_3, offset_3, interleaved)``. Row ``row + i`` stores its
    values from column ``col + offset_i`` on, value j at packed column
    ``entry_i + (j - offset_i)·step``; ``interleaved`` (1 or 0): four rows whose entries are
    consecutive and offsets equal (blocks stored column-major, such as ν,μ=1,1's
    (X W)^T X), stored four consecutive packed columns at a time.
    """

    #: (L+1,) int64 widths K1_l, K2_l.
    k1: np.ndarray
    k2: np.ndarray
    #: (L+1, C, K1max), (L+1, C, K2max) float64 maps, zero-padded (ignored for the identity).
    w1: np.ndarray
    w2: np.ndarray
    #: (L+1, C) int64: row c of a map is non-zero at most in its columns lo[l, c]:hi[l, c].
    lo1: np.ndarray
    hi1: np.ndarray
    lo2: np.ndarray
    hi2: np.ndarray
    #: (L+1,) bool: map 1 / map 2 is the identity; the block is Y1^T Y1; the panels' rows
    #: are channels of Y2 and their columns channels of Y1.
    w1_id: np.ndarray
    w2_id: np.ndarray
    symmetric: np.ndarray
    transposed: np.ndarray
    #: (L+2,) int64 and (n_panels, PANEL_FIELDS) int64, see above.
    panel_ptr: np.ndarray
    panels: np.ndarray
    #: (F,) float64 packing scale of every packed column.
    scale: np.ndarray
    #: (2, L+2) int64 and (n_runs, 3) int64, (n_runs,) float64: map 1 (row 0) and map 2
    #: (row 1) of l as diagonal runs ``runs[run_ptr[i, l]:run_ptr[i, l+1]]`` = (source
    #: channel, target column, length) of weight ``run_weight``, y[m, t + j] += w·x[m, s + j]
    #: (a species map of identity radial blocks, such as μ=1's sum); none: the rows of
    #: ``w1``/``w2`` are used.
    run_ptr: np.ndarray
    runs: np.ndarray
    run_weight: np.ndarray


@nb.njit(cache=True, fastmath=True, nogil=True)
def packed_values(x, plan, out, first, stop):
    """out[i, e] = scale[e] · Σ_m Y1[m, a] Y2[m, b] for every stored entry e = (l, a, b) of
    the centres first:stop, Y1 = X_l W1_l, Y2 = X_l W2_l.

    Args:
        x: tuple of the L+1 blocks X_l (n, 2l+1, C), C-contiguous (m-major: a row of X_l is
            one m over the C = S·N channels, species outer, radial inner).
        plan: :class:`ValueArrays` of the maps.
        out: (n, F) packed descriptors (float64 or float32), written.
        first, stop: the centres to compute (ranges may run in parallel threads: the
            GIL is released).
    """
    (k1, k2, w1, w2, lo1, hi1, lo2, hi2, w1_id, w2_id, symmetric, transposed,
     panel_ptr, panels, scale, run_ptr, runs, run_weight) = plan  # fmt: skip
    L1 = k1.shape[0]
    M_max = 2 * L1 - 1
    Y1 = np.empty(M_max * max(w1.shape[2], 1))
    Y2 = np.empty(M_max * max(w2.shape[2], 1))
    K_max = max(w1.shape[2], w2.shape[2], x[0].shape[2], 1)
    T = np.empty((4, K_max))
    za = np.empty(K_max, dtype=np.bool_)
    for i in range(first, stop):
        o = out[i]
        for l in range(L1):
            M = 2 * l + 1
            xl = x[l][i]
            y1 = xl
            if not w1_id[l]:
                y1 = Y1[: M * k1[l]].reshape((M, k1[l]))
                _project_map(xl, w1[l], lo1[l], hi1[l], runs, run_weight, run_ptr[0, l],
                             run_ptr[0, l + 1], y1)  # fmt: skip
            y2 = y1
            if not symmetric[l]:
                y2 = xl
                if not w2_id[l]:
                    y2 = Y2[: M * k2[l]].reshape((M, k2[l]))
                    _project_map(xl, w2[l], lo2[l], hi2[l], runs, run_weight, run_ptr[1, l],
                                 run_ptr[1, l + 1], y2)  # fmt: skip
            ya, yb = (y2, y1) if transposed[l] else (y1, y2)
            _panels(ya, yb, panels, panel_ptr[l], panel_ptr[l + 1], scale, o, T, za)


@nb.njit(cache=True, fastmath=True, inline="always")
def _project_map(x, w, lo, hi, runs, weight, r0, r1, y):
    """y = x w: by the map's diagonal runs r0:r1 when it has any, else by its rows."""
    if r1 > r0:
        _project_runs(x, runs, weight, r0, r1, y)
    else:
        _project(x, w, lo, hi, y)


@nb.njit(cache=True, fastmath=True, inline="always")
def _project(x, w, lo, hi, y):
    """y = x w: x (M, C), w (C, ≥K) with row c non-zero only in columns lo[c]:hi[c], y (M, K)
    written; each y[m, k] sums over c in ascending order."""
    M, C = x.shape
    y[:, :] = 0.0
    for c in range(C):  # channel outer: one map row's range per channel
        a = lo[c]
        n = hi[c] - a
        if n == 1:  # one column (a total density, species weights)
            wv = w[c, a]
            for m in range(M):
                y[m, a] += x[m, c] * wv
        elif n > 1:
            wr = w[c, a : a + n]
            for m in range(M):
                v = x[m, c]
                yr = y[m, a : a + n]
                for k in range(n):
                    yr[k] += v * wr[k]


@nb.njit(cache=True, fastmath=True, inline="always")
def _project_runs(x, runs, weight, r0, r1, y):
    """y = x w for a map given as diagonal runs r0:r1 (:class:`ValueArrays`), x (M, C), y
    (M, K) written: each run adds w · x[:, s:s+n] to y[:, t:t+n], a loop along contiguous
    columns. The runs are in order of source channel and every channel is in one run at
    most, so each y[m, k] sums over c in ascending order, as :func:`_project` does."""
    M = x.shape[0]
    y[:, :] = 0.0
    for r in range(r0, r1):
        s = runs[r, 0]
        t = runs[r, 1]
        n = runs[r, 2]
        wv = weight[r]
        for m in range(M):
            xr = x[m, s : s + n]
            yr = y[m, t : t + n]
            for j in range(n):
                yr[j] += xr[j] * wv


@nb.njit(cache=True, fastmath=True, inline="always")
def _panels(a, b, panels, k0, k1, scale, o, T, za):
    """Panels k0:k1 of one block (see :class:`ValueArrays`): rows of a^T b, a (M, Ka) the
    row operand, b (M, Kb) the column operand (b is a for a symmetric block); T (4, ≥ Kb)
    workspace, indexed by column; za (≥ Ka,) bool workspace.

    Panels whose rows all lie on all-zero channels of ``a`` (species absent from an
    environment) are not computed: their entries are stored as 0. Every other panel is
    computed over its whole run, zero channels of ``b`` included (their sums are exactly
    +0.0, as stored when skipped): splitting a run around them cost more than it saved
    (QM9 ν,μ=1,1 10.3 → 9.4 µs per centre, cells4 ν=2 12.9 → 11.4 without the split)."""
    M = a.shape[0]
    Kb = b.shape[1]
    dense_a = _zero_channels(a, za)
    for k in range(k0, k1):
        r = panels[k, 0]
        c0 = panels[k, 1]
        n = panels[k, 2]
        rows = panels[k, 4]
        ca = c0 - c0 % _ALIGN  # the run computed: aligned start, whole vectors
        end = ca + min(_whole(c0 + n - ca), Kb - ca)
        live = dense_a
        if not live:
            for i in range(rows):
                live = live or not za[r + i]
        if live:
            _rows(a, b, r, ca, end - ca, M, rows, T)
        else:
            for i in range(rows):
                T[i, ca:end] = 0.0
        if panels[k, 13]:  # interleaved
            d = panels[k, 6]
            _store_interleaved(T, c0 + d, n - d, panels[k, 5], panels[k, 3], scale, o)
        else:
            for i in range(rows):
                d = panels[k, 6 + 2 * i]
                _store(T[i, c0 + d : c0 + n], n - d, panels[k, 5 + 2 * i], panels[k, 3], scale,
                       o)  # fmt: skip


@nb.njit(cache=True, inline="always")
def _whole(n):
    """n rounded up to a multiple of the alignment."""
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


@nb.njit(cache=True, inline="always")
def _zero_channels(b, z):
    """z[c] = channel c of b (M, K) is zero for every m; returns whether none is."""
    M, K = b.shape
    for c in range(K):
        z[c] = True
    for m in range(M):
        for c in range(K):
            if b[m, c] != 0.0:
                z[c] = False
    dense = True
    for c in range(K):
        dense = dense and not z[c]
    return dense


@nb.njit(cache=True, fastmath=True, inline="always")
def _rows(a, b, r, lo, w, M, rows, T):
    """T[i, lo:lo + w] = Σ_m a[m, r + i] b[m, lo:lo + w] for the panel's 1, 2 or 4 rows i.

    Four rows are always summed: a panel of fewer repeats its last row in the rows it does
    not have (their sums land in T's spare rows and are not stored), so every entry is the
    same sum in the same order whatever the panel."""
    last = r + rows - 1
    _four_rows(a, b, r, min(r + 1, last), min(r + 2, last), min(r + 3, last), lo, w, M,
               T[0, lo : lo + w], T[1, lo : lo + w], T[2, lo : lo + w],
               T[3, lo : lo + w])  # fmt: skip


@nb.njit(cache=True, fastmath=True, inline="always")
def _four_rows(a, b, r0, r1, r2, r3, c0, n, M, t0, t1, t2, t3):
    """t_i[j] = Σ_m a[m, r_i] b[m, c0 + j], i < 4, j < n, along the columns for every m (a
    vector loop), four m per step then one: the order of every sum of this kernel."""
    for j in range(n):
        t0[j] = 0.0
        t1[j] = 0.0
        t2[j] = 0.0
        t3[j] = 0.0
    m = 0
    while m + 4 <= M:
        a00, a01, a02, a03 = a[m, r0], a[m + 1, r0], a[m + 2, r0], a[m + 3, r0]
        a10, a11, a12, a13 = a[m, r1], a[m + 1, r1], a[m + 2, r1], a[m + 3, r1]
        a20, a21, a22, a23 = a[m, r2], a[m + 1, r2], a[m + 2, r2], a[m + 3, r2]
        a30, a31, a32, a33 = a[m, r3], a[m + 1, r3], a[m + 2, r3], a[m + 3, r3]
        b0 = b[m, c0 : c0 + n]
        b1 = b[m + 1, c0 : c0 + n]
        b2 = b[m + 2, c0 : c0 + n]
        b3 = b[m + 3, c0 : c0 + n]
        for j in range(n):
            v0 = b0[j]
            v1 = b1[j]
            v2 = b2[j]
            v3 = b3[j]
            t0[j] += (a00 * v0 + a01 * v1) + (a02 * v2 + a03 * v3)
            t1[j] += (a10 * v0 + a11 * v1) + (a12 * v2 + a13 * v3)
            t2[j] += (a20 * v0 + a21 * v1) + (a22 * v2 + a23 * v3)
            t3[j] += (a30 * v0 + a31 * v1) + (a32 * v2 + a33 * v3)
        m += 4
    while m < M:
        a0 = a[m, r0]
        a1 = a[m, r1]
        a2 = a[m, r2]
        a3 = a[m, r3]
        b0 = b[m, c0 : c0 + n]
        for j in range(n):
            v0 = b0[j]
            t0[j] += a0 * v0
            t1[j] += a1 * v0
            t2[j] += a2 * v0
            t3[j] += a3 * v0
        m += 1


@nb.njit(cache=True, fastmath=True, inline="always")
def _store(t, n, e0, step, scale, o):
    """o[e0 + j·step] = t[j] · scale[e0 + j·step], j < n."""
    if step == 1:
        sc = scale[e0 : e0 + n]
        oo = o[e0 : e0 + n]
        for j in range(n):
            oo[j] = t[j] * sc[j]
    else:
        for j in range(n):
            e = e0 + j * step
            o[e] = t[j] * scale[e]


@nb.njit(cache=True, fastmath=True, inline="always")
def _store_interleaved(T, c, n, e0, step, scale, o):
    """o[e + i] = T[i, c + j] · scale[e + i], e = e0 + j·step, i < 4, j < n: the four rows
    of an interleaved panel (:class:`ValueArrays`) written four consecutive columns at a time (the
    values of :func:`_store` row by row, without its stride-``step`` passes)."""
    t0 = T[0, c : c + n]
    t1 = T[1, c : c + n]
    t2 = T[2, c : c + n]
    t3 = T[3, c : c + n]
    for j in range(n):
        e = e0 + j * step
        oo = o[e : e + 4]
        sc = scale[e : e + 4]
        oo[0] = t0[j] * sc[0]
        oo[1] = t1[j] * sc[1]
        oo[2] = t2[j] * sc[2]
        oo[3] = t3[j] * sc[3]
