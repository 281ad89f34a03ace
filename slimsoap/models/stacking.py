"""Stacking: the convex combination of several models' cross-validated predictions that
cross-validates best (Breiman, *Stacked regressions*, Mach. Learn. 24, 49 (1996); the
"super learner" of van der Laan, Polley & Hubbard 2007).

Given the held-out residuals R (n, k) of k models on the same folds (here per atom, eV/atom),
the weights w (k,) with w ≥ 0 and Σ w = 1 minimise the mean |R w| (``"mae"``: a linear
programme) or the root mean (R w)² (``"rmse"``: a quadratic programme solved exactly over
the supports). Every single model is a vertex of that simplex, so the combination's held-out
error is never above the best model's.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

#: Most models a stack combines (the RMSE solution enumerates the 2^k − 1 supports).
MAX_MEMBERS = 12


def stack_score(residuals: np.ndarray, w: np.ndarray, metric: str) -> float:
    """Held-out error (``"mae"`` or ``"rmse"``, eV/atom) of the blend ``w`` (k,) of the
    entries' per-atom residuals (n, k)."""
    r = residuals @ w
    return float(np.mean(np.abs(r)) if metric == "mae" else np.sqrt(np.mean(r**2)))


def _mae_weights(residuals: np.ndarray) -> np.ndarray | None:
    """LP: min Σ t_i / n over (w, t), −t ≤ R w ≤ t, w ≥ 0, Σ w = 1 (None if it fails)."""
    n, k = residuals.shape
    R, eye = sp.csr_matrix(residuals), sp.identity(n, format="csr")
    a_ub = sp.vstack([sp.hstack([R, -eye]), sp.hstack([-R, -eye])], format="csr")
    a_eq = np.concatenate([np.ones(k), np.zeros(n)])[None]
    cost = np.concatenate([np.zeros(k), np.full(n, 1.0 / n)])
    res = linprog(cost, A_ub=a_ub, b_ub=np.zeros(2 * n), A_eq=a_eq, b_eq=[1.0],
                  bounds=(0, None), method="highs")  # fmt: skip
    if res.status != 0:
        return None
    w = np.clip(res.x[:k], 0.0, None)
    return w / w.sum()


def _rmse_weights(residuals: np.ndarray) -> np.ndarray:
    """QP min wᵀGw (G = RᵀR / n) on the simplex: on each support S the stationary point is
    w_S ∝ G_S⁻¹ 1; the best feasible one over all supports is the optimum."""
    n, k = residuals.shape
    G = residuals.T @ residuals / n
    best, best_value = None, np.inf
    for size in range(1, k + 1):
        for support in combinations(range(k), size):
            idx = list(support)
            try:
                v = np.linalg.solve(G[np.ix_(idx, idx)], np.ones(size))
            except np.linalg.LinAlgError:
                continue
            if not np.isfinite(v).all() or v.sum() <= 0 or np.any(v < 0):
                continue
            w = np.zeros(k)
            w[idx] = v / v.sum()
            value = float(w @ G @ w)
            if value < best_value:
                best, best_value = w, value
    return best


def stack_weights(residuals: np.ndarray, metric: str = "mae") -> np.ndarray:
    """Convex weights (k,) of k models from their held-out residuals ``residuals`` (n, k).

    ``metric``: ``"mae"`` or ``"rmse"``, the held-out error the weights minimise. The result
    scores at most the best single model (a vertex); ties keep the single model.
    """
    R = np.asarray(residuals, dtype=np.float64)
    if R.ndim != 2 or R.shape[0] == 0 or R.shape[1] == 0:
        raise ValueError(f"residuals must be (n_held_out, n_models), got shape {R.shape}")
    if R.shape[1] > MAX_MEMBERS:
        raise ValueError(f"a stack combines at most {MAX_MEMBERS} models, got {R.shape[1]}")
    if not np.isfinite(R).all():
        raise ValueError("residuals must be finite")
    if metric not in ("mae", "rmse"):
        raise ValueError(f"metric must be 'mae' or 'rmse', got {metric!r}")
    k = R.shape[1]
    vertex = np.eye(k)[int(np.argmin([stack_score(R, e, metric) for e in np.eye(k)]))]
    w = _mae_weights(R) if metric == "mae" else _rmse_weights(R)
    if w is None or not stack_score(R, w, metric) < stack_score(R, vertex, metric):
        return vertex
    return w
