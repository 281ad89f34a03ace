"""The one contraction p_l = (X_l W1_l)^T (X_l W2_l), packed, and its gradients (DESIGN §2-3).

Every compression is a :class:`~slimsoap.channels.ChannelMap`; this module never looks at
which one. Packing stores, per l, the entries ``p_l[rows, cols] * scale`` of the block.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._kernels.soap import block_gradients, packed_entries
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
        self._touched = [_touched_entries(b, n_species, n_max) for b in maps.blocks]

    def _x(self, c: np.ndarray, l: int) -> np.ndarray:
        """X_l^T as (n, S·N, 2l+1)."""
        return c[..., l * l : (l + 1) ** 2].reshape(c.shape[0], self.S * self.N, 2 * l + 1)

    @staticmethod
    def _project(w: np.ndarray | None, xt: np.ndarray) -> np.ndarray:
        """(X W)^T as (..., K, 2l+1) from X^T (..., C, 2l+1)."""
        return xt if w is None else np.matmul(w.T, xt)

    def _projected(self, c: np.ndarray, l: int) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous (X_l W1)^T, (X_l W2)^T of every centre, (n, K1, 2l+1), (n, K2, 2l+1)."""
        block = self.maps.blocks[l]
        xt = self._x(c, l)
        y1 = np.ascontiguousarray(self._project(block.w1, xt))
        y2 = y1 if block.symmetric else np.ascontiguousarray(self._project(block.w2, xt))
        return y1, y2

    def values(self, c: np.ndarray, dtype=np.float64, out: np.ndarray | None = None) -> np.ndarray:
        """Packed descriptors (n, n_features) of coefficients c (n, S, N, (L+1)²).

        Written into ``out`` (n, n_features) when given, else into a new array.
        """
        if out is None:
            out = np.empty((c.shape[0], self.n_features), dtype=dtype)
        for l, block in enumerate(self.maps.blocks):
            y1, y2 = self._projected(c, l)
            packed_entries(y1, y2, block.rows, block.cols, block.scale, out, int(self.starts[l]))
        return out

    def sparse_values(
        self, parts: list[tuple[np.ndarray, np.ndarray]], dtype=np.float64
    ) -> sp.csr_matrix:
        """Packed descriptors of the rows of ``parts`` as CSR, never forming a dense row.

        Args:
            parts: (c, slot_species) per frame: coefficients (n_f, S_f, N, (L+1)²) over
                the S_f species channels ``slot_species`` (ascending species indices), e.g.
                only the species present in the frame.

        Environments are grouped by the species present (non-zero coefficient blocks). Per
        group and l, X_l keeps only the present species' columns and each map only its rows
        for them, and the channels it can reach; the small block is contracted and its
        entries scattered to their global packed columns. Work and memory per environment
        scale with the species present, not with S.
        """
        present = []
        for c, slots in parts:
            key = np.zeros((len(c), self.S), dtype=bool)
            key[:, slots] = np.any(c != 0, axis=(2, 3))
            present.append(key)
        present = np.concatenate(present)
        n = len(present)
        bounds = np.cumsum([0] + [len(c) for c, _ in parts])
        keys, inverse = np.unique(present, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        rows_out, cols_out, data_out = [], [], []
        for g, key in enumerate(keys):
            members = np.flatnonzero(inverse == g)
            species = tuple(np.flatnonzero(key).tolist())
            if len(species) == 0:
                continue
            pieces = []
            for k, (c, slots) in enumerate(parts):
                rows = members[(members >= bounds[k]) & (members < bounds[k + 1])] - bounds[k]
                if len(rows):
                    pieces.append(c[rows][:, np.searchsorted(slots, species)])
            cg = np.concatenate(pieces)  # (n_g, S_env, N, (L+1)²)
            gdata = []
            plan = self._plan(species)
            for l, (w1, w2, keep, scale) in enumerate(plan.blocks):
                xt = cg[..., l * l : (l + 1) ** 2].reshape(len(members), -1, 2 * l + 1)
                y1 = self._project(w1, xt)
                y2 = y1 if w2 is _SAME else self._project(w2, xt)
                p = np.matmul(y1, y2.transpose(0, 2, 1))
                gdata.append(p[:, keep] * scale)
            cols = plan.cols
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

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one cache per calculator is intended)
    def _plan(self, species: tuple[int, ...]) -> _SparsePlan:
        """Restricted maps and global columns for environments holding ``species``."""
        radial = np.arange(self.N)
        xcols = (np.array(species)[:, None] * self.N + radial[None, :]).ravel()
        blocks, cols = [], []
        for l, block in enumerate(self.maps.blocks):
            a1, w1 = _restrict(block.w1, xcols)
            if block.symmetric:
                a2, w2 = a1, _SAME
            else:
                a2, w2 = _restrict(block.w2, xcols)
            index, scale = self._lookup_table(l)
            sub = index[np.ix_(a1, a2)]
            keep = sub >= 0
            blocks.append((w1, w2, keep, scale[np.ix_(a1, a2)][keep]))
            cols.append(sub[keep])
        return _SparsePlan(blocks, np.concatenate(cols))

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

    def add_gradients(
        self,
        c: np.ndarray,
        dc: np.ndarray,
        offsets: np.ndarray,
        pair_species: np.ndarray,
        pair_out: np.ndarray,
        centre_out: np.ndarray,
        out: np.ndarray,
        vectors: np.ndarray,
        strain: np.ndarray,
    ) -> None:
        """Add ∂p_i/∂r_j of every pair to ``out`` (and -∂p_i/∂r_j to the centre's entry).

        Args:
            c: (n, S, N, (L+1)²) coefficients of every centre of the frame.
            dc: (P, 3, N, (L+1)²) gradient of the neighbour's species block of c.
            offsets: (n+1,) pairs of centre i are offsets[i]:offsets[i+1].
            pair_species: (P,) species channel of each pair's neighbour.
            pair_out, centre_out: (P,), (n,) entry of ``out`` for each pair / centre.
            out: (n_entries, 3, n_features), zero-initialised; accumulated in place.
            vectors: (P, 3) r_ij of every pair (Å).
            strain: (n, 3, 3, n_features) receives Σ_j r_ij ⊗ ∂p_i/∂r_j (or an empty array
                to skip strain gradients).

        Uses dp_l = W1_β^T A + B W2_β with A = dX_β^T Y2, B = Y1^T dX_β (dX_β: the
        neighbour's N columns), so the work per pair follows N, not S·N.
        """
        dummy = np.zeros((1, 1))
        for l, block in enumerate(self.maps.blocks):
            y1, y2 = self._projected(c, l)
            block_gradients(
                vectors,
                strain,
                offsets,
                pair_out,
                centre_out,
                pair_species,
                dc,
                l,
                y1,
                y2,
                dummy if block.w1 is None else np.ascontiguousarray(block.w1),
                block.w1 is None,
                dummy if block.w2 is None else np.ascontiguousarray(block.w2),
                block.w2 is None,
                block.symmetric,
                block.rows,
                block.cols,
                block.scale,
                *self._touched[l],
                out,
                int(self.starts[l]),
            )


