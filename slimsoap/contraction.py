"""The one contraction p_l = (X_l W1_l)^T (X_l W2_l), packed, and its gradients (DESIGN §2-3).

Packing: a symmetric block stores its upper triangle (diagonal included) with off-diagonal
entries multiplied by √2; a non-symmetric block is stored whole (row-major). The dot
product of two packed vectors is then Σ_l Σ_ab p_l[a,b] p'_l[a,b].
"""

from __future__ import annotations

import numpy as np

from .channels import ChannelMap, block_length


class Contraction:
    """Contracts coefficients c (n, S, N, (L+1)²) into packed descriptors with a ChannelMap."""

    def __init__(self, maps: ChannelMap, n_species: int, n_max: int, l_max: int):
        self.maps = maps
        self.S, self.N, self.L = n_species, n_max, l_max
        self.blocks = []  # per l: (start, stop, triu rows, triu cols, scale)
        start = 0
        for l in range(l_max + 1):
            k1, k2 = maps.widths(l)
            size = block_length(k1, k2, maps.symmetric)
            if maps.symmetric:
                iu = np.triu_indices(k1)
                scale = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
            else:
                iu, scale = None, None
            self.blocks.append((start, start + size, iu, scale))
            start += size
        self.n_features = start

    def _x(self, c: np.ndarray, l: int) -> np.ndarray:
        """X_l^T as (n, S·N, 2l+1)."""
        return c[..., l * l : (l + 1) ** 2].reshape(c.shape[0], self.S * self.N, 2 * l + 1)

    def _pack(self, p: np.ndarray, l: int) -> np.ndarray:
        _, _, iu, scale = self.blocks[l]
        if iu is None:
            return p.reshape(*p.shape[:-2], -1)
        return p[..., iu[0], iu[1]] * scale

    def _project(self, w: np.ndarray | None, xt: np.ndarray) -> np.ndarray:
        """(X W)^T as (..., K, 2l+1) from X^T (..., S·N, 2l+1)."""
        return xt if w is None else np.matmul(w.T, xt)

    def values(self, c: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Packed descriptors (n, n_features) of coefficients c (n, S, N, (L+1)²)."""
        out = np.empty((c.shape[0], self.n_features), dtype=dtype)
        for l in range(self.L + 1):
            xt = self._x(c, l)
            y1 = self._project(self.maps.w1[l], xt)
            y2 = y1 if self.maps.symmetric else self._project(self.maps.w2[l], xt)
            p = np.matmul(y1, y2.transpose(0, 2, 1))
            a, b, _, _ = self.blocks[l]
            out[:, a:b] = self._pack(p, l)
        return out

    def pair_gradients(
        self, c_centre: np.ndarray, dc: np.ndarray, pair_species: np.ndarray, dtype=np.float64
    ) -> np.ndarray:
        """∂p/∂r_j for pairs: (P, 3, n_features).

        Args:
            c_centre: (P, S, N, (L+1)²) coefficients of each pair's centre.
            dc: (P, 3, N, (L+1)²) gradient of the neighbour's species block of c.
            pair_species: (P,) species channel of each pair's neighbour.

        Uses dp_l = W1_β^T A + B W2_β with A = dX_β^T Y2, B = Y1^T dX_β (dX_β: the
        neighbour's N columns), so the work per pair follows N, not S·N.
        """
        P, N = dc.shape[0], self.N
        out = np.zeros((P, 3, self.n_features), dtype=dtype)
        rows = pair_species[:, None] * N + np.arange(N)[None, :]  # (P, N) columns of X
        for l in range(self.L + 1):
            xt = self._x(c_centre, l)
            w1, w2 = self.maps.w1[l], self.maps.w2[l]
            y1 = self._project(w1, xt)  # (P, K1, 2l+1)
            y2 = y1 if self.maps.symmetric else self._project(w2, xt)
            d = dc[..., l * l : (l + 1) ** 2]  # (P, 3, N, 2l+1)
            a_ = np.matmul(d, y2[:, None].transpose(0, 1, 3, 2))  # (P, 3, N, K2)
            m1 = self._spread(w1, a_, rows, y1.shape[1], left=True)
            if self.maps.symmetric:
                dp = m1 + m1.transpose(0, 1, 3, 2)
            else:
                b_ = np.matmul(y1[:, None], d.transpose(0, 1, 3, 2))  # (P, 3, K1, N)
                dp = m1 + self._spread(w2, b_, rows, y2.shape[1], left=False)
            a, b, _, _ = self.blocks[l]
            out[:, :, a:b] = self._pack(dp, l)
        return out

    @staticmethod
    def _spread(w, m, rows, k, left):
        """W_β^T m (left) or m W_β (right), where W_β are the rows of W for the pair's block."""
        P = m.shape[0]
        if w is None:
            if left:
                full = np.zeros((P, 3, k, m.shape[3]))
                full[np.arange(P)[:, None], :, rows] = m.transpose(0, 2, 1, 3)
            else:
                full = np.zeros((P, 3, m.shape[2], k))
                full[np.arange(P)[:, None], :, :, rows] = m.transpose(0, 3, 1, 2)
            return full
        wb = w[rows]  # (P, N, K)
        if left:
            return np.matmul(wb.transpose(0, 2, 1)[:, None], m)
        return np.matmul(m, wb[:, None])
