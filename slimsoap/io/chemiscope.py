"""Chemiscope files: structures, their properties and a 2-D map of the descriptors.

``write_chemiscope`` writes a JSON (or ``.json.gz``) file that the chemiscope viewer opens
(optional extra ``chemiscope``). The map is a projection of the descriptors, either one
point per structure (the mean of its atoms' rows) or one per atom (atom-centred
environments, drawn to ``cutoff`` Å):

- ``"pca"``: the two leading principal components (SVD of the centred matrix, signs fixed
  so that each component's largest entry is positive);
- ``"sketchmap"``: a sketch-map-like non-linear map (Ceriotti, Tribello, Parrinello 2011):
  starting from PCA, minimise Σ_{i<j} (S(D_ij) − s(d_ij))² over the 2-D points, with D and d
  the distances in descriptor and map space and S = s the sketch-map sigmoid
  s(r) = 1 − (1 + (2^{a/b} − 1)(r/σ)^a)^{−b/a} (a = 2, b = 6; σ the median descriptor
  distance, map distances scaled to match). O(n²) memory: at most ``SKETCHMAP_MAX`` points.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from ase import Atoms

from slimsoap.features import Features

#: Largest number of points the sketch-map projection accepts (it holds n² distances).
SKETCHMAP_MAX = 3000
#: Dense matrices whose smaller side is at most this get a full SVD; larger ones a truncated
#: one (ARPACK), whose cost follows the few components kept (a full SVD of 3,000 × 1,600
#: took 10 s, the truncated one ~0.1 s).
_FULL_SVD_MAX = 200
_PROJECTIONS = ("pca", "sketchmap")


def pca_map(x: np.ndarray | sp.spmatrix, n_components: int = 2) -> np.ndarray:
    """(n, n_components) principal-component scores of the rows of ``x`` (any units).

    The rows are centred; for a sparse ``x`` the centring is applied implicitly (no dense
    copy). Large matrices use a truncated SVD (``scipy.sparse.linalg.svds``, fixed start:
    deterministic). Each component's sign makes its largest-magnitude score positive.
    """
    n = x.shape[0]
    k = min(n_components, n, x.shape[1])
    if sp.issparse(x):
        from scipy.sparse.linalg import LinearOperator, svds

        x = sp.csr_matrix(x, dtype=np.float64)
        mean = np.asarray(x.mean(axis=0)).ravel()
        op = LinearOperator(
            (n, x.shape[1]),
            matvec=lambda v: x @ v.ravel() - mean @ v.ravel(),
            rmatvec=lambda u: x.T @ u.ravel() - mean * u.sum(),
            dtype=np.float64,
        )
        if k < min(op.shape):
            u, s, _ = svds(op, k=k, random_state=0)
            order = np.argsort(s)[::-1]
            scores = u[:, order] * s[order]
        else:
            scores = pca_map(x.toarray(), n_components)[:, :k]
    else:
        xc = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0)
        if min(xc.shape) > _FULL_SVD_MAX:
            from scipy.sparse.linalg import svds

            u, s, _ = svds(xc, k=k, random_state=0)
            order = np.argsort(s)[::-1]
            scores = u[:, order] * s[order]
        else:
            u, s, _ = np.linalg.svd(xc, full_matrices=False)
            scores = u[:, :k] * s[:k]
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(k)])
    scores = scores * np.where(signs == 0, 1.0, signs)
    if k < n_components:
        scores = np.hstack([scores, np.zeros((n, n_components - k))])
    return scores


def _sigmoid(r: np.ndarray, sigma: float, a: float, b: float):
    """Sketch-map sigmoid s(r) and g(r) = s'(r)/r (finite at r = 0 for a = 2)."""
    c = 2.0 ** (a / b) - 1.0
    q = c * (r / sigma) ** a
    s = 1.0 - (1.0 + q) ** (-b / a)
    g = b * c * np.power(r, a - 2) / sigma**a * (1.0 + q) ** (-b / a - 1.0)
    return s, g


def _stress(flat: np.ndarray, target: np.ndarray, sigma: float, a: float, b: float):
    """Σ_{i<j} (s(d_ij) − target_ij)² of the flattened (n, 2) points, and its gradient."""
    y = flat.reshape(len(target), 2)
    diff = y[:, None, :] - y[None, :, :]
    d = np.sqrt(np.sum(diff * diff, axis=-1))
    s, g = _sigmoid(d, sigma, a, b)
    res = s - target
    np.fill_diagonal(res, 0.0)
    grad = 2.0 * np.einsum("ij,ij,ijk->ik", res, g, diff)
    return 0.5 * np.sum(res * res), grad.ravel()


