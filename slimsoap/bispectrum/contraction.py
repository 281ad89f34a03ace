"""Tables of the bispectrum contraction and the calls of its kernels.

Features are ordered by block (l1, l2, l3) (lexicographic, :func:`coupled_triples`), then by
channel tuple (a, b, c) lexicographically (:func:`block_entries`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slimsoap._kernels.bispectrum import bispectrum_gradients, bispectrum_values
from slimsoap._runtime.threads import run_in_threads
from slimsoap.bispectrum.compressions import FactorMaps, block_entries, coupled_triples
from slimsoap.bispectrum.coupling import real_coupling
from slimsoap.soap.expansion import Expansion

#: Coupling entries smaller than this are structural zeros of the real CG tensor.
_CG_ZERO = 1e-14


@dataclass
class Contraction:
    """Sparse real-CG tables for one set of maps, l_max and parity.

    Attributes:
        maps: the three factors' maps.
        triples: (n_blocks,) (l1, l2, l3) of the blocks.
        entries: (n_features, 6) int64 (l1, l2, l3, a, b, c) of every column.
        tables: the kernel arrays (see ``slimsoap._kernels.bispectrum``), in kernel order.
        stacked: three (L+1, S·N, K_k) arrays of the maps W_k.
        touched: three (S, K_k) uint8 arrays, 1 where species s has a non-zero row of W_l
            (some l) in channel k: a neighbour of that species can change the channel.
        n_radial: N.
    """

    maps: FactorMaps
    triples: list[tuple[int, int, int]]
    entries: np.ndarray
    tables: tuple[np.ndarray, ...]
    stacked: tuple[np.ndarray, np.ndarray, np.ndarray]
    touched: tuple[np.ndarray, np.ndarray, np.ndarray]
    n_radial: int

    @classmethod
    def build(cls, maps: FactorMaps, n_max: int, l_max: int, parity: str) -> Contraction:
        """Tables of every stored block and entry."""
        triples = coupled_triples(l_max, maps.equal, parity)
        cg_off, cg_lm, cg_val = [0], [], []
        grp_block, grp_a, grp_b, grp_off, ent_c, entries = [], [], [], [0], [], []
        for t, (l1, l2, l3) in enumerate(triples):
            g = real_coupling(l1, l2, l3)
            nz = np.argwhere(np.abs(g) > _CG_ZERO)
            cg_lm.append(nz + np.array([l1 * l1, l2 * l2, l3 * l3]))
            cg_val.append(g[tuple(nz.T)])
            cg_off.append(cg_off[-1] + len(nz))
            ent = block_entries((l1, l2, l3), maps.equal, maps.channels)
            entries.append(np.column_stack([np.tile([l1, l2, l3], (len(ent), 1)), ent]))
            ab, starts = np.unique(ent[:, :2], axis=0, return_index=True)
            for (a, b), s0, s1 in zip(ab, starts, np.append(starts[1:], len(ent))):
                grp_block.append(t)
                grp_a.append(a)
                grp_b.append(b)
                grp_off.append(grp_off[-1] + s1 - s0)
            ent_c.append(ent[:, 2])
        i64 = np.int64
        tables = (
            np.array(cg_off, dtype=i64),
            np.concatenate(cg_lm).astype(i64).reshape(-1, 3),
            np.concatenate(cg_val).astype(np.float64),
            np.array([l3 * l3 for _, _, l3 in triples], dtype=i64),
            np.array([2 * l3 + 1 for _, _, l3 in triples], dtype=i64),
            np.array(grp_block, dtype=i64),
            np.array(grp_a, dtype=i64),
            np.array(grp_b, dtype=i64),
            np.array(grp_off, dtype=i64),
            np.concatenate(ent_c).astype(i64),
        )
        stacked = tuple(np.ascontiguousarray(np.stack(m)) for m in maps.maps)
        touched = tuple(
            (np.abs(W).reshape(len(W), -1, n_max, W.shape[2]).max(axis=(0, 2)) > 0).astype(np.uint8)
            for W in stacked
        )
        entries = np.concatenate(entries).astype(i64)
        return cls(maps, triples, entries, tables, stacked, touched, n_max)

    @property
    def n_features(self) -> int:
        """Number of stored entries."""
        return len(self.entries)

    def flops_per_centre(self, n_pairs: float = 0.0, gradients: bool = False) -> float:
        """Floating-point operations (a multiply-add counts 2) of one centre with ``n_pairs``
        neighbours, as the kernels do them: the maps X_l W_k (2 (L+1)² S·N K_k per distinct
        map), 3 per coupling entry per (a, b) group, 2 (2 l3 + 1) per feature. With
        ``gradients``, per pair (averaged over neighbour species, taken equally likely):
        ∂(X W) ((L+1) K 4N + 10 (L+1)² K per distinct map), 14 per coupling entry of a
        group whose a or b the species touches, 6 (2 l3 + 1) per feature for each of its two
        terms that the species touches, and 30 per feature it touches (rows, strain)."""
        cg_off, _, _, _, blk_w3, grp_block, grp_a, grp_b, grp_off, ent_c = self.tables
        group_nnz = np.diff(cg_off)[grp_block]
        ent_group = np.repeat(np.arange(len(grp_block)), np.diff(grp_off))
        ent_w3 = blk_w3[grp_block][ent_group]
        distinct = [W for k, W in enumerate(self.stacked) if not (k and self.maps.equal[k - 1])]
        L1, C = self.stacked[0].shape[:2]
        nlm = L1 * L1
        flops = sum(2 * nlm * C * W.shape[2] for W in distinct)
        flops += 3 * group_nnz.sum() + 2 * ent_w3.sum()
        if gradients:
            t1, t2, t3 = self.touched
            g12 = (t1[:, grp_a] | t2[:, grp_b]).astype(bool)  # (S, n_groups)
            e12, e3 = g12[:, ent_group], t3[:, ent_c].astype(bool)  # (S, F)
            per_pair = sum(L1 * W.shape[2] * 4 * self.n_radial + 10 * nlm * W.shape[2]
                           for W in distinct)  # fmt: skip
            per_pair += (
                14 * (g12 * group_nnz).sum(axis=1)
                + 6 * ((e12 + e3) * ent_w3).sum(axis=1)
                + 30 * (e12 | e3).sum(axis=1)
            ).mean()
            flops += n_pairs * per_pair
        return float(flops)

    def mapped(self, coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X_l W_k) of each factor: three (n, (L+1)², K_k) arrays from c (n, S, N, (L+1)²)."""
        n, S, N, nlm = coefficients.shape
        X = coefficients.reshape(n, S * N, nlm).transpose(0, 2, 1)
        out = []
        for k, W in enumerate(self.stacked):
            if k and self.maps.equal[k - 1]:
                out.append(out[-1])
                continue
            A = np.empty((n, nlm, W.shape[2]))
            for l in range(len(W)):
                A[:, l * l : (l + 1) ** 2] = X[:, l * l : (l + 1) ** 2] @ W[l]
            out.append(A)
        return tuple(out)

    def values(self, coefficients: np.ndarray) -> np.ndarray:
        """(n, n_features) float64 bispectra of coefficients (n, S, N, (L+1)²)."""
        A = self.mapped(coefficients)
        out = np.empty((len(coefficients), self.n_features))
        run_in_threads(bispectrum_values, (*A, *self.tables, out), np.arange(len(out) + 1))
        return out

    def gradients(
        self,
        exp: Expansion,
        pair_row: np.ndarray,
        centre_row: np.ndarray,
        values: np.ndarray,
        grad: np.ndarray,
        strain: np.ndarray,
    ) -> None:
        """Values, pair gradients and strain gradients of one expansion with gradients,
        written into float64 ``values`` (n, F), and added into zeroed ``grad`` (n_rows, 3, F)
        and ``strain`` (n, 3, 3, F; 0 rows: not computed). Rows of ``grad``: ``pair_row``
        (P,) for each pair, ``centre_row`` (n,) for each centre's own entry."""
        A = self.mapped(exp.coefficients)
        nl = exp.neighbours
        cg_off, cg_lm, cg_val, blk_lm3, blk_w3, *groups = self.tables
        args = (
            *A, *self.stacked, *self.touched, bool(self.maps.equal[0]),
            bool(self.maps.equal[1]), cg_off, cg_lm, cg_val, blk_lm3, blk_w3, *groups,
            nl.offsets, exp.pair_species, nl.vectors, nl.distances, exp.radial_terms,
            exp.angular_terms, pair_row, centre_row, values, grad, strain,
        )  # fmt: skip
        run_in_threads(bispectrum_gradients, args, nl.offsets)
