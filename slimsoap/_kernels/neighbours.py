"""Cell-list neighbour search (linear in the number of atoms)."""

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def _bin_atoms(pos, origin, inv_bin, nbins):
    """Counting sort of atoms into a Cartesian grid of bins.

    Returns (bin_of_atom, bin_start, order): atoms of bin b are order[bin_start[b]:bin_start[b+1]].
    """
    m = pos.shape[0]
    n_bins = nbins[0] * nbins[1] * nbins[2]
    bin_of = np.empty(m, np.int64)
    counts = np.empty(n_bins + 1, np.int64)
    order = np.empty(m, np.int64)
    _bin_into(pos, m, origin, inv_bin, nbins, bin_of, counts, order, np.empty(n_bins, np.int64))
    return bin_of, counts, order


@nb.njit(cache=True, nogil=True)
def _bin_into(pos, m, origin, inv_bin, nbins, bin_of, counts, order, fill):
    """:func:`_bin_atoms` of the first m rows of ``pos`` into given workspaces: bin_of (≥ m,),
    counts (≥ bins + 1,), order (≥ m,), fill (≥ bins,) int64."""
    nx, ny, nz = nbins[0], nbins[1], nbins[2]
    n_bins = nx * ny * nz
    counts[: n_bins + 1] = 0
    for a in range(m):
        bx = min(max(int((pos[a, 0] - origin[0]) * inv_bin[0]), 0), nx - 1)
        by = min(max(int((pos[a, 1] - origin[1]) * inv_bin[1]), 0), ny - 1)
        bz = min(max(int((pos[a, 2] - origin[2]) * inv_bin[2]), 0), nz - 1)
        b = (bx * ny + by) * nz + bz
        bin_of[a] = b
        counts[b + 1] += 1
    for b in range(n_bins):
        counts[b + 1] += counts[b]
    fill[:n_bins] = counts[:n_bins]
    for a in range(m):
        order[fill[bin_of[a]]] = a
        fill[bin_of[a]] += 1


@nb.njit(cache=True, nogil=True)
def cell_list_pairs(pos_all, owner, n_centres, r_cut, origin, inv_bin, nbins):
    """All pairs (i, a) with |pos_all[a] - pos_all[i]| < r_cut, i < n_centres, a != i.

    pos_all[:n_centres] are the centre atoms themselves (owner[i] == i);
    later rows are periodic images (owner gives the original atom).
    Returns centre index, neighbour owner index, and vectors pos_all[a] - pos_all[i],
    sorted by centre.
    """
    bin_of, start, order = _bin_atoms(pos_all, origin, inv_bin, nbins)
    sorted_pos = np.empty((pos_all.shape[0], 3))
    cap = max(64, 16 * n_centres)
    out_i = np.empty(cap, np.int64)
    out_j = np.empty(cap, np.int64)
    out_d = np.empty((cap, 3))
    while True:  # output that does not fit doubles and the search is redone
        k = _frame_pairs(pos_all, owner, n_centres, 0, r_cut * r_cut, bin_of, start, order,
                         nbins, sorted_pos, out_i, out_j, out_d, 0)  # fmt: skip
        if k >= 0:
            return out_i[:k].copy(), out_j[:k].copy(), out_d[:k].copy()
        cap *= 2
        out_i = np.empty(cap, np.int64)
        out_j = np.empty(cap, np.int64)
        out_d = np.empty((cap, 3))