def _touched_entries(block, n_species: int, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Stored entries a neighbour of each species can change, as CSR over species.

    Moving a neighbour of species β changes only X's columns of β, so through an identity
    map only the channels of β; a projected map (W ≠ I) can spread it to every channel.
    Returns (ptr (S+1,), idx): entries of β are idx[ptr[β]:ptr[β+1]], ascending.
    """
    lists = []
    for beta in range(n_species):
        rows_hit = block.w1 is not None or block.rows // n_max == beta
        cols_hit = block.w2 is not None or block.cols // n_max == beta
        lists.append(np.flatnonzero(np.broadcast_to(rows_hit | cols_hit, block.rows.shape)))
    ptr = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
    return ptr, np.concatenate(lists).astype(np.int64)


#: Marks a symmetric block's second map as the first one.
_SAME = object()


@dataclass
class _SparsePlan:
    """Per-l (W1 and W2 restricted to the present species' rows and reachable channels,
    mask of the stored entries of the small block, their scale) and the global packed
    column of every stored entry, for one set of present species."""

    blocks: list
    cols: np.ndarray


def _restrict(w: np.ndarray | None, xcols: np.ndarray):
    """Channels reachable from the columns ``xcols`` of X, and the map restricted to them."""
    if w is None:
        return xcols, None
    wr = w[xcols]
    active = np.flatnonzero(np.any(wr != 0, axis=0))
    return active, wr[:, active]
