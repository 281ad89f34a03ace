"""Weighted (kernel) ridge solvers for a whole grid of noise levels at once.

Both solve, for structures with atom counts n, energies E and element counts C,

    min_{w, μ}  |N⁻¹(E − Z w − C μ)|² / σ² + |w|²,      N = diag(n),

with the chemical potentials μ unpenalised (omit C to fit the local part alone). μ is
profiled out by projecting on the orthogonal complement of N⁻¹C, so one symmetric
eigendecomposition serves every σ.

The same decomposition gives exact leave-one-out predictions (``loo_many``): the fit is a
linear smoother of the whitened energies, ŷ = H(σ) N⁻¹E with H = QQᵀ + Z̃(Z̃ᵀZ̃ + σ²)⁻¹Z̃ᵀ
(Q an orthonormal basis of N⁻¹C, Z̃ the whitened features projected off it), and the
residual of structure i left out of the fit is e_i / (1 − H_ii) (Sherman–Morrison).
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


#: Eigenvalues of a projected kernel at most this × the largest are its null space.
NULL_RTOL = 1e-12
#: Rows of the (rows, p) block of Z̃V formed at a time for the primal leverages.
LEVERAGE_CHUNK = 4096


def _loo_predictions(
    E: np.ndarray, rw: np.ndarray, fitted_w: np.ndarray, leverage: np.ndarray, winv: np.ndarray
) -> np.ndarray:
    """(n, k) leave-one-out predictions of the targets ``E`` (n,) from the whitened targets
    ``rw`` (n,), whitened fitted values ``fitted_w`` (n, k) and leverages H_ii (n, k) of
    row weights ``winv`` (n,)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return E[:, None] - (rw[:, None] - fitted_w) / (1.0 - leverage) / winv[:, None]


class KernelRidge:
    """Dual solution: local part K β with β = N⁻¹ P⊥ (P⊥N⁻¹KN⁻¹P⊥ + σ²)⁻¹ P⊥ N⁻¹ E."""

    def __init__(
        self, K: np.ndarray, n_atoms: np.ndarray, E: np.ndarray, C: np.ndarray | None = None
    ):
        self.wh = _Whitening(n_atoms, C)
        w = self.wh.winv
        self.K = K
        self.E = np.asarray(E, dtype=np.float64)
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

    def loo_many(self, sigmas: np.ndarray) -> np.ndarray:
        """(n_train, k) exact leave-one-out predictions of the targets for each σ. A
        structure that alone fixes an unpenalised coefficient (an element only it has) has
        H_ii = 1 and no such prediction: its entry is meaningless (±inf or NaN where H_ii is
        exactly 1), and callers skip it.

        In the eigenbasis of the projected kernel the whitened residual is
        U diag(σ²/(d+σ²)) c and 1 − H_ii = Σ_j U_ij² σ²/(d_j+σ²) − |Q_i|², both without the
        cancellation of E − Ê near interpolation; the null directions (d ≤
        ``NULL_RTOL`` · max d), which hold span(Q), are summed apart so that their |Q_i|²
        cancels exactly where the kernel has no other null direction.
        """
        d = np.maximum(self.d, 0.0)
        shrink = _scale(d, sigmas) * np.asarray(sigmas, dtype=float)[None] ** 2  # σ²/(d+σ²)
        residual = self.U @ (self.c[:, None] * shrink)
        null = d <= NULL_RTOL * (d.max() if d.size else 0.0)
        extra = np.sum(self.U[:, null] ** 2, axis=1) - np.sum(self.wh.Q**2, axis=1)
        extra[extra < NULL_RTOL] = 0.0
        free = (self.U[:, ~null] ** 2) @ shrink[~null] + extra[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.E[:, None] - residual / free / self.wh.winv[:, None]


class WeightedRidge:
    """Explicit features Z (n, p), dense or sparse: the primal p × p Gram when p ≤ n, else
    the dual on K = ZZᵀ. Returns w (p,) either way."""

    def __init__(self, Z: Matrix, n_atoms: np.ndarray, E: np.ndarray, C: np.ndarray | None = None):
        self.Z = Z
        self.E = np.asarray(E, dtype=np.float64)
        self.primal = Z.shape[1] <= Z.shape[0]
        if not self.primal:
            self.dual = KernelRidge(dense(Z @ Z.T), n_atoms, E, C)
            return
        self.wh = _Whitening(n_atoms, C)
        self.Zw = sp.diags(self.wh.winv) @ Z
        self.rw = self.wh.winv * E
        self.G = G = dense(self.Zw.T @ self.wh.Q).T  # (e, p): QᵀZw
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

    def loo_many(self, sigmas: np.ndarray) -> np.ndarray:
        """(n_train, k) exact leave-one-out predictions of the targets for each σ (see
        :meth:`KernelRidge.loo_many` for structures with H_ii = 1); the leverages take one
        (rows, p) block of Z̃V at a time."""
        if not self.primal:
            return self.dual.loo_many(sigmas)
        W, mu = self.solve_many(sigmas)
        fitted = dense(self.Zw @ W)
        if mu is not None:
            fitted += self.wh.Cw @ mu
        scale = _scale(self.d, sigmas)
        Q = self.wh.Q
        leverage = np.repeat(np.sum(Q**2, axis=1)[:, None], len(sigmas), axis=1)
        for start in range(0, self.Zw.shape[0], LEVERAGE_CHUNK):
            rows = slice(start, start + LEVERAGE_CHUNK)
            Zt = dense(self.Zw[rows]) - Q[rows] @ self.G  # rows of Z̃ = Zw − QQᵀZw
            leverage[rows] += (Zt @ self.V) ** 2 @ scale
        return _loo_predictions(self.E, self.rw, fitted, leverage, self.wh.winv)
