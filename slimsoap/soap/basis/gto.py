"""DScribe's GTO radial basis, with closed-form radial integrals: Löwdin-orthonormalised to
≤ 1e-8 (``"gto"``), or built exactly as DScribe builds it (``"gto_dscribe"``)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import gamma

from slimsoap.soap.basis.base import RadialBasis

#: Largest deviation from orthonormality, max |⟨g_n, g_m⟩ − δ_nm|, accepted for a basis.
ORTHONORMAL_TOL = 1e-8


def _quadrature_samples(alpha: np.ndarray, l: int) -> np.ndarray:
    """(Q, N) primitives √h r_q^{l+1} exp(-α_k r_q²) on an exact quadrature of [0, ∞).

    The r²-weighted overlap integrands r^{2l+2} exp(-(α_k + α_j) r²) are even in r, so the
    trapezoidal rule on [0, ∞) converges exponentially: with step h = π / √(120 α_max) its
    error is ~e^{-60}, and the grid runs to r = √(60 / α_min). Then S = AᵀA for these
    samples A, and ⟨g_n, g_m⟩ = (Aβᵀ)ᵀ(Aβᵀ) for g = β φ.
    """
    h = np.pi / np.sqrt(120.0 * alpha.max())
    r = np.arange(1, int(np.ceil(np.sqrt(60.0 / alpha.min()) / h)) + 1) * h
    return np.sqrt(h) * r[:, None] ** (l + 1) * np.exp(-alpha[None, :] * r[:, None] ** 2)


def _orthonormality_error(samples: np.ndarray, beta: np.ndarray) -> float:
    """max |⟨g_n, g_m⟩ − δ_nm| of g = β φ, on the quadrature of :func:`_quadrature_samples`."""
    g = samples @ beta.T
    return float(np.abs(g.T @ g - np.eye(len(beta))).max())


def _overlap(alpha: np.ndarray, l: int) -> np.ndarray:
    """(N, N) closed-form overlap S_kj = ∫ r^{2l+2} e^{-(α_k+α_j) r²} dr, as DScribe forms it."""
    m = np.zeros((alpha.shape[0], alpha.shape[0]))
    m[:, :] = alpha
    m = m + m.transpose()
    return 0.5 * gamma(l + 3.0 / 2.0) * m ** (-l - 3.0 / 2.0)


def _lowdin_by_quadrature(alphas: np.ndarray) -> np.ndarray:
    """β^l = S_l^{-1/2} (L+1, N, N) from the SVD of the primitives on a quadrature grid.

    With the samples A_qk of :func:`_quadrature_samples` = U Σ Vᵀ (so S = AᵀA = V Σ² Vᵀ),
    β = V Σ⁻¹ Vᵀ: the singular values carry ε·σ_max absolute error, i.e. ε·√cond(S) relative
    at the small end, not ε·cond(S) as the eigenvalues of S would. The orthonormality
    reached is measured on the same quadrature, and a basis that misses
    :data:`ORTHONORMAL_TOL` is refused with the accuracy it reached.
    """
    betas = np.empty((alphas.shape[0], alphas.shape[1], alphas.shape[1]))
    for l, alpha in enumerate(alphas):
        samples = _quadrature_samples(alpha, l)
        _, s, vt = np.linalg.svd(samples, full_matrices=False)
        betas[l] = (vt.T / s) @ vt
        error = _orthonormality_error(samples, betas[l])
        if not error <= ORTHONORMAL_TOL:
            raise ValueError(
                f"GTO basis cannot be orthonormalised at n_max={len(alpha)}, l={l}: the best "
                f"construction is orthonormal only to {error:.1e} (needs ≤ {ORTHONORMAL_TOL:g}, "
                f"overlap condition number {(s[0] / s[-1]) ** 2:.1e}); lower n_max or raise r_cut"
            )
    return betas


class GTOBasis(RadialBasis):
    """DScribe's GTO basis: g_nl = Σ_k β^l_nk r^l exp(-α_kl r²), Löwdin-orthonormalised.

    α_kl = -ln(10⁻³ / a_k^l) / a_k², a_k = linspace(1, r_cut, N): each primitive decays to
    10⁻³ at a_k. β^l = S_l^{-1/2}, with S_l the r²-weighted overlap of the primitives, from
    the eigen-decomposition of S_l, which is orthonormal only to ~ε·cond(S_l). When that
    misses 10⁻⁸ at some l (measured on an exact quadrature: e.g. 1.9e-6 at N = 10, r_cut
    = 5 Å, where DScribe's ``sqrtm(inv(S))`` reaches 2.4e-8), or S_l is numerically singular
    (N = 12 at r_cut = 5 Å), every β^l comes instead from the singular value decomposition of
    the primitives sampled on that quadrature (:func:`_lowdin_by_quadrature`), orthonormal
    to ~ε·√cond(S_l), and the basis is refused only when that exceeds 10⁻⁸.
    ``orthonormality_error`` is the accuracy reached.

    The radial integral has a closed form (no Bessel functions):
        ∫_0^∞ s^{l+2} e^{-a s²} i_l(b s) ds = √π b^l / (2^{l+2} a^{l+3/2}) · e^{b²/4a},
    so with a_k = α_kl + 1/2σ² and b = r/σ²,
        I_nl(r) = 4π Σ_k β^l_nk √π (r/σ²)^l / (2^{l+2} a_k^{l+3/2}) · exp(-α_kl r² / (2σ² a_k)).
    """

    name = "gto"

    def __init__(self, n_max: int, l_max: int, r_cut: float, sigma: float):
        super().__init__(n_max, l_max, r_cut, sigma)
        a = np.linspace(1.0, self.r_cut, self.n_max)
        L, N = self.l_max, self.n_max
        self.alphas = np.empty((L + 1, N))
        for l in range(L + 1):
            alpha = -np.log(1e-3 / a**l) / a**2
            if np.any(alpha <= 0):
                raise ValueError(
                    f"GTO basis: r_cut={self.r_cut} Å gives non-decaying primitives at l={l}; "
                    "use r_cut ≥ 1.5 Å or a smaller l_max"
                )
            self.alphas[l] = alpha
        self.betas = self._orthonormalise()
        #: max over l of |⟨g_n, g_m⟩ − δ_nm|, measured on an exact quadrature.
        self.orthonormality_error = max(
            _orthonormality_error(_quadrature_samples(self.alphas[l], l), self.betas[l])
            for l in range(L + 1)
        )
        inv2s2 = 0.5 / self.sigma**2
        self._a = self.alphas + inv2s2  # (L+1, N)
        self._gamma = self.alphas * inv2s2 / self._a
        ls = np.arange(L + 1)[:, None]
        pref = 4.0 * np.pi * np.sqrt(np.pi) / (2.0 ** (ls + 2) * self._a ** (ls + 1.5))
        self._pref = pref * self.sigma ** (-2.0 * ls)

    def _orthonormalise(self) -> np.ndarray:
        """β (L+1, N, N): S_l^{-1/2} by eigen-decomposition while that is orthonormal to
        :data:`ORTHONORMAL_TOL`, else by quadrature SVD for every l (class docstring)."""
        L, N = self.l_max, self.n_max
        betas = np.empty((L + 1, N, N))
        for l in range(L + 1):
            w, v = np.linalg.eigh(_overlap(self.alphas[l], l))
            if w.min() <= 1e-12 * w.max():
                return _lowdin_by_quadrature(self.alphas)
            betas[l] = (v / np.sqrt(w)) @ v.T
            samples = _quadrature_samples(self.alphas[l], l)
            if not _orthonormality_error(samples, betas[l]) <= ORTHONORMAL_TOL:
                return _lowdin_by_quadrature(self.alphas)
        return betas

    def integrals_exact(self, r: np.ndarray, order: int = 1) -> list[np.ndarray]:
        r = np.asarray(r, dtype=np.float64)[:, None, None]
        ls = np.arange(self.l_max + 1)[None, :, None]
        g = self._gamma[None]
        e = self._pref[None] * np.exp(-g * r * r)
        # r^(l-k) for k = 0, 1, 2, zero where l < k (the derivative of a lower power)
        rl = [np.where(ls >= k, r ** np.maximum(ls - k, 0), 0.0) for k in range(3)]
        prims = [e * rl[0]]
        if order >= 1:
            prims.append(e * (ls * rl[1] - 2.0 * g * r * rl[0]))
        if order >= 2:
            prims.append(
                e
                * (
                    ls * (ls - 1) * rl[2]
                    - 2.0 * g * (2 * ls + 1) * rl[0]
                    + 4.0 * g * g * r * r * rl[0]
                )
            )
        return [np.einsum("plk,lnk->pln", q, self.betas) for q in prims]

    def projection(self) -> np.ndarray:
        ls = np.arange(self.l_max + 1)[:, None]
        prim = gamma((ls + 3) / 2.0) / (2.0 * self.alphas ** ((ls + 3) / 2.0))
        return np.einsum("lk,lnk->ln", prim, self.betas)

    def functions(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, dtype=np.float64)[:, None, None]
        ls = np.arange(self.l_max + 1)[None, :, None]
        prim = r**ls * np.exp(-self.alphas[None] * r * r)
        return np.einsum("plk,lnk->pln", prim, self.betas)


class DScribeGTOBasis(GTOBasis):
    """DScribe's GTO basis built exactly as DScribe builds it (``radial_basis="gto_dscribe"``).

    The same primitives as :class:`GTOBasis`, with β^l = ``scipy.linalg.sqrtm(inv(S_l))``
    in double precision (``dscribe.descriptors.SOAP.get_basis_gto``), so that slimsoap's
    numbers are DScribe's where DScribe's own basis is not orthonormal. That happens at
    large n_max: at N = 12, L = 9 this basis is orthonormal only to 6.5e-6 (r_cut 5 Å) and
    1.9e-6 (6 Å), while :class:`GTOBasis` reaches ≤ 1e-10; against a 60-digit Löwdin basis
    (``tests/ecosystem/test_gto_nmax12.py``) DScribe's normalised kernel is off by 4.5e-6
    at r_cut 5 Å and ``"gto"``'s by 1e-11. Use ``"gto"`` unless DScribe's exact numbers are
    the point; a warning names the orthonormality reached when it misses
    :data:`ORTHONORMAL_TOL`. Refused, as by DScribe, when S_l^{-1/2} is not real.
    """

    name = "gto_dscribe"

    def __init__(self, n_max: int, l_max: int, r_cut: float, sigma: float):
        super().__init__(n_max, l_max, r_cut, sigma)
        if self.orthonormality_error > ORTHONORMAL_TOL:
            warnings.warn(
                f"radial_basis='gto_dscribe' (DScribe's construction) is orthonormal only to "
                f"{self.orthonormality_error:.1e} at n_max={self.n_max}, r_cut={self.r_cut:g}; "
                f"radial_basis='gto' is orthonormal to ≤ {ORTHONORMAL_TOL:g}",
                stacklevel=4,  # the SOAP(...) call: SOAP → make_basis → here
            )

    def _orthonormalise(self) -> np.ndarray:
        """β^l = sqrtm(inv(S_l)) per l, DScribe's expression (S_l formed as DScribe does)."""
        from scipy.linalg import inv, sqrtm

        betas = np.empty((self.l_max + 1, self.n_max, self.n_max))
        for l in range(self.l_max + 1):
            beta = sqrtm(inv(_overlap(self.alphas[l], l)))
            if np.iscomplexobj(beta):
                raise ValueError(
                    f"radial_basis='gto_dscribe': S^(-1/2) of the overlap at n_max={self.n_max}, "
                    f"l={l}, r_cut={self.r_cut:g} is not real in double precision (DScribe "
                    "refuses it too); use radial_basis='gto', lower n_max or raise r_cut"
                )
            betas[l] = beta
        return betas
