"""Row normalisation x̂ = x/|x| and the matching projection of derivatives, written once for
``SOAP(normalize=True)``, the models' normalised features and kernels (DESIGN §3).

For x̂ = x/|x|, ∂x̂ = (1 − x̂x̂ᵀ) ∂x / |x|; the same operator maps a covector v = ∂E/∂x̂
to ∂E/∂x. A zero row has no direction: its norm is taken as 1, so it stays zero and its
derivatives are simply projected with x̂ = 0 (unchanged).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Rows of derivatives projected at once (bounds the temporaries to this many rows).
PROJECT_CHUNK = 1024


def unit_rows(
    x: np.ndarray | sp.spmatrix, out: np.ndarray | None = None
) -> tuple[np.ndarray | sp.csr_matrix, np.ndarray]:
    """Each row of x divided by its Euclidean norm, and the norms.

    Args:
        x: (n, F) dense array, or a scipy sparse matrix (a new CSR matrix with the same
            stored entries is returned).
        out: dense only: where x̂ is written (``x`` itself normalises in place).

    Returns:
        x̂ (n, F), same dtype as x; norms (n,), 1 for all-zero rows (x̂ = 0 there).
    """
    if sp.issparse(x):
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms = np.where(norms > 0, norms, 1.0)
        x = x.tocsr(copy=True)
        x.data /= np.repeat(norms, np.diff(x.indptr))
        return x, norms
    norms = np.linalg.norm(x, axis=1)
    norms = np.where(norms > 0, norms, 1.0)
    return np.divide(x, norms[:, None], out=out), norms


def project_rows(
    d: np.ndarray, xhat: np.ndarray, norms: np.ndarray, rows: np.ndarray | None = None
) -> None:
    """In place d[p] ← (1 − x̂x̂ᵀ) d[p] / |x| with x̂, |x| of descriptor row ``rows[p]``.

    Turns derivatives of x into those of x̂ = x/|x| (the feature axis is last), in chunks of
    :data:`PROJECT_CHUNK` rows so no temporary the size of ``d`` is made.

    Args:
        d: (P, ..., F) derivative rows, e.g. (P, 3, F) pair gradients in 1/Å, (n, 3, 3, F)
            strain gradients, or (n, F) covectors.
        xhat: (n, F) unit rows and norms (n,), from :func:`unit_rows`.
        rows: (P,) descriptor row of each derivative row; default ``arange(P)``.
    """
    rows = np.arange(len(d)) if rows is None else rows
    if len(rows) != len(d):
        raise ValueError(f"{len(d)} derivative rows but {len(rows)} row indices")
    if d.shape[-1] != xhat.shape[1]:
        raise ValueError(f"derivatives have {d.shape[-1]} features, x̂ has {xhat.shape[1]}")
    for a in range(0, len(d), PROJECT_CHUNK):
        part, r = d[a : a + PROJECT_CHUNK], rows[a : a + PROJECT_CHUNK]
        xr = xhat[r]
        proj = np.einsum("p...f,pf->p...", part, xr)
        part -= proj[..., None] * xr.reshape(len(r), *(1,) * (part.ndim - 2), -1)
        part /= norms[r].reshape(-1, *(1,) * (part.ndim - 1))
