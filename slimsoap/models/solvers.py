"""Weighted (kernel) ridge solvers for a whole grid of noise levels at once.

Both solve, for structures with atom counts n, energies E and element counts C,

    min_{w, μ}  |N⁻¹(E − Z w − C μ)|² / σ² + |w|²,      N = diag(n),

with the chemical potentials μ unpenalised (omit C to fit the local part alone). μ is
profiled out by projecting on the orthogonal complement of N⁻¹C, so one symmetric
eigendecomposition serves every σ.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from slimsoap._arrays import dense

Matrix = np.ndarray | sp.spmatrix | sp.sparray


class _Whitening:
    """Row weights N⁻¹ and the projector on the complement of N⁻¹C."""

    def __init__(self, n_atoms: np.ndarray, C: np.ndarray | None):
        self.winv = 1.0 / np.asarray(n_atoms, dtype=np.float64)
        if C is None:
            self.Cw, self.Q = None, np.zeros((len(self.winv), 0))
            return
        self.Cw = self.winv[:, None] * C
        u, s, _ = np.linalg.svd(self.Cw, full_matrices=False)
        self.Q = u[:, s > 1e-12 * s.max()] if s.size and s.max() > 0 else u[:, :0]

    def project(self, v: np.ndarray) -> np.ndarray:
        return v - self.Q @ (self.Q.T @ v)

    def mu(self, residual_w: np.ndarray) -> np.ndarray | None:
        """Least-squares μ (n_elements, k) of whitened residuals (n, k)."""
        if self.Cw is None:
            return None
        return np.linalg.lstsq(self.Cw, residual_w, rcond=None)[0]


def _scale(d: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    return 1.0 / (np.maximum(d, 0.0)[:, None] + np.asarray(sigmas, dtype=float)[None] ** 2)


class KernelRidge:
    """Dual solution: local part K β with β = N⁻¹ P⊥ (P⊥N⁻¹KN⁻¹P⊥ + σ²)⁻¹ P⊥ N⁻¹ E."""

    def __init__(
        self, K: np.ndarray, n_atoms: np.ndarray, E: np.ndarray, C: np.ndarray | None = None
    ):
        self.wh = _Whitening(n_atoms, C)
        w = self.wh.winv
        self.K = K
        self.rw = w * E
        Kp = self.wh.project(self.wh.project(w[:, None] * K * w[None, :]).T)
        self.d, self.U = np.linalg.eigh(0.5 * (Kp + Kp.T))
        self.c = self.U.T @ self.wh.project(self.rw)

    def solve_many(self, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """β (n_train, k) and μ (n_elements, k) (or None) for each σ."""
        w = self.wh.winv
        B = w[:, None] * self.wh.project(self.U @ (self.c[:, None] * _scale(self.d, sigmas)))
        return B, self.wh.mu(self.rw[:, None] - w[:, None] * (self.K @ B))

    def predict_many(
        self, K_test: np.ndarray, C_test: np.ndarray | None, sigmas: np.ndarray
    ) -> np.ndarray:
        """(n_test, k) predictions; ``K_test`` is (n_test, n_train)."""
        B, mu = self.solve_many(sigmas)
        out = K_test @ B
        return out if mu is None else out + C_test @ mu


class WeightedRidge:
    """Explicit features Z (n, p), dense or sparse: the primal p × p Gram when p ≤ n, else
    the dual on K = ZZᵀ. Returns w (p,) either way."""

    def __init__(self, Z: Matrix, n_atoms: np.ndarray, E: np.ndarray, C: np.ndarray | None = None):
        self.Z = Z
        self.primal = Z.shape[1] <= Z.shape[0]
        if not self.primal:
            self.dual = KernelRidge(dense(Z @ Z.T), n_atoms, E, C)
            return
        self.wh = _Whitening(n_atoms, C)
        self.Zw = sp.diags(self.wh.winv) @ Z
        self.rw = self.wh.winv * E
        G = dense(self.Zw.T @ self.wh.Q).T  # (e, p)
        H = dense(self.Zw.T @ self.Zw) - G.T @ G
        self.d, self.V = np.linalg.eigh(0.5 * (H + H.T))
        c0 = dense(self.Zw.T @ self.rw).ravel() - G.T @ (self.wh.Q.T @ self.rw)
        self.c = self.V.T @ c0

    def solve_many(self, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """w (p, k) and μ (n_elements, k) (or None) for each σ."""
        if not self.primal:
            B, mu = self.dual.solve_many(sigmas)
            return dense(self.Z.T @ B), mu
        W = self.V @ (self.c[:, None] * _scale(self.d, sigmas))
        return W, self.wh.mu(self.rw[:, None] - dense(self.Zw @ W))

    def predict_many(
        self, Z_test: Matrix, C_test: np.ndarray | None, sigmas: np.ndarray
    ) -> np.ndarray:
        """(n_test, k) predictions Z_test w(σ) (+ C_test μ(σ))."""
        W, mu = self.solve_many(sigmas)
        out = dense(Z_test @ W)
        return out if mu is None else out + C_test @ mu