@nb.njit(cache=True, nogil=True)
def molecule_pairs(positions, frame_offsets, r_cut):
    """Directed pairs within ``r_cut`` (strict) inside each of many small non-periodic frames.

    Brute force over the atoms of each frame (O(Σ n_f²)), in one call for the whole batch:
    the Python cost per frame of a general neighbour list dominates for small molecules.

    Args:
        positions: (n_atoms, 3) positions (Å) of all frames, concatenated.
        frame_offsets: (n_frames + 1,) atoms of frame f are frame_offsets[f]:frame_offsets[f+1].
        r_cut: cutoff (Å).

    Returns:
        offsets (n_atoms + 1,), neighbours (n_pairs,) batch atom index, vectors (n_pairs, 3)
        r_j - r_i, distances (n_pairs,), and the pair (i, j) of smallest distance (-1, -1 if
        there are no pairs), sorted by centre.
    """
    n = positions.shape[0]
    rc2 = r_cut * r_cut
    offsets = np.zeros(n + 1, np.int64)
    for f in range(frame_offsets.shape[0] - 1):
        for i in range(frame_offsets[f], frame_offsets[f + 1]):
            c = 0
            for j in range(frame_offsets[f], frame_offsets[f + 1]):
                d0 = positions[j, 0] - positions[i, 0]
                d1 = positions[j, 1] - positions[i, 1]
                d2 = positions[j, 2] - positions[i, 2]
                if j != i and d0 * d0 + d1 * d1 + d2 * d2 < rc2:
                    c += 1
            offsets[i + 1] = c
    for i in range(n):
        offsets[i + 1] += offsets[i]
    neighbours = np.empty(offsets[n], np.int64)
    vectors = np.empty((offsets[n], 3))
    distances = np.empty(offsets[n])
    closest = (-1, -1)
    d_min = np.inf
    for f in range(frame_offsets.shape[0] - 1):
        for i in range(frame_offsets[f], frame_offsets[f + 1]):
            k = offsets[i]
            for j in range(frame_offsets[f], frame_offsets[f + 1]):
                d0 = positions[j, 0] - positions[i, 0]
                d1 = positions[j, 1] - positions[i, 1]
                d2 = positions[j, 2] - positions[i, 2]
                r2 = d0 * d0 + d1 * d1 + d2 * d2
                if j != i and r2 < rc2:
                    neighbours[k] = j
                    vectors[k, 0], vectors[k, 1], vectors[k, 2] = d0, d1, d2
                    distances[k] = np.sqrt(r2)
                    if distances[k] < d_min:
                        d_min = distances[k]
                        closest = (i, j)
                    k += 1
    return offsets, neighbours, vectors, distances, closest[0], closest[1]


@nb.njit(cache=True, nogil=True)
def periodic_images(frac, atom_start, n_img, reach, pbc):
    """Fractional periodic images within the reach of each frame's cell, for many frames.

    Per frame f (atoms atom_start[f]:atom_start[f+1], wrapped fractional coordinates
    ``frac``), image shifts run over the grid -n_img..n_img per axis in C order (the home
    cell skipped), atoms inner; an image is kept when every periodic coordinate lies in
    [-reach, 1 + reach]. This is the order and the arithmetic of the per-frame search.

    Args:
        frac: (n_atoms, 3) wrapped fractional coordinates of all frames, concatenated.
        atom_start: (n_frames + 1,) int64 frame offsets into ``frac``.
        n_img: (n_frames, 3) int64 image layers per axis (0 along non-periodic axes).
        reach: (n_frames, 3) fractional reach r_cut / plane spacing (0 if not periodic).
        pbc: (n_frames, 3) bool periodic axes.

    Returns:
        images (n_images, 3) fractional, owner (n_images,) int64 atom index within its
        frame, image_start (n_frames + 1,) int64 frame offsets into ``images``.
    """
    n_frames = atom_start.shape[0] - 1
    image_start = np.zeros(n_frames + 1, np.int64)
    for sweep in range(2):
        if sweep == 1:
            for f in range(n_frames):
                image_start[f + 1] += image_start[f]
            images = np.empty((image_start[n_frames], 3))
            owner = np.empty(image_start[n_frames], np.int64)
        for f in range(n_frames):
            k = image_start[f]
            lo0, lo1, lo2 = -reach[f, 0], -reach[f, 1], -reach[f, 2]
            hi0, hi1, hi2 = 1.0 + reach[f, 0], 1.0 + reach[f, 1], 1.0 + reach[f, 2]
            p0, p1, p2 = pbc[f, 0], pbc[f, 1], pbc[f, 2]
            for s0 in range(-n_img[f, 0], n_img[f, 0] + 1):
                for s1 in range(-n_img[f, 1], n_img[f, 1] + 1):
                    for s2 in range(-n_img[f, 2], n_img[f, 2] + 1):
                        if s0 == 0 and s1 == 0 and s2 == 0:
                            continue
                        for a in range(atom_start[f], atom_start[f + 1]):
                            x0 = frac[a, 0] + float(s0)
                            x1 = frac[a, 1] + float(s1)
                            x2 = frac[a, 2] + float(s2)
                            if (
                                ((x0 >= lo0) and (x0 <= hi0) or not p0)
                                and ((x1 >= lo1) and (x1 <= hi1) or not p1)
                                and ((x2 >= lo2) and (x2 <= hi2) or not p2)
                            ):
                                if sweep == 1:
                                    images[k, 0], images[k, 1], images[k, 2] = x0, x1, x2
                                    owner[k] = a - atom_start[f]
                                k += 1
            if sweep == 0:
                image_start[f + 1] = k - image_start[f]
    return images, owner, image_start


