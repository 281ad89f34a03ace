"""Cell-list neighbour search (linear in the number of atoms)."""

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _bin_atoms(pos, origin, inv_bin, nbins):
    """Counting sort of atoms into a Cartesian grid of bins.

    Returns (bin_of_atom, bin_start, order): atoms of bin b are order[bin_start[b]:bin_start[b+1]].
    """
    m = pos.shape[0]
    nx, ny, nz = nbins[0], nbins[1], nbins[2]
    bin_of = np.empty(m, np.int64)
    counts = np.zeros(nx * ny * nz + 1, np.int64)
    for a in range(m):
        bx = min(max(int((pos[a, 0] - origin[0]) * inv_bin[0]), 0), nx - 1)
        by = min(max(int((pos[a, 1] - origin[1]) * inv_bin[1]), 0), ny - 1)
        bz = min(max(int((pos[a, 2] - origin[2]) * inv_bin[2]), 0), nz - 1)
        b = (bx * ny + by) * nz + bz
        bin_of[a] = b
        counts[b + 1] += 1
    for b in range(nx * ny * nz):
        counts[b + 1] += counts[b]
    fill = counts[:-1].copy()
    order = np.empty(m, np.int64)
    for a in range(m):
        order[fill[bin_of[a]]] = a
        fill[bin_of[a]] += 1
    return bin_of, counts, order


@nb.njit(cache=True)
def cell_list_pairs(pos_all, owner, n_centres, r_cut, origin, inv_bin, nbins):
    """All pairs (i, a) with |pos_all[a] - pos_all[i]| < r_cut, i < n_centres, a != i.

    pos_all[:n_centres] are the centre atoms themselves (owner[i] == i);
    later rows are periodic images (owner gives the original atom).
    Returns centre index, neighbour owner index, and vectors pos_all[a] - pos_all[i],
    sorted by centre.
    """
    bin_of, start, order = _bin_atoms(pos_all, origin, inv_bin, nbins)
    nx, ny, nz = nbins[0], nbins[1], nbins[2]
    rc2 = r_cut * r_cut
    counts = np.zeros(n_centres, np.int64)
    for sweep in range(2):
        if sweep == 1:
            total = counts.sum()
            out_i = np.empty(total, np.int64)
            out_j = np.empty(total, np.int64)
            out_d = np.empty((total, 3))
            k = 0
        for i in range(n_centres):
            b = bin_of[i]
            bx = b // (ny * nz)
            by = (b // nz) % ny
            bz = b % nz
            c = 0
            for dx in range(-1, 2):
                x = bx + dx
                if x < 0 or x >= nx:
                    continue
                for dy in range(-1, 2):
                    y = by + dy
                    if y < 0 or y >= ny:
                        continue
                    for dz in range(-1, 2):
                        z = bz + dz
                        if z < 0 or z >= nz:
                            continue
                        nbin = (x * ny + y) * nz + z
                        for q in range(start[nbin], start[nbin + 1]):
                            a = order[q]
                            if a == i:
                                continue
                            d0 = pos_all[a, 0] - pos_all[i, 0]
                            d1 = pos_all[a, 1] - pos_all[i, 1]
                            d2 = pos_all[a, 2] - pos_all[i, 2]
                            r2 = d0 * d0 + d1 * d1 + d2 * d2
                            if r2 < rc2:
                                if sweep == 0:
                                    c += 1
                                else:
                                    out_i[k] = i
                                    out_j[k] = owner[a]
                                    out_d[k, 0] = d0
                                    out_d[k, 1] = d1
                                    out_d[k, 2] = d2
                                    k += 1
            if sweep == 0:
                counts[i] = c
    return out_i, out_j, out_d


@nb.njit(cache=True)
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
