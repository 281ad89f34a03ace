"""The one contraction p_l = (X_l W1_l)^T (X_l W2_l), packed, and its gradients (DESIGN §2-3).

Every compression is a :class:`~slimsoap.channels.ChannelMap`; this module never looks at
which one. Packing stores, per l, the entries ``p_l[rows, cols] * scale`` of the block.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .channels import ChannelMap


class Contraction:
    """Contracts coefficients c (n, S, N, (L+1)²) into packed descriptors with a ChannelMap.

    N here is ``maps.n_radial`` (the element basis, plus a second basis for ``nu1mustar1``).
    """

    def __init__(self, maps: ChannelMap, n_species: int, n_max: int, l_max: int):
        if n_max != maps.n_radial:
            raise ValueError(f"channel maps act on {maps.n_radial} radial functions, not {n_max}")
        self.maps = maps
        self.S, self.N, self.L = n_species, n_max, l_max
        self.starts = np.concatenate([[0], np.cumsum([b.size for b in maps.blocks])])
        self.n_features = int(self.starts[-1])
        self._lookup = [None] * (l_max + 1)  # per l: (K1, K2) packed column or -1, for sparse
        # per l: flat index rows·K2 + cols of the stored entries, and their scale (None: all 1)
        self._flat = []
        for b in maps.blocks:
            scale = None if np.all(b.scale == 1.0) else b.scale
            self._flat.append((b.rows * b.widths()[1] + b.cols, scale))

    def _x(self, c: np.ndarray, l: int) -> np.ndarray:
        """X_l^T as (n, S·N, 2l+1)."""
        return c[..., l * l : (l + 1) ** 2].reshape(c.shape[0], self.S * self.N, 2 * l + 1)

    def _pack(self, p: np.ndarray, l: int) -> np.ndarray:
        """Stored entries of p (..., K1, K2) of l, as (..., n_entries)."""
        flat, scale = self._flat[l]
        out = np.take(p.reshape(*p.shape[:-2], -1), flat, axis=-1)
        if scale is not None:
            out *= scale
        return out

    @staticmethod
    def _project(w: np.ndarray | None, xt: np.ndarray) -> np.ndarray:
        """(X W)^T as (..., K, 2l+1) from X^T (..., C, 2l+1)."""
        return xt if w is None else np.matmul(w.T, xt)

    def blocks_full(self, c: np.ndarray) -> list[np.ndarray]:
        """Unpacked p_l (n, K1_l, K2_l) for every l (for checks and recovery)."""
        out = []
        for l, block in enumerate(self.maps.blocks):
            xt = self._x(c, l)
            y1 = self._project(block.w1, xt)
            y2 = y1 if block.symmetric else self._project(block.w2, xt)
            out.append(np.matmul(y1, y2.transpose(0, 2, 1)))
        return out

    def values(self, c: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Packed descriptors (n, n_features) of coefficients c (n, S, N, (L+1)²)."""
        out = np.empty((c.shape[0], self.n_features), dtype=dtype)
        for l, p in enumerate(self.blocks_full(c)):
            out[:, self.starts[l] : self.starts[l + 1]] = self._pack(p, l)
        return out

    def sparse_values(self, c: np.ndarray, dtype=np.float64) -> sp.csr_matrix:
        """Packed descriptors as CSR (n, n_features), never forming a dense row.

        Environments are grouped by the species present (non-zero coefficient blocks). Per
        group and l, X_l keeps only the present species' columns and each map only its rows
        for them, and the channels it can reach; the small block is contracted and its
        entries scattered to their global packed columns. Work and memory per environment
        scale with the species present, not with S.
        """
        n = c.shape[0]
        present = np.any(c != 0, axis=(2, 3))  # (n, S)
        keys, inverse = np.unique(present, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        rows_out, cols_out, data_out = [], [], []
        radial = np.arange(self.N)
        for g, key in enumerate(keys):
            members = np.flatnonzero(inverse == g)
            species = np.flatnonzero(key)
            if len(species) == 0:
                continue
            xcols = (species[:, None] * self.N + radial[None, :]).ravel()
            cg = c[members][:, species]  # (n_g, S_env, N, (L+1)²)
            gcols, gdata = [], []
            for l, block in enumerate(self.maps.blocks):
                xt = cg[..., l * l : (l + 1) ** 2].reshape(len(members), len(xcols), 2 * l + 1)
                a1, w1 = _restrict(block.w1, xcols)
                y1 = self._project(w1, xt)
                if block.symmetric:
                    a2, y2 = a1, y1
                else:
                    a2, w2 = _restrict(block.w2, xcols)
                    y2 = self._project(w2, xt)
                index, scale = self._lookup_table(l)
                sub = index[np.ix_(a1, a2)]
                keep = sub >= 0
                p = np.matmul(y1, y2.transpose(0, 2, 1))
                gcols.append(sub[keep])
                gdata.append(p[:, keep] * scale[np.ix_(a1, a2)][keep])
            cols = np.concatenate(gcols)
            rows_out.append(np.repeat(members, len(cols)))
            cols_out.append(np.tile(cols, len(members)))
            data_out.append(np.concatenate(gdata, axis=1).astype(dtype).ravel())
        if not rows_out:
            return sp.csr_matrix((n, self.n_features), dtype=dtype)
        out = sp.coo_matrix(
            (np.concatenate(data_out), (np.concatenate(rows_out), np.concatenate(cols_out))),
            shape=(n, self.n_features),
        ).tocsr()
        out.sort_indices()
        return out

    def _lookup_table(self, l: int) -> tuple[np.ndarray, np.ndarray]:
        """(K1, K2) global packed column of each block entry (-1: not stored) and scale."""
        if self._lookup[l] is None:
            block = self.maps.blocks[l]
            k1, k2 = block.widths()
            index = np.full((k1, k2), -1, dtype=np.int64)
            scale = np.zeros((k1, k2))
            index[block.rows, block.cols] = self.starts[l] + np.arange(block.size)
            scale[block.rows, block.cols] = block.scale
            self._lookup[l] = (index, scale)
        return self._lookup[l]

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
        for l, block in enumerate(self.maps.blocks):
            xt = self._x(c_centre, l)
            w1, w2 = block.w1, block.w2
            y1 = self._project(w1, xt)  # (P, K1, 2l+1)
            y2 = y1 if block.symmetric else self._project(w2, xt)
            d = dc[..., l * l : (l + 1) ** 2]  # (P, 3, N, 2l+1)
            a_ = np.matmul(d, y2[:, None].transpose(0, 1, 3, 2))  # (P, 3, N, K2)
            m1 = self._spread(w1, a_, rows, y1.shape[1], left=True)
            if block.symmetric:
                dp = m1 + m1.transpose(0, 1, 3, 2)
            else:
                b_ = np.matmul(y1[:, None], d.transpose(0, 1, 3, 2))  # (P, 3, K1, N)
                dp = m1 + self._spread(w2, b_, rows, y2.shape[1], left=False)
            out[:, :, self.starts[l] : self.starts[l + 1]] = self._pack(dp, l)
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


def _restrict(w: np.ndarray | None, xcols: np.ndarray):
    """Channels reachable from the columns ``xcols`` of X, and the map restricted to them."""
    if w is None:
        return xcols, None
    wr = w[xcols]
    active = np.flatnonzero(np.any(wr != 0, axis=0))
    return active, wr[:, active]
