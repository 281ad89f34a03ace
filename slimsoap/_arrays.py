"""Array conversions shared by the analyses and the models."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def dense(a: np.ndarray | sp.spmatrix | sp.sparray, dtype: np.dtype | None = None) -> np.ndarray:
    """``a`` as a NumPy array (scipy sparse matrices and arrays densified), same shape;
    converted to ``dtype`` when given."""
    return np.asarray(a.toarray() if sp.issparse(a) else a, dtype=dtype)