@nb.njit(cache=True, nogil=True)
def frame_bounds(wrapped, atom_start, images, image_start):
    """Per frame, the smallest and largest coordinates (n_frames, 3) of its atoms and images."""
    n_frames = atom_start.shape[0] - 1
    lo = np.full((n_frames, 3), np.inf)
    hi = np.full((n_frames, 3), -np.inf)
    for f in range(n_frames):
        for a in range(atom_start[f], atom_start[f + 1]):
            for d in range(3):
                lo[f, d] = min(lo[f, d], wrapped[a, d])
                hi[f, d] = max(hi[f, d], wrapped[a, d])
        for a in range(image_start[f], image_start[f + 1]):
            for d in range(3):
                lo[f, d] = min(lo[f, d], images[a, d])
                hi[f, d] = max(hi[f, d], images[a, d])
    return lo, hi


@nb.njit(cache=True, nogil=True)
def batch_cell_list_pairs(
    wrapped, atom_start, images, owner, image_start, r_cut, origin, inv_bin, nbins
):
    """:func:`cell_list_pairs` of each frame of a batch, in one call.

    Frame f searches its atoms ``wrapped[atom_start[f]:atom_start[f+1]]`` (Å) followed by
    its images ``images[image_start[f]:image_start[f+1]]`` (Å, ``owner`` their atom within
    the frame) with its own grid (``origin``, ``inv_bin`` (n_frames, 3) float64, ``nbins``
    (n_frames, 3) int64), exactly as the per-frame search does: the same pairs in the same
    order, with the same vectors. One sweep per frame into output arrays that double when
    full, and one set of workspaces for the whole batch (small frames cost a few
    microseconds each, so per-frame allocations and a counting sweep would dominate).

    Returns:
        centres, neighbours (n_pairs,) int64 batch atom indices and vectors (n_pairs, 3)
        (Å), frame by frame, each frame's pairs sorted by centre.
    """
    n_frames = atom_start.shape[0] - 1
    m_max = 1
    b_max = 1
    for f in range(n_frames):
        m = atom_start[f + 1] - atom_start[f] + image_start[f + 1] - image_start[f]
        m_max = max(m_max, m)
        b_max = max(b_max, nbins[f, 0] * nbins[f, 1] * nbins[f, 2])
    pos = np.empty((m_max, 3))
    sorted_pos = np.empty((m_max, 3))
    own = np.empty(m_max, np.int64)
    bin_of = np.empty(m_max, np.int64)
    order = np.empty(m_max, np.int64)
    start = np.empty(b_max + 1, np.int64)
    fill = np.empty(b_max, np.int64)
    cap = max(64, 16 * atom_start[n_frames])
    centres = np.empty(cap, np.int64)
    neighbours = np.empty(cap, np.int64)
    vectors = np.empty((cap, 3))
    rc2 = r_cut * r_cut
    k = 0
    for f in range(n_frames):
        a0 = atom_start[f]
        n = atom_start[f + 1] - a0
        i0 = image_start[f]
        m = n + image_start[f + 1] - i0
        for a in range(n):  # the frame's atoms, then its images
            for d in range(3):
                pos[a, d] = wrapped[a0 + a, d]
            own[a] = a
        for q in range(m - n):
            for d in range(3):
                pos[n + q, d] = images[i0 + q, d]
            own[n + q] = owner[i0 + q]
        _bin_into(pos, m, origin[f], inv_bin[f], nbins[f], bin_of, start, order, fill)
        while True:  # a frame that does not fit doubles the output and is redone
            done = _frame_pairs(pos, own, n, a0, rc2, bin_of, start, order, nbins[f],
                                sorted_pos, centres, neighbours, vectors, k)  # fmt: skip
            if done >= 0:
                k = done
                break
            cap *= 2
            centres = _grown(centres, cap)
            neighbours = _grown(neighbours, cap)
            vectors = _grown(vectors, cap)
    return centres[:k].copy(), neighbours[:k].copy(), vectors[:k].copy()


