"""``centers=`` and ``average="outer"`` of :meth:`SOAP.compute`: rows of computed
:class:`~slimsoap.features.Features` selected, reordered and averaged per frame, with their
position and strain gradients (DScribe's ``centers`` and ``average`` options)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from slimsoap._linalg import project_rows, unit_rows
from slimsoap.features import Features, SparseGradients


def parse_centers(centers, n_atoms: Sequence[int]) -> list[np.ndarray]:
    """Validated centre indices per frame.

    Args:
        centers: one sequence of atom indices per frame, or, for a single frame, one
            sequence of indices. Indices are 0 ≤ i < n_atoms of their frame; repeats are
            allowed (each gives a row).
        n_atoms: atoms of each frame.

    Returns:
        per frame, (k_f,) int64 indices in the given order (k_f ≥ 1).
    """
    if not isinstance(centers, (list, tuple, np.ndarray)) or len(centers) == 0:
        raise ValueError(f"centers must be a list of atom indices per frame, got {centers!r}")
    if len(n_atoms) == 1 and not any(isinstance(c, (list, tuple, np.ndarray)) for c in centers):
        centers = [centers]
    if len(centers) != len(n_atoms):
        raise ValueError(
            f"centers has {len(centers)} lists but there are {len(n_atoms)} frames: give one "
            "list of atom indices per frame"
        )
    out = []
    for f, (chosen, n) in enumerate(zip(centers, n_atoms)):
        if not isinstance(chosen, (list, tuple, np.ndarray)) or len(chosen) == 0:
            raise ValueError(f"centers of frame {f} must be a non-empty list of atom indices")
        if not all(_is_index(i) for i in chosen):
            raise ValueError(f"centers of frame {f} must be integers, got {list(chosen)!r}")
        idx = np.asarray(chosen, dtype=np.int64)
        bad = idx[(idx < 0) | (idx >= n)]
        if len(bad):
            raise ValueError(f"centers of frame {f}: atom index {int(bad[0])} outside 0..{n - 1}")
        out.append(idx)
    return out


def _is_index(i) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, bool)


def select_rows(features: Features, rows: np.ndarray) -> Features:
    """Rows ``rows`` of ``features`` in that order, with their pair and strain gradients.

    Args:
        features: as :meth:`SOAP.compute` returns (dense or sparse).
        rows: (k,) int64 rows to keep (repeats allowed).

    Returns:
        Features of k rows; ``gradient_pairs[:, 0]`` renumbered to the new rows, atom
        indices (column 1) unchanged (global atoms of the concatenated frames).
    """
    out = Features(values=features.values[rows], frame_index=features.frame_index[rows])
    if features.gradients is None:
        return out
    pairs = features.gradient_pairs
    first = np.searchsorted(pairs[:, 0], np.arange(len(features.frame_index) + 1))
    counts = first[rows + 1] - first[rows]
    new_row = np.repeat(np.arange(len(rows)), counts)
    within = np.arange(len(new_row)) - np.repeat(np.cumsum(counts) - counts, counts)
    index = np.repeat(first[rows], counts) + within
    out.gradient_pairs = np.stack([new_row, pairs[index, 1]], axis=1)
    out.gradients = _take(features.gradients, index)
    if features.strain_gradients is not None:
        out.strain_gradients = _take(features.strain_gradients, rows)
    return out


def _take(gradients: np.ndarray | SparseGradients, index: np.ndarray):
    """Entries ``index`` of dense gradients or of :class:`SparseGradients` (shares data)."""
    if isinstance(gradients, SparseGradients):
        g = gradients
        return SparseGradients(
            g.data, g.start[index], g.pattern[index], g.columns, g.n_features, g.inner
        )
    return gradients[index]


def average_rows(features: Features) -> Features:
    """One row per frame, the mean of the frame's rows (DScribe's ``average="outer"``).

    Gradients: ∂x̄_f/∂r_j = (1/k_f) Σ_i ∂x_i/∂r_j over the frame's k_f rows, one pair
    (f, j) per atom j that moves any of them, atoms ascending; strain gradients averaged
    alike. Dense gradients only.
    """
    fi = features.frame_index
    n_frames = features.n_frames
    counts = np.bincount(fi, minlength=n_frames).astype(np.float64)
    mean = sp.csr_matrix((1.0 / counts[fi], (fi, np.arange(len(fi)))), shape=(n_frames, len(fi)))
    values = mean @ features.values
    if sp.issparse(values):
        values = values.tocsr().astype(features.values.dtype)
    else:
        values = np.asarray(values, dtype=features.values.dtype)
    out = Features(values=values, frame_index=np.arange(n_frames, dtype=np.int64))
    if features.gradients is None:
        return out
    if isinstance(features.gradients, SparseGradients):
        raise ValueError("average='outer' gradients are dense: use sparse=False")
    pairs = features.gradient_pairs
    n_atoms = int(pairs[:, 1].max()) + 1
    uniq, inverse = np.unique(fi[pairs[:, 0]] * n_atoms + pairs[:, 1], return_inverse=True)
    summed = np.zeros((len(uniq), *features.gradients.shape[1:]), dtype=np.float64)
    np.add.at(summed, inverse.ravel(), features.gradients)
    new_frame = uniq // n_atoms
    summed /= counts[new_frame][:, None, None]
    out.gradients = summed.astype(features.gradients.dtype)
    out.gradient_pairs = np.stack([new_frame, uniq % n_atoms], axis=1)
    if features.strain_gradients is not None:
        s = features.strain_gradients
        out.strain_gradients = np.asarray(
            (mean @ s.reshape(len(fi), -1)).reshape(n_frames, *s.shape[1:]), dtype=s.dtype
        )
    return out


def normalized(features: Features) -> Features:
    """``features`` with every row divided by its norm, dense gradients projected
    (d x̂ = (1 − x̂x̂ᵀ) dx / |x|); in place, returned for chaining."""
    if sp.issparse(features.values):
        features.values = unit_rows(features.values)[0]
        return features
    _, norms = unit_rows(features.values, out=features.values)
    if features.gradients is not None:
        project_rows(features.gradients, features.values, norms, features.gradient_pairs[:, 0])
    if features.strain_gradients is not None:
        project_rows(features.strain_gradients, features.values, norms)
    return features
