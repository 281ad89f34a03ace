"""The Bispectrum calculator: SOAP's density expansion, three channel maps, one CG coupling."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from ase import Atoms
from ase.data import chemical_symbols

from slimsoap._linalg import project_rows, unit_rows
from slimsoap._runtime.buffers import zeros
from slimsoap._runtime.limits import check_allocation
from slimsoap._validation import as_frames, check_bool, species_index
from slimsoap.bispectrum.compressions import (
    FactorMaps,
    build_maps,
    check_parity,
    compression_spec,
    resolve_options,
)
from slimsoap.bispectrum.contraction import Contraction, GradientLayout, PairInputs
from slimsoap.bispectrum.layout import (
    GroupPatterns,
    dense_layout,
    environment_groups,
    gradient_rows,
    sparse_row_patterns,
)
from slimsoap.calculator import CalculatorBase
from slimsoap.features import Features, SparseGradients
from slimsoap.io.registry import register_calculator
from slimsoap.soap.basis import make_basis
from slimsoap.soap.density import density_parameters, projection_weights
from slimsoap.soap.expansion import Expansion, expand
from slimsoap.systems.batching import small_frame_runs
from slimsoap.systems.neighbours import NeighbourList, batch_neighbour_list, neighbour_list

#: Atoms of a run of small frames expanded and contracted in one call.
_BATCH_ATOMS = 2048


@register_calculator
class Bispectrum(CalculatorBase):
    """Compressed SOAP bispectrum (body order four), with position and strain gradients.

    B[a,b,c; l1,l2,l3] = Σ_m G[m1,m2,m3] (X_l1 W1)[m1,a] (X_l2 W2)[m2,b] (X_l3 W3)[m3,c],
    X_l the (2l+1) × (S·N) real density coefficients of SOAP's expansion, W_k the channel
    maps of the compression (:mod:`slimsoap.bispectrum.compressions`) and G the real
    coupling tensor from C(l1 m1, l2 m2 | l3 m3) (:mod:`slimsoap.bispectrum.coupling`).
    Units: (density coefficient)³, the coefficients being those of ``slimsoap.SOAP``.

    Args:
        species: elements (symbols or atomic numbers); sorted by Z.
        r_cut: cutoff radius (Å, > 0).
        n_max: radial functions N (≥ 1).
        l_max: largest angular momentum L (≥ 0).
        compression: a registered name (``nu3``, ``nu2mu1``, ``nu1mu2``, ``mu3``, hat
            variants, ``random``), default ``"nu3"``.
        parity: ``"even"`` keeps l1+l2+l3 even (invariant under rotations and reflections);
            ``"all"`` also keeps the odd ones (pseudoscalars: they change sign under a
            reflection).
        sigma: Gaussian width of each atom's density (Å).
        radial_basis: name of the radial basis (``"gto"``, ``"gaussian"``).
        cutoff_width: width of the cosine cutoff transition (Å, < r_cut).
        center_weight: weight of the centre atom's own Gaussian.
        normalize: divide each descriptor by its norm (gradients projected accordingly).
        dtype: float64 or float32 output (computed in float64).
        projection: h_nl of the "hat" densities, ``"exact"`` (∫ r² g_nl dr) or ``"sum"`` (1).
        **options: options of the compression (``random``: ``seed``, ``n_channels``).
    """

    def __init__(
        self,
        species: Sequence[str | int],
        r_cut: float,
        n_max: int,
        l_max: int,
        compression: str = "nu3",
        parity: str = "even",
        sigma: float = 0.5,
        radial_basis: str = "gto",
        cutoff_width: float = 0.5,
        center_weight: float = 1.0,
        normalize: bool = False,
        dtype: type = np.float64,
        projection: str = "exact",
        **options,
    ):
        (
            self.species_z,
            self.r_cut,
            self.cutoff_width,
            self.center_weight,
            self.dtype,
            self.projection,
        ) = density_parameters(species, r_cut, cutoff_width, center_weight, dtype, projection)
        self.parity = check_parity(parity)
        self.normalize = check_bool("normalize", normalize)
        self.spec = compression_spec(compression)
        self.compression = compression
        self.options = resolve_options(compression, options)
        self.basis = make_basis(radial_basis, n_max, l_max, r_cut, sigma)
        self.n_max, self.l_max, self.sigma = self.basis.n_max, self.basis.l_max, self.basis.sigma
        self.radial_basis = radial_basis
        h = projection_weights(self.basis, self.projection)
        self._maps = build_maps(compression, self.options, self.species_z, self.n_max, h)
        self._contraction = Contraction.build(self._maps, self.n_max, self.l_max, self.parity)

    @property
    def species(self) -> list[str]:
        """Chemical symbols, in the order of the species channels (ascending Z)."""
        return [chemical_symbols[z] for z in self.species_z]

    @property
    def maps(self) -> FactorMaps:
        """The three factors' channel maps W_l (S·N, K_k) and channel names."""
        return self._maps

    @property
    def n_features(self) -> int:
        """Length of one descriptor (equals :func:`bispectrum_length`)."""
        return self._contraction.n_features

    def labels(self) -> list[tuple[int, int, int, str, str, str]]:
        """What each column is: (l1, l2, l3, channel of factor 1, of 2, of 3).

        Channels are named as in :mod:`slimsoap.bispectrum.compressions`. Columns run over
        the blocks (l1, l2, l3) in lexicographic order, then the channel tuples (a, b, c)
        lexicographically. Where factors k and k+1 share a map, only l_k ≤ l_k+1 is stored
        and, for l_k = l_k+1, only channel indices in non-decreasing order (increasing when
        l1+l2+l3 is odd: those entries are antisymmetric, so the rest are ± a stored entry
        or zero).
        """
        lab = self._maps.labels
        return [
            (int(l1), int(l2), int(l3), lab[0][a], lab[1][b], lab[2][c])
            for l1, l2, l3, a, b, c in self._contraction.entries
        ]

    def flops_per_atom(self, n_neighbours: float, gradients: bool = False) -> float:
        """Floating-point operations of the contraction (after the expansion) for one centre
        with ``n_neighbours`` neighbours (gradients included when asked); see
        :meth:`~slimsoap.bispectrum.contraction.Contraction.flops_per_centre`."""
        return self._contraction.flops_per_centre(n_neighbours, gradients)

    def expand(
        self,
        atoms: Atoms,
        frame: int = 0,
        gradients: bool = False,
        neighbours: NeighbourList | None = None,
    ) -> Expansion:
        """Density coefficients (n_atoms, S, N, (L+1)²) of one frame (as ``slimsoap.SOAP``),
        over ``neighbours`` (found here unless given)."""
        species = species_index(atoms.numbers, self.species_z, frame)
        if neighbours is None:
            neighbours = neighbour_list(atoms, self.r_cut, frame)
        return self._expand_pairs(species, neighbours, gradients, False)

    def _expand_pairs(
        self, species: np.ndarray, neighbours: NeighbourList, gradients: bool, compact: bool
    ) -> Expansion:
        """Coefficients of atoms given by species indices and pairs (a frame or a batch);
        with ``compact``, over the species present only (``slot_species``)."""
        slots = np.arange(len(self.species_z))
        if compact:
            slots, species = np.unique(species, return_inverse=True)
            species = species.ravel()
        exp = expand(
            species, len(slots), self.basis, self.cutoff_width, self.center_weight,
            gradients, neighbours,
        )  # fmt: skip
        exp.slot_species = slots
        return exp

    def compute(
        self,
        frames: Atoms | Sequence[Atoms],
        gradients: bool = False,
        sparse: bool = False,
        strain: bool = True,
    ) -> Features:
        """Bispectra of every atom of ``frames`` (rows in order), optionally with gradients.

        Returns :class:`~slimsoap.features.Features`: values (n_atoms, n_features); with
        ``gradients``, ``gradient_pairs`` (n_pairs, 2) [row, atom] (unique, sorted, the
        centre included, periodic images merged), ``gradients`` (n_pairs, 3, n_features)
        ∂x/∂r in feature units per Å and, with ``strain``, ``strain_gradients``
        (n_atoms, 3, 3, n_features) = Σ_j r_ij ⊗ ∂x_i/∂r_j. The outputs are allocated
        once; float32 results are computed in float64 and then rounded.

        With ``sparse=True`` the values are a ``scipy.sparse.csr_matrix`` and the gradients
        :class:`~slimsoap.features.SparseGradients`: centres are grouped by the species of
        their environment and contracted over those species only, each row storing the
        entries they can make non-zero, each (row, atom) gradient entry the columns the
        atom's species can change (all of the row's for the centre's own entry). The same
        numbers as the dense arrays. With ``normalize`` every row is divided by its norm and
        its gradients projected accordingly (not with sparse gradients: the projection
        mixes every column of the row).

        Runs of small frames (:func:`~slimsoap.systems.batching.small_frame_runs`, e.g.
        molecules) share one pair search, one expansion and one contraction call; each
        row is bit for bit the one the frame gives alone.
        """
        gradients, sparse = check_bool("gradients", gradients), check_bool("sparse", sparse)
        strain = check_bool("strain", strain)
        if sparse and gradients and self.normalize:
            raise ValueError(
                "normalize=True spreads every gradient over all features of its row (the "
                "projection mixes them), so sparse gradients would be dense: use sparse=False"
            )
        frames = as_frames(frames)
        frame_index = np.concatenate(
            [np.full(len(atoms), f, dtype=np.int64) for f, atoms in enumerate(frames)]
        )
        runs = small_frame_runs(frames, _BATCH_ATOMS)
        if not gradients:
            batches = (self._batch(frames, f0, f1, False) for f0, f1 in runs)
            if sparse:
                return Features(values=self._sparse_values(batches), frame_index=frame_index)
            return Features(
                values=self._dense_values(batches, len(frame_index)), frame_index=frame_index
            )
        batches = [self._batch(frames, f0, f1, True) for f0, f1 in runs]
        out = self._sparse_gradients if sparse else self._dense_gradients
        values, pairs, grads, strains = out(batches, strain)
        return Features(
            values=values,
            frame_index=frame_index,
            gradient_pairs=pairs,
            gradients=grads,
            strain_gradients=strains,
        )

    def _batch(self, frames: list[Atoms], f0: int, f1: int, gradients: bool) -> _Batch:
        """Species and pairs of frames f0:f1 (one search for a run of small frames)."""
        species = np.concatenate(
            [species_index(frames[f].numbers, self.species_z, f) for f in range(f0, f1)]
        )
        if f1 - f0 == 1:
            nl = neighbour_list(frames[f0], self.r_cut, f0, checked=True)
        else:  # small frames, periodic or not: one search (the same pairs, to the bit)
            nl = batch_neighbour_list(frames[f0:f1], self.r_cut, f0, checked=True)
        first = sum(len(a) for a in frames[:f0]) if f0 else 0
        rows = gradient_rows(nl, len(species)) if gradients else (None, None, None)
        return _Batch(first, species, nl, *rows)

    def _dense_values(self, batches, n_atoms: int) -> np.ndarray:
        values = np.empty((n_atoms, self.n_features), dtype=self.dtype)
        for b in batches:
            x = self._contraction.values(
                self._expand_pairs(b.species, b.nl, False, False).coefficients
            )
            if self.normalize:
                unit_rows(x, out=x)
            values[b.first : b.first + len(x)] = x
        return values

    def _sparse_values(self, batches) -> sp.csr_matrix:
        """CSR rows over each centre's species group (columns ascending), written in place
        (one copy-free block when a batch is one group)."""
        data, indices, indptr, offset = [], [], [np.zeros(1, dtype=np.int64)], 0
        S = len(self.species_z)
        for b in batches:
            exp = self._expand_pairs(b.species, b.nl, False, True)
            groups = environment_groups(b.species, b.nl, S, self.center_weight)
            restricted = [self._contraction.restricted(P) for P, _ in groups]
            width = np.empty(len(b.species), dtype=np.int64)
            for (_, members), r in zip(groups, restricted):
                width[members] = r.n_features
            start = np.r_[0, np.cumsum(width)]
            d = np.empty(start[-1], dtype=self.dtype)
            k = np.empty(start[-1], dtype=np.int64)
            for (P, members), r in zip(groups, restricted):
                if r.n_features == 0:
                    continue
                c = exp.coefficients[members][:, np.searchsorted(exp.slot_species, P)]
                x = r.values(c)
                if self.normalize:
                    unit_rows(x, out=x)
                if len(groups) == 1:
                    d[:], k[:] = x.ravel(), np.tile(r.columns, len(members))
                    continue
                where = start[members][:, None] + np.arange(r.n_features)
                d[where] = x
                k[where] = r.columns
            data.append(d)
            indices.append(k)
            indptr.append(offset + start[1:])
            offset += start[-1]
        n = int(sum(len(p) for p in indptr) - 1)
        return sp.csr_matrix(
            (np.concatenate(data), np.concatenate(indices), np.concatenate(indptr)),
            shape=(n, self.n_features),
        )

    def _pairs(self, b: _Batch, exp: Expansion, pair_species: np.ndarray) -> PairInputs:
        nl = b.nl
        return PairInputs(
            nl.offsets, pair_species, nl.vectors, nl.distances, exp.radial_terms,
            exp.angular_terms, b.pair_row, b.centre_row,
        )  # fmt: skip

    def _dense_gradients(self, batches: list[_Batch], strain: bool):
        """Dense values (n, F), pairs, gradients (n_rows, 3, F) and strain (n, 3, 3, F)."""
        F, n = self.n_features, batches[-1].first + len(batches[-1].species)
        row_off = np.cumsum([0] + [len(b.keys) for b in batches])
        _check_output(self, int(row_off[-1]) * 3 * F + n * (1 + 9 * strain) * F, n)
        values = np.empty((n, F), dtype=self.dtype)
        grads = zeros(int(row_off[-1]) * 3 * F, self.dtype).reshape(-1, 3, F)
        strains = zeros((n if strain else 0) * 9 * F, self.dtype).reshape(-1, 3, 3, F)
        direct = self.dtype == np.float64
        for k, b in enumerate(batches):
            exp = self._expand_pairs(b.species, b.nl, True, False)
            a0, a1 = b.first, b.first + len(b.species)
            s0, s1 = (a0, a1) if strain else (0, 0)
            out = (values[a0:a1], grads[row_off[k] : row_off[k + 1]], strains[s0:s1])
            x, g, st = out if direct else tuple(np.zeros(o.shape) for o in out)
            layout = dense_layout(len(b.keys), F)
            centres = np.arange(len(b.species))
            pairs = self._pairs(b, exp, exp.pair_species)
            self._contraction.gradients(
                exp.coefficients, centres, pairs, layout, x, g.reshape(-1), st
            )
            if self.normalize:
                _, norms = unit_rows(x, out=x)
                project_rows(g, x, norms, b.keys[:, 0])
                project_rows(st, x, norms)
            if not direct:
                for o, w in zip(out, (x, g, st)):
                    o[...] = w
        pairs = np.concatenate([b.keys + b.first for b in batches])
        return values, pairs, grads, strains if strain else None

    def _sparse_gradients(self, batches: list[_Batch], strain: bool):
        """CSR values, pairs and :class:`SparseGradients` of positions and strain."""
        S, F = len(self.species_z), self.n_features
        known: dict[tuple[int, ...], tuple[int, GroupPatterns]] = {}
        columns: list[np.ndarray] = []
        plans = []
        for b in batches:  # layout first: every output is allocated once
            groups = environment_groups(b.species, b.nl, S, self.center_weight)
            for P, _ in groups:
                if P not in known:
                    patterns = GroupPatterns.build(self._contraction.restricted(P))
                    known[P] = (len(columns), patterns)
                    columns.extend(patterns.columns)
            row_pattern, group_of = sparse_row_patterns(b.keys, b.species, groups)
            widths = np.concatenate([known[P][1].widths for P, _ in groups])
            first_pattern = np.cumsum([0] + [len(P) + 1 for P, _ in groups])
            flat_pattern = first_pattern[group_of[b.keys[:, 0]]] + row_pattern
            row_size = 3 * widths[flat_pattern]
            centre_width = widths[first_pattern[1:] - 1][group_of]  # (n,) entries per row
            plans.append((groups, row_pattern, group_of, row_size, centre_width))
        sizes = np.array([p[3].sum() for p in plans], dtype=np.int64)
        ssizes = np.array([9 * p[4].sum() if strain else 0 for p in plans], dtype=np.int64)
        vsizes = np.array([p[4].sum() for p in plans], dtype=np.int64)
        bounds, sbounds, vbounds = (np.cumsum(np.r_[0, z]) for z in (sizes, ssizes, vsizes))
        n = batches[-1].first + len(batches[-1].species)
        _check_output(self, int(bounds[-1] + sbounds[-1] + 2 * vbounds[-1]), n)
        data = zeros(int(bounds[-1]), self.dtype)
        sdata = zeros(int(sbounds[-1]), self.dtype)
        vdata = np.empty(int(vbounds[-1]), dtype=self.dtype)
        vindices = np.empty(int(vbounds[-1]), dtype=np.int64)
        starts, patterns, sstarts, spatterns, indptr = [], [], [], [], [np.zeros(1, np.int64)]
        direct = self.dtype == np.float64
        for k, (b, (groups, row_pattern, group_of, row_size, centre_width)) in enumerate(
            zip(batches, plans)
        ):
            exp = self._expand_pairs(b.species, b.nl, True, True)
            row_base = np.cumsum(np.r_[0, row_size[:-1]]).astype(np.int64)
            out = data[bounds[k] : bounds[k + 1]]
            g_work = out if direct else np.zeros(len(out))
            s_work = np.zeros(int(ssizes[k])) if not direct else sdata[sbounds[k] : sbounds[k + 1]]
            pair_global = exp.slot_species[exp.pair_species]
            centre_start = np.empty(len(b.species), dtype=np.int64)
            centre_pattern = np.empty(len(b.species), dtype=np.int64)
            pattern_of_row = np.empty(len(b.keys), dtype=np.int64)
            v_start = vbounds[k] + np.cumsum(np.r_[0, centre_width[:-1]])
            s_off = 0
            for g, (P, members) in enumerate(groups):
                base, pat = known[P]
                r = self._contraction.restricted(P)
                Fg = r.n_features
                mine = group_of[b.keys[:, 0]] == g
                pattern_of_row[mine] = base + row_pattern[mine]
                centre_pattern[members] = base + len(P)
                centre_start[members] = s_off + 9 * Fg * np.arange(len(members))
                if Fg == 0:
                    continue
                n_strain = len(members) * 9 * Fg if strain else 0
                st = s_work[s_off : s_off + n_strain].reshape(-1, 3, 3, Fg)
                s_off += n_strain
                c = exp.coefficients[members][:, np.searchsorted(exp.slot_species, P)]
                pair_species = np.searchsorted(np.array(P, dtype=np.int64), pair_global)
                layout = GradientLayout(row_base, row_pattern, pat.local, pat.widths)
                x = np.empty((len(members), Fg))
                r.gradients(c, members, self._pairs(b, exp, pair_species), layout, x, g_work, st)
                where = v_start[members][:, None] + np.arange(Fg)
                vdata[where] = x
                vindices[where] = r.columns
            if not direct:
                out[...] = g_work
                sdata[sbounds[k] : sbounds[k + 1]] = s_work
            starts.append(bounds[k] + row_base)
            patterns.append(pattern_of_row)
            sstarts.append(sbounds[k] + centre_start)
            spatterns.append(centre_pattern)
            indptr.append(vbounds[k] + np.cumsum(centre_width))
        values = sp.csr_matrix((vdata, vindices, np.concatenate(indptr)), shape=(n, F))
        pattern = np.concatenate(patterns).astype(np.int32)
        grads = SparseGradients(data, np.concatenate(starts), pattern, columns, F)
        strains = None
        if strain:
            spattern = np.concatenate(spatterns).astype(np.int32)
            strains = SparseGradients(sdata, np.concatenate(sstarts), spattern, columns, F, (3, 3))
        pairs = np.concatenate([b.keys + b.first for b in batches])
        return values, pairs, grads, strains

    def get_params(self) -> dict:
        """Constructor arguments as JSON (species as symbols, compression options flat)."""
        return {
            "species": self.species,
            "r_cut": self.r_cut,
            "n_max": self.n_max,
            "l_max": self.l_max,
            "compression": self.compression,
            "parity": self.parity,
            "sigma": self.sigma,
            "radial_basis": self.radial_basis,
            "cutoff_width": self.cutoff_width,
            "center_weight": self.center_weight,
            "normalize": self.normalize,
            "dtype": self.dtype.name,
            "projection": self.projection,
            **dataclasses.asdict(self.options),
        }


def _check_output(calc: Bispectrum, n_values: int, n_atoms: int) -> None:
    """Refuse gradient outputs of ``n_values`` numbers above the memory limit."""
    check_allocation(
        n_values * np.dtype(calc.dtype).itemsize,
        f"the bispectrum gradients of {n_atoms} atoms",
        f"{calc.n_features} features per atom with their pair and strain gradients (fewer with "
        "a shorter compression, strain=False, sparse=True or fewer frames per call)",
    )


@dataclass
class _Batch:
    """One run of frames: its first row, atoms' species (n,), pairs (batch indices) and,
    for gradients, the rows (:func:`~slimsoap.bispectrum.layout.gradient_rows`)."""

    first: int
    species: np.ndarray
    nl: NeighbourList
    keys: np.ndarray | None
    pair_row: np.ndarray | None
    centre_row: np.ndarray | None