@nb.njit(cache=True, nogil=True)
def _frame_pairs(pos, own, n, a0, rc2, bin_of, start, order, nbins, sorted_pos, centres,
                 neighbours, vectors, k):  # fmt: skip
    """The pairs of one binned frame (centres pos[:n]) written from row k on, batch indices
    offset by a0; returns the next free row, or -1 when they do not fit.

    The binned positions are first copied in bin order into ``sorted_pos`` (≥ binned rows,
    3), so a centre's candidates are read contiguously, and the three bins along z of each
    (x, y) column of the stencil are one run: the pairs and vectors of a search per bin, in
    the same order."""
    cap = centres.shape[0]
    nx, ny, nz = nbins[0], nbins[1], nbins[2]
    for q in range(start[nx * ny * nz]):
        a = order[q]
        for d in range(3):
            sorted_pos[q, d] = pos[a, d]
    for i in range(n):
        b = bin_of[i]
        bx = b // (ny * nz)
        by = (b // nz) % ny
        bz = b % nz
        z0 = max(bz - 1, 0)
        z1 = min(bz + 2, nz)
        p0, p1, p2 = pos[i, 0], pos[i, 1], pos[i, 2]
        for x in range(max(bx - 1, 0), min(bx + 2, nx)):
            for y in range(max(by - 1, 0), min(by + 2, ny)):
                column = (x * ny + y) * nz
                for q in range(start[column + z0], start[column + z1]):
                    d0 = sorted_pos[q, 0] - p0
                    d1 = sorted_pos[q, 1] - p1
                    d2 = sorted_pos[q, 2] - p2
                    if d0 * d0 + d1 * d1 + d2 * d2 < rc2:
                        a = order[q]
                        if a == i:
                            continue
                        if k == cap:
                            return -1
                        centres[k] = i + a0
                        neighbours[k] = own[a] + a0
                        vectors[k, 0] = d0
                        vectors[k, 1] = d1
                        vectors[k, 2] = d2
                        k += 1
    return k


@nb.njit(cache=True, nogil=True)
def _grown(x, cap):
    """A copy of ``x`` with room for ``cap`` rows (the first len(x) rows kept)."""
    out = np.empty((cap,) + x.shape[1:], x.dtype)
    out[: x.shape[0]] = x
    return out


@nb.njit(cache=True, nogil=True)
def row_products(x, mats, row_mat):
    """Rows ``x[k] @ mats[row_mat[k]]`` (k, 3) for x (k, 3) and mats (F, 3, 3): each entry
    is ``x0 m0j + x1 m1j + x2 m2j``, summed left to right, whatever k is."""
    out = np.empty((x.shape[0], 3))
    for k in range(x.shape[0]):
        m = row_mat[k]
        for j in range(3):
            out[k, j] = x[k, 0] * mats[m, 0, j] + x[k, 1] * mats[m, 1, j] + x[k, 2] * mats[m, 2, j]
    return out
