"""Tables of the bispectrum contraction and the calls of its kernels.

Features are ordered by block (l1, l2, l3) (lexicographic, :func:`coupled_triples`), then by
channel tuple (a, b, c) lexicographically (:func:`block_entries`). A :class:`Contraction`
can be restricted to the channels of some species (:meth:`Contraction.restricted`): the
same tables over the entries those species can make non-zero, each with its global column,
so that work and storage follow the species present (species-sparse output).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from slimsoap._kernels.bispectrum import bispectrum_gradients, bispectrum_values, map_factor
from slimsoap._runtime.threads import run_in_threads
from slimsoap.bispectrum.compressions import FactorMaps, block_entries, coupled_triples
from slimsoap.bispectrum.coupling import real_coupling
from slimsoap.soap.contraction import _cached

#: Coupling entries smaller than this are structural zeros of the real CG tensor.
_CG_ZERO = 1e-14
#: Restricted contractions kept per contraction (one per set of species present).
_MAX_RESTRICTED = 1024


@dataclass
class Contraction:
    """Sparse real-CG tables for one set of maps, l_max and parity.

    Attributes:
        equal: (factor 1 = 2, factor 2 = 3): factors that share a map.
        triples: (n_blocks,) (l1, l2, l3) of the blocks.
        entries: (F', 6) int64 (l1, l2, l3, a, b, c) of every column (channels a, b, c
            numbered in this contraction's maps).
        columns: (F',) int64 global feature column of each entry (``arange`` unrestricted).
        tables: the kernel arrays (see ``slimsoap._kernels.bispectrum``), in kernel order.
        stacked: three (L+1, S'·N, K_k) arrays of the maps W_k (rows of the S' species
            channels this contraction reads).
        by_columns: per factor, W_k's non-zeros by column for
            :func:`~slimsoap._kernels.bispectrum.map_factor`: (w_ptr, w_row, w_val).
        touched: three (S', K_k) uint8 arrays, 1 where species slot s has a non-zero row of
            W_l (some l) in channel k: a neighbour of that species can change the channel.
        n_radial: N.
    """

    equal: tuple[bool, bool]
    triples: list[tuple[int, int, int]]
    entries: np.ndarray
    columns: np.ndarray
    tables: tuple[np.ndarray, ...]
    stacked: tuple[np.ndarray, np.ndarray, np.ndarray]
    by_columns: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    touched: tuple[np.ndarray, np.ndarray, np.ndarray]
    n_radial: int
    _coupling: tuple[np.ndarray, np.ndarray, np.ndarray] = field(repr=False)
    _restricted: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, maps: FactorMaps, n_max: int, l_max: int, parity: str) -> Contraction:
        """Tables of every stored block and entry."""
        triples = coupled_triples(l_max, maps.equal, parity)
        cg_off, cg_lm, cg_val, entries = [0], [], [], []
        for l1, l2, l3 in triples:
            g = real_coupling(l1, l2, l3)
            nz = np.argwhere(np.abs(g) > _CG_ZERO)
            cg_lm.append(nz + np.array([l1 * l1, l2 * l2, l3 * l3]))
            cg_val.append(g[tuple(nz.T)])
            cg_off.append(cg_off[-1] + len(nz))
            ent = block_entries((l1, l2, l3), maps.equal, maps.channels)
            entries.append(np.column_stack([np.tile([l1, l2, l3], (len(ent), 1)), ent]))
        coupling = (
            np.array(cg_off, dtype=np.int64),
            np.concatenate(cg_lm).astype(np.int64).reshape(-1, 3),
            np.concatenate(cg_val).astype(np.float64),
        )
        stacked = tuple(np.ascontiguousarray(np.stack(m)) for m in maps.maps)
        entries = np.concatenate(entries).astype(np.int64)
        columns = np.arange(len(entries), dtype=np.int64)
        return cls._assemble(maps.equal, triples, entries, columns, stacked, n_max, coupling)

    @classmethod
    def _assemble(cls, equal, triples, entries, columns, stacked, n_max, coupling) -> Contraction:
        """The kernel tables of ``entries`` (sorted by block, then (a, b, c))."""
        i64 = np.int64
        L1 = max(max(t) for t in triples) + 1
        code = np.array([(l1 * L1 + l2) * L1 + l3 for l1, l2, l3 in triples], dtype=i64)
        index = np.full(L1**3, -1, dtype=i64)
        index[code] = np.arange(len(triples))
        block = index[(entries[:, 0] * L1 + entries[:, 1]) * L1 + entries[:, 2]]
        key = np.column_stack([block, entries[:, 3:5]])
        starts = np.flatnonzero(np.r_[True, np.any(key[1:] != key[:-1], axis=1)][: len(key)])
        tables = (
            *coupling,
            np.array([l3 * l3 for _, _, l3 in triples], dtype=i64),
            np.array([2 * l3 + 1 for _, _, l3 in triples], dtype=i64),
            block[starts],
            entries[starts, 3].astype(i64),
            entries[starts, 4].astype(i64),
            np.append(starts, len(entries)).astype(i64),
            np.ascontiguousarray(entries[:, 5], dtype=i64),
        )
        touched = tuple(
            (
                np.abs(W)
                .reshape(len(W), W.shape[1] // n_max, n_max, W.shape[2])
                .max(axis=(0, 2), initial=0)
                > 0
            ).astype(np.uint8)
            for W in stacked
        )
        columns_of = tuple(_by_columns(W) for W in stacked)
        return cls(
            equal, triples, entries, columns, tables, stacked, columns_of, touched, n_max,
            coupling,
        )  # fmt: skip

    @property
    def n_features(self) -> int:
        """Number of stored entries."""
        return len(self.entries)

    def restricted(self, species: tuple[int, ...]) -> Contraction:
        """This contraction over the channels of ``species`` (ascending indices of this
        contraction's species slots) only: maps keep those species' rows and the channels
        they reach, entries those whose three channels are all reached (every other entry is
        exactly zero for an environment of those species), ``columns`` their global columns.
        Cached on this contraction (bounded)."""
        return _cached(self._restricted, species, _MAX_RESTRICTED, lambda: self._restrict(species))

    def _restrict(self, species: tuple[int, ...]) -> Contraction:
        N = self.n_radial
        rows = (np.array(species, dtype=np.int64)[:, None] * N + np.arange(N)).ravel()
        stacked, renumber = [], []
        for k, W in enumerate(self.stacked):
            if k and self.equal[k - 1]:
                stacked.append(stacked[-1])
                renumber.append(renumber[-1])
                continue
            Wr = W[:, rows]
            active = np.flatnonzero(np.any(Wr != 0, axis=(0, 1)))
            new = np.full(W.shape[2], -1, dtype=np.int64)
            new[active] = np.arange(len(active))
            stacked.append(np.ascontiguousarray(Wr[:, :, active]))
            renumber.append(new)
        ch = np.column_stack([renumber[k][self.entries[:, 3 + k]] for k in range(3)])
        keep = np.all(ch >= 0, axis=1)
        entries = np.column_stack([self.entries[keep, :3], ch[keep]]).astype(np.int64)
        return Contraction._assemble(
            self.equal, self.triples, entries, self.columns[keep], tuple(stacked), N,
            self._coupling,
        )  # fmt: skip

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
        distinct = [W for k, W in enumerate(self.stacked) if not (k and self.equal[k - 1])]
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
        """(X_l W_k) of each factor: three (n, (L+1)², K_k) arrays from c (n, S', N, (L+1)²)
        over this contraction's species slots."""
        c = np.ascontiguousarray(coefficients)
        n, nlm = len(c), c.shape[3]
        out = []
        for k, W in enumerate(self.stacked):
            if k and self.equal[k - 1]:
                out.append(out[-1])
                continue
            A = np.empty((n, nlm, W.shape[2]))
            run_in_threads(map_factor, (c, *self.by_columns[k], A), np.arange(n + 1))
            out.append(A)
        return tuple(out)

    def values(self, coefficients: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(n, F') float64 bispectra of coefficients (n, S', N, (L+1)²), written into
        ``out`` (n, F') float64 when given."""
        A = self.mapped(coefficients)
        if out is None:
            out = np.empty((len(coefficients), self.n_features))
        run_in_threads(bispectrum_values, (*A, *self.tables, out), np.arange(len(out) + 1))
        return out

    def gradients(
        self,
        coefficients: np.ndarray,
        centres: np.ndarray,
        pairs: PairInputs,
        layout: GradientLayout,
        values: np.ndarray,
        grad: np.ndarray,
        strain: np.ndarray,
    ) -> None:
        """Values, pair gradients and strain gradients of the centres ``centres``.

        Args:
            coefficients: (n_g, S', N, (L+1)²) of those centres over this contraction's
                species slots.
            centres: (n_g,) index of each centre in ``pairs`` (batch-wide).
            pairs: the expansion's pair factors, pair species numbered in these slots.
            layout: where each gradient row's entries go in ``grad``.
            values: (n_g, F') float64, written.
            grad: flat float64 of the layout, accumulated into (zero it first).
            strain: (n_g, 3, 3, F') float64 zeroed (accumulated), or 0 rows: not computed.
        """
        A = self.mapped(coefficients)
        counts = np.diff(pairs.offsets)[centres]
        args = (
            *A, *self.stacked, *self.touched, bool(self.equal[0]), bool(self.equal[1]),
            *self.tables, centres, *pairs, *layout, values, grad, strain,
        )  # fmt: skip
        run_in_threads(bispectrum_gradients, args, np.r_[0, np.cumsum(counts)])


@dataclass
class PairInputs:
    """What the gradient kernel reads of the pairs (batch-wide indices).

    Attributes:
        offsets: (n+1,) pairs of centre i are offsets[i]:offsets[i+1].
        pair_species: (P,) species slot of each neighbour (in the contraction's slots).
        vectors: (P, 3) r_ij in Å; distances (P,).
        radial_terms, angular_terms: the expansion's (P, 2, L+1, N) and (P, 4, (L+1)²).
        pair_row, centre_row: (P,), (n,) gradient row of each pair and of each centre.
    """

    offsets: np.ndarray
    pair_species: np.ndarray
    vectors: np.ndarray
    distances: np.ndarray
    radial_terms: np.ndarray
    angular_terms: np.ndarray
    pair_row: np.ndarray
    centre_row: np.ndarray

    def __iter__(self):
        return iter(
            (self.offsets, self.pair_species, self.vectors, self.distances, self.radial_terms,
             self.angular_terms, self.pair_row, self.centre_row)
        )  # fmt: skip


@dataclass
class GradientLayout:
    """Where the kernel writes gradient row r: the (3, width) block at ``row_base[r]`` of a
    flat array, entry e of the contraction at column ``pattern_local[row_pattern[r], e]``
    of that block (-1: the row's pattern does not store it; such entries are exactly zero).

    Attributes:
        row_base: (n_rows,) int64; row_pattern: (n_rows,) int64;
        pattern_local: (n_patterns, F') int64; pattern_width: (n_patterns,) int64.
    """

    row_base: np.ndarray
    row_pattern: np.ndarray
    pattern_local: np.ndarray
    pattern_width: np.ndarray

    def __iter__(self):
        return iter((self.row_base, self.row_pattern, self.pattern_local, self.pattern_width))


def _by_columns(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W (L+1, C, K) by columns: w_ptr (L+1, K+1) into w_row, w_val (non-zeros of column a
    of W_l, ascending rows)."""
    L1, _, K = W.shape
    ptr = np.zeros((L1, K + 1), dtype=np.int64)
    rows, vals, start = [], [], 0
    for l in range(L1):
        col, row = np.nonzero(W[l].T)  # sorted by column, then row
        ptr[l] = start + np.searchsorted(col, np.arange(K + 1))
        rows.append(row)
        vals.append(W[l][row, col])
        start += len(col)
    return ptr, np.concatenate(rows).astype(np.int64), np.concatenate(vals).astype(np.float64)