def sketchmap(x: np.ndarray | sp.spmatrix, a: float = 2.0, b: float = 6.0) -> np.ndarray:
    """(n, 2) sketch-map-like embedding of the rows of ``x`` (see the module docstring)."""
    from scipy.optimize import minimize
    from scipy.spatial.distance import pdist, squareform

    n = x.shape[0]
    if n > SKETCHMAP_MAX:
        raise ValueError(
            f"sketchmap holds n² distances and accepts at most {SKETCHMAP_MAX} points, got "
            f"{n}: use projection='pca' or a per-structure map"
        )
    dense = x.toarray() if sp.issparse(x) else np.asarray(x, dtype=np.float64)
    high = pdist(dense)
    sigma = float(np.median(high)) if np.any(high > 0) else 1.0
    target = squareform(_sigmoid(high, sigma, a, b)[0])
    start = pca_map(x, 2)
    low = pdist(start)
    if np.any(low > 0):
        start *= np.median(high) / np.median(low[low > 0])

    args = (target, sigma, a, b)
    result = minimize(
        _stress, start.ravel(), args, jac=True, method="L-BFGS-B", options={"maxiter": 500}
    )
    return result.x.reshape(n, 2)


def write_chemiscope(
    path: str | Path,
    frames: Atoms | Sequence[Atoms],
    features: Features,
    properties: dict | None = None,
    projection: str = "pca",
    target: str = "structure",
    cutoff: float = 3.5,
    name: str | None = None,
) -> None:
    """Write a chemiscope file of ``frames`` with a 2-D map of their descriptors.

    Args:
        path: output file; ``.json`` or ``.json.gz`` (gzip-compressed).
        frames: the structures the features were computed from.
        features: their :class:`~slimsoap.features.Features` (dense or sparse values).
        properties: extra chemiscope properties, ``{name: values}`` (length n_frames or
            n_atoms) or ``{name: {"target": ..., "values": ..., "units": ...}}``.
        projection: ``"pca"`` or ``"sketchmap"`` (module docstring).
        target: ``"structure"`` (one point per frame, the mean of its rows) or ``"atom"``
            (one point per atom; environments drawn to ``cutoff``).
        cutoff: radius of the drawn atomic environments (Å), for ``target="atom"``.
        name: dataset name shown by chemiscope (default: the file name).

    The map is stored as the property ``projection`` (two columns, ``<projection>[1]``
    and ``<projection>[2]`` in chemiscope) and selected as the map's x and y axes.
    """
    import chemiscope

    if projection not in _PROJECTIONS:
        raise ValueError(f"projection must be one of {_PROJECTIONS}, got {projection!r}")
    if target not in ("structure", "atom"):
        raise ValueError(f"target must be 'structure' or 'atom', got {target!r}")
    frames = [frames] if isinstance(frames, Atoms) else list(frames)
    sizes = [len(a) for a in frames]
    n_rows = features.values.shape[0]
    if sum(sizes) != n_rows or len(frames) != features.n_frames:
        raise ValueError(
            f"{len(frames)} frames of {sum(sizes)} atoms, but the features hold "
            f"{features.n_frames} frames and {n_rows} rows: pass the frames they came from"
        )
    x = features.values
    if target == "structure":
        mean = sp.csr_matrix(
            (np.ones(n_rows) / np.repeat(sizes, sizes), (features.frame_index, np.arange(n_rows))),
            shape=(len(frames), n_rows),
        )
        x = mean @ x
        x = np.asarray(x.toarray() if sp.issparse(x) else x)
    points = pca_map(x) if projection == "pca" else sketchmap(x)
    props = dict(properties or {})
    if projection in props:
        raise ValueError(f"properties already has a {projection!r} entry: rename it")
    props[projection] = {
        "target": target,
        "values": points,
        "description": f"{projection} of the slimsoap descriptors ({target} map)",
    }
    environments = (
        chemiscope.all_atomic_environments(frames, cutoff=cutoff) if target == "atom" else None
    )
    chemiscope.write_input(
        str(path),
        structures=frames,
        metadata={"name": name or Path(path).name},
        properties=props,
        environments=environments,
        settings={
            "map": {"x": {"property": f"{projection}[1]"}, "y": {"property": f"{projection}[2]"}}
        },
    )
