"""The SOAP calculator: density expansion → channel maps → one contraction (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from slimsoap._linalg import unit_rows
from slimsoap._runtime.buffers import empty
from slimsoap._runtime.threads import get_num_threads, map_ranges
from slimsoap._validation import (
    as_frames,
    check_bool,
    species_index,
    species_index_frames,
)
from slimsoap.calculator import CalculatorBase
from slimsoap.features import Features
from slimsoap.io.registry import register_calculator
from slimsoap.soap import compressions
from slimsoap.soap.basis import make_basis
from slimsoap.soap.compressions.spec import Capabilities, CompressionOptions, Context
from slimsoap.soap.contraction import Contraction
from slimsoap.soap.density import density_parameters, projection_weights
from slimsoap.soap.expansion import CoefficientStream, Expansion, expand
from slimsoap.soap.gradients.compute import compute_gradients
from slimsoap.soap.selection import average_rows, normalized, parse_centers, select_rows
from slimsoap.soap.weighting import RadialWeighting
from slimsoap.systems.batching import SMALL_FRAME, row_budget_runs, small_frame_runs
from slimsoap.systems.frames import FrameArrays, gather
from slimsoap.systems.neighbours import (
    NeighbourList,
    batch_neighbour_list,
    neighbour_list,
)

#: Sparse output: rows contracted together (bounds the dense coefficients held at once).
_SPARSE_BATCH = 2048
#: Dense values: atoms of small molecules expanded and contracted in one batch.
_VALUES_BATCH = 2048
#: Least atoms of a batch of small frames cut so that every thread has one.
_MIN_BATCH = 64


def _batch_atoms(n_atoms: int, cap: int) -> int:
    """Atoms per batch of small frames: at most ``cap``, with as many batches as a multiple
    of the kernel threads (so that batches can run side by side), at least ``_MIN_BATCH``."""
    threads = get_num_threads()
    parts = threads * max(1, -(-n_atoms // (threads * cap)))
    return max(_MIN_BATCH, -(-n_atoms // parts))


@register_calculator
class SOAP(CalculatorBase):
    """SOAP power spectrum and its compressions, with position gradients.

    Args:
        species: elements the calculator handles (symbols or atomic numbers); sorted by Z.
        r_cut: cutoff radius (Å, > 0).
        n_max: radial functions N (≥ 1).
        l_max: largest angular momentum L (≥ 0).
        sigma: Gaussian width of each atom's density (Å).
        radial_basis: name of the radial basis (``"gto"``, or any registered basis).
        cutoff_width: width of the cosine cutoff transition (Å, 0 = hard cutoff, < r_cut).
        center_weight: weight of the centre atom's own Gaussian (0 removes it).
        weighting: radial scaling of the neighbour weights, a dict as DScribe's
            ``weighting`` (``{"function": "poly" | "pow" | "exp", "r0", "c", "d", "m",
            "w0"}``) or featomic's Willatt2018 (``{"function": "willatt2018", "rate",
            "scale", "exponent"}``); see :mod:`slimsoap.soap.weighting`. None: no scaling.
        compression: a name of the compression vocabulary (DESIGN §4, the registry
            :mod:`slimsoap.soap.compressions`), default ``"nu2"``.
        normalize: divide each descriptor by its norm (gradients projected accordingly).
        dtype: float64 or float32 output.
        projection: unit-sphere projection of the "hat" densities: ``"exact"``
            (h_nl = ∫ r² g_nl dr) or ``"sum"`` (h_nl = 1, GAP's convention).
        **options: options of the compression — ``seed`` (random, random_sym,
            tensor_reduced), ``embedding`` (embed: ``"atomic_number"``,
            ``"periodic_table"`` or an (S, d_J) matrix), ``groups``/``groups2``
            (species_groups), ``n_channels``/``coupling``/``sym_mix``/``mix``
            (tensor_reduced), ``n_components`` (optimal_radial), ``mustar_basis``
            (nu1mustar1: ``"separate"`` second basis with 2L+1 functions, or ``"element"``
            the first 2l+1 functions of the element basis, needs N ≥ 2L+1),
            ``species_weighting`` (nu1mu1, mu2: DScribe's ``{element: weight}``, each
            species' coefficients scaled before the densities are formed).
    """

    def __init__(
        self,
        species: Sequence[str | int],
        r_cut: float,
        n_max: int,
        l_max: int,
        sigma: float = 0.5,
        radial_basis: str = "gto",
        cutoff_width: float = 0.5,
        center_weight: float = 1.0,
        compression: str = "nu2",
        normalize: bool = False,
        dtype: type = np.float64,
        projection: str = "exact",
        weighting: dict | None = None,
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
        self._weighting = None if weighting is None else RadialWeighting.parse(weighting)
        self.normalize = check_bool("normalize", normalize)
        self.basis = make_basis(radial_basis, n_max, l_max, r_cut, sigma)
        self.n_max, self.l_max, self.sigma = self.basis.n_max, self.basis.l_max, self.basis.sigma
        self.radial_basis = radial_basis
        self.compression = compression
        self.spec = compressions.get(compression)
        self.compression_options: CompressionOptions = self.spec.parse(options)
        self._fitted: dict[str, np.ndarray] = {}
        self._build()

    @property
    def weighting(self) -> dict | None:
        """The radial scaling as given to the constructor (validated), or None."""
        return None if self._weighting is None else self._weighting.as_dict()

    @property
    def options(self) -> dict:
        """The compression's validated options as keyword arguments (no fitted state)."""
        return self.compression_options.as_dict()

    @property
    def capabilities(self) -> Capabilities:
        """What the compression does with these options (recoverable, needs_fit, ...)."""
        return self.spec.capabilities(self.compression_options)

    def _context(self) -> Context:
        """What the compression's builder and fit need."""
        h = projection_weights(self.basis, self.projection)
        return Context(
            self.species_z, self.n_max, self.l_max, h, self.compression_options, self._fitted
        )

    def _build(self):
        """(Re)build the channel maps, the optional second basis and the contraction."""
        self.channels = self.spec.build(self._context())
        self.extra_basis = None
        if self.capabilities.extra_basis:
            try:
                self.extra_basis = make_basis(
                    self.radial_basis, self.channels.n_extra, self.l_max, self.r_cut, self.sigma
                )
            except ValueError as err:
                raise ValueError(
                    f"{self.compression} needs the {self.radial_basis!r} basis to provide "
                    f"{self.channels.n_extra} radial functions for its second basis, and it "
                    f"cannot: {err}"
                ) from None
        self._contraction = Contraction(
            self.channels, len(self.species_z), self.channels.n_radial, self.l_max
        )

    @property
    def species(self) -> list[str]:
        """Chemical symbols, in the order of the species channels (ascending Z)."""
        return [chemical_symbols[z] for z in self.species_z]

    @property
    def n_features(self) -> int:
        """Length of one descriptor vector."""
        return self._contraction.n_features

    @property
    def seed(self) -> int | None:
        """Seed of the random maps (None for compressions without random maps)."""
        return self.compression_options.seed if self.capabilities.seeded else None

    def labels(self) -> list[tuple[int, str, str]]:
        """What each column is: (l, channel of density 1, channel of density 2).

        Channels are named ``"<El>:n<k>"`` (element density), ``"total:n<k>"``,
        ``"<El>:proj"``, ``"total:proj"``, ``"total*:n<k>"`` (ν,μ*'s second basis),
        ``"rand:<k>"`` (columns of W), ``"randQ:<k>"`` (columns of Q), ``"J<j>:n<k>"``
        (embedding dimension j), ``"G<g>:n<k>"``/``"H<g>:n<k>"`` (species groups of
        density 1/2), ``"mix:<k>"``/``"mix2:<k>"`` (tensor-reduced channels), ``"pca:<k>"``.
        Columns run over l, then over the stored entries of the block: the upper triangle
        row by row for symmetric blocks, the whole block row by row otherwise, restricted
        as each compression says (DESIGN §4).
        """
        out = []
        for l, b in enumerate(self.channels.blocks):
            out += [(l, b.labels1[r], b.labels2[c]) for r, c in zip(b.rows, b.cols)]
        return out

    # --- computing ---------------------------------------------------------------------

    def _check_ready(self):
        if self.capabilities.needs_fit and not self._fitted:
            raise ValueError(
                f"{self.compression} learns its maps from data: call soap.fit(frames) first "
                "(or load a fitted calculator with slimsoap.io.load_calculator)"
            )

    def expand(
        self,
        atoms: Atoms,
        frame: int = 0,
        gradients: bool = False,
        neighbours: NeighbourList | None = None,
        compact: bool = False,
        checked: bool = False,
    ) -> Expansion:
        """Coefficients (n_atoms, S, N', (L+1)²) of one frame, as the channel maps expect.

        N' = N, or N + 2L+1 for ``nu1mustar1`` with a separate basis: each species' block
        then holds the element basis followed by the second basis (a second expansion pass
        over the same neighbour pairs). With ``compact`` the species channels are only those
        present in the frame (``slot_species``), so memory follows S_frame, not S.
        ``checked``: the frame came through :func:`~slimsoap._validation.as_frames`, so its
        geometry is not checked again.
        """
        species = species_index(atoms.numbers, self.species_z, frame)
        if neighbours is None:
            neighbours = neighbour_list(atoms, self.r_cut, frame, checked)
        return self._expand_pairs(species, neighbours, gradients, compact)

    def _expand_pairs(
        self,
        species: np.ndarray,
        neighbours: NeighbourList,
        gradients: bool,
        compact: bool,
        self_gradients: bool = True,
    ) -> Expansion:
        """:meth:`expand` of atoms given by their species indices and pairs (one frame, or
        a batch of small frames with batch-wide indices); ``self_gradients`` as
        :func:`~slimsoap.soap.expansion.expand`."""
        slot_species = np.arange(len(self.species_z))
        if compact:
            slot_species, species = np.unique(species, return_inverse=True)
            species = species.ravel()
        rest = (
            self.cutoff_width, self.center_weight, gradients, neighbours, self._weighting,
            self_gradients,
        )  # fmt: skip
        exp = expand(species, len(slot_species), self.basis, *rest)
        exp.slot_species = slot_species
        if self.extra_basis is None:
            return exp
        ext = expand(species, len(slot_species), self.extra_basis, *rest)
        c = np.concatenate([exp.coefficients, ext.coefficients], axis=2)
        radial_terms = None
        if gradients:
            radial_terms = np.concatenate([exp.radial_terms, ext.radial_terms], axis=3)
        return Expansion(
            c, exp.neighbours, exp.pair_species, radial_terms, exp.angular_terms, slot_species
        )

    def _coefficient_stream(
        self, species: np.ndarray, neighbours: NeighbourList, compact: bool
    ) -> tuple[CoefficientStream, np.ndarray]:
        """The coefficients of atoms given by their species indices and pairs (as
        :meth:`_expand_pairs`, values only) as a
        :class:`~slimsoap.soap.expansion.CoefficientStream`, over all species channels or
        (``compact``) those present, and the slots' species indices."""
        slot_species = np.arange(len(self.species_z))
        if compact:
            slot_species, species = np.unique(species, return_inverse=True)
            species = species.ravel()
        bases = [self.basis] if self.extra_basis is None else [self.basis, self.extra_basis]
        stream = CoefficientStream(
            species, len(slot_species), bases, self.cutoff_width, self.center_weight,
            neighbours, self._weighting,
        )  # fmt: skip
        return stream, slot_species

    def compute(
        self,
        frames: Atoms | Sequence[Atoms],
        gradients: bool = False,
        sparse: bool = False,
        strain: bool = True,
        centers: Sequence[Sequence[int]] | Sequence[int] | None = None,
        average: str = "off",
    ) -> Features:
        """Descriptors of every atom of ``frames`` (rows in order), optionally with gradients.

        Returns a :class:`~slimsoap.features.Features` with values (n_atoms, n_features)
        and, with ``gradients=True``, pair gradients (n_pairs, 3, n_features) in 1/Å
        units of the features and, with ``strain`` (default), strain gradients
        (n_atoms, 3, 3, n_features), Σ_j r_ij ⊗ ∂x_i/∂r_j: for a deformation r → (1 + ε) r,
        ∂x_i/∂ε_ba = strain[i, a, b].

        With ``sparse=True`` the values are a ``scipy.sparse.csr_matrix`` built per
        environment from the species present (no dense row is ever formed), and gradients
        a :class:`~slimsoap.features.SparseGradients`: each (row, atom) entry stores
        only the columns a neighbour of that atom's species can change (all the frame's
        species for the centre's own entry) — the same numbers as the dense arrays, about
        2/S of the memory for maps that keep species apart. Not with ``normalize``.

        ``centers``: one list of atom indices per frame (or one list for a single frame):
        only those atoms' rows, in the given order (repeats allowed), with their gradients;
        ``frame_index`` gives each row's frame and ``gradient_pairs[:, 0]`` the new rows
        (the whole frame's densities are still expanded: each centre sees all its
        neighbours). ``average``: ``"off"``; ``"outer"``, one row per frame, the mean of
        its (selected) atoms' descriptors, gradients the mean of theirs; ``"inner"``, one
        row per frame, the contraction of the mean of the atoms' density coefficients
        (DScribe's definitions), gradients by the product rule over the mean coefficients.
        Averages are dense-gradient only; ``normalize`` normalises the averaged row.
        """
        self._check_ready()
        gradients, sparse = check_bool("gradients", gradients), check_bool("sparse", sparse)
        strain = check_bool("strain", strain)
        if sparse and gradients and self.normalize:
            raise ValueError(
                "normalize=True spreads every gradient over all features (the projection "
                "mixes them), so sparse gradients would be dense: use sparse=False"
            )
        if average not in ("off", "inner", "outer"):
            raise ValueError(f"average must be 'off', 'inner' or 'outer', got {average!r}")
        if average != "off" and sparse and (gradients or average == "inner"):
            raise ValueError(f"average={average!r} gives one dense row per frame: use sparse=False")
        frames, data = as_frames(frames, with_data=True)
        chosen = None if centers is None else parse_centers(centers, data.sizes.tolist())
        if average == "inner":
            result = self._inner_average(frames, chosen, gradients, strain)
        else:
            normalize_rows = self.normalize and average == "off"
            result = self._compute_rows(frames, gradients, sparse, strain, normalize_rows, data)
            if chosen is not None:
                result = select_rows(result, _rows_of(result, chosen))
            if average == "off":
                return result
            result = average_rows(result)
        return normalized(result) if self.normalize else result

    def _frame_index(self, frames: list[Atoms]) -> np.ndarray:
        """(n_atoms,) frame of each atom of ``frames``."""
        sizes = np.fromiter((len(atoms) for atoms in frames), np.int64, len(frames))
        return np.repeat(np.arange(len(frames), dtype=np.int64), sizes)

    def _compute_rows(
        self,
        frames: list[Atoms],
        gradients: bool,
        sparse: bool,
        strain: bool,
        normalize: bool,
        data: FrameArrays | None = None,
    ) -> Features:
        """:meth:`compute` of every atom of validated ``frames`` (no selection, no average),
        rows normalised with ``normalize``; ``data``: their :func:`gather`, if made."""
        data = gather(frames) if data is None else data
        frame_index = data.frame_of_atom
        # every frame's species first, in one lookup: the first unknown element is named
        species = species_index_frames(data.numbers, data.starts, self.species_z)
        if gradients:
            return compute_gradients(self, frames, frame_index, sparse, strain, None, normalize)
        if sparse:
            values = self._compute_sparse(frames, species, data, normalize)
            return Features(values=values, frame_index=frame_index)
        values = empty((len(frame_index), self.n_features), self.dtype)
        # batches of small frames of at most _VALUES_BATCH atoms, as many as a multiple of
        # the threads; batches and large frames run in the kernel threads side by side (pair
        # search included), each writing its own rows
        batch = _batch_atoms(len(frame_index), _VALUES_BATCH)
        runs = small_frame_runs(frames, batch, data.sizes.tolist())

        def work(r0: int, r1: int) -> None:
            for f0, f1 in runs[r0:r1]:
                a0, a1 = data.starts[f0], data.starts[f1]
                if data.sizes[f0] > SMALL_FRAME:  # a large frame, alone
                    nl = neighbour_list(frames[f0], self.r_cut, f0, checked=True)
                else:  # small frames (even one): one pair search and expansion per batch
                    nl = batch_neighbour_list(
                        frames[f0:f1], self.r_cut, f0, checked=True, data=data.select(f0, f1)
                    )
                # coefficients range by range, straight into the rows
                stream, _ = self._coefficient_stream(species[a0:a1], nl, False)
                x = self._contraction.values_from(stream, values[a0:a1])
                if normalize:
                    unit_rows(x, out=x)

        map_ranges(work, np.arange(len(runs) + 1))
        return Features(values=values, frame_index=frame_index)

    def _inner_average(
        self, frames: list[Atoms], chosen: list[np.ndarray] | None, gradients: bool, strain: bool
    ) -> Features:
        """``average="inner"``: per frame, the contraction of the mean coefficients c̄ of
        the chosen atoms (all without ``chosen``).

        The contraction is bilinear, p(c̄) = B(c̄, c̄), so ∂p/∂r_j = (1/k) Σ_i [B(∂c_i/∂r_j,
        c̄) + B(c̄, ∂c_i/∂r_j)]: the per-atom gradients with every atom's coefficients
        replaced by c̄, averaged over the chosen atoms.
        """
        if chosen is None:
            chosen = [np.arange(len(atoms)) for atoms in frames]
        if gradients:
            per_atom = compute_gradients(
                self, frames, self._frame_index(frames), False, strain, chosen, False
            )
            return average_rows(select_rows(per_atom, _rows_of(per_atom, chosen)))
        values = np.empty((len(frames), self.n_features), dtype=self.dtype)
        for f, atoms in enumerate(frames):
            c = self.expand(atoms, f, checked=True).coefficients[chosen[f]]
            self._contraction.values(c.mean(axis=0, keepdims=True), self.dtype, values[f : f + 1])
        return Features(values=values, frame_index=np.arange(len(frames), dtype=np.int64))

    def _compute_sparse(
        self, frames: list[Atoms], species: np.ndarray, data: FrameArrays, normalize: bool
    ):
        """CSR values (rows normalised with ``normalize``) of ``frames``, their atoms'
        species indices ``species`` and :func:`gather` ``data``: batches of frames side by
        side in the kernel threads, each with one pair search (each frame's pairs in
        :func:`neighbour_list`'s order) and one coefficient stream over the species it
        holds, written range by range into its CSR arrays."""
        import scipy.sparse as sp

        sizes = data.sizes.tolist()
        runs = row_budget_runs(sizes, _batch_atoms(sum(sizes), _SPARSE_BATCH))
        values = [None] * len(runs)

        def work(r0: int, r1: int) -> None:
            for r in range(r0, r1):
                f0, f1 = runs[r]
                a0, a1 = data.starts[f0], data.starts[f1]
                nl = batch_neighbour_list(
                    frames[f0:f1], self.r_cut, f0, checked=True, data=data.select(f0, f1),
                    per_frame_order=True,
                )  # fmt: skip
                stream, slots = self._coefficient_stream(species[a0:a1], nl, True)
                x = self._contraction.sparse_values_from(stream, slots, self.dtype)
                values[r] = unit_rows(x)[0] if normalize else x

        map_ranges(work, np.arange(len(runs) + 1))
        return values[0] if len(values) == 1 else sp.vstack(values, format="csr")

    # --- data-driven maps ----------------------------------------------------------------

    def fit(self, frames: Atoms | Sequence[Atoms]) -> SOAP:
        """Learn the maps of a compression that needs it (``capabilities.needs_fit``, e.g.
        ``optimal_radial``: per l, the leading principal directions of the coefficients of
        ``frames``); see :attr:`spec` ``.fit``. Returns ``self``."""
        if not self.capabilities.needs_fit:
            fitting = ", ".join(compressions.names(needs_fit=True))
            raise ValueError(f"fit() only applies to {fitting}, not {self.compression!r}")
        frames = as_frames(frames)
        coefficients = (
            self.expand(atoms, f, checked=True).coefficients for f, atoms in enumerate(frames)
        )
        self._fitted = self.spec.fit(self._context(), coefficients)
        self._build()
        return self

    # --- the peers' hyper-parameters ---------------------------------------------------

    @classmethod
    def from_dscribe(
        cls, dscribe_soap, cutoff_width: float = 0.5, radial_basis: str = "gto"
    ) -> SOAP:
        """The SOAP of a ``dscribe.descriptors.SOAP``: see
        :func:`slimsoap.io.translate.soap_from_dscribe` (``average`` is a compute option:
        :func:`~slimsoap.io.translate.dscribe_compute_options`)."""
        from slimsoap.io.translate import soap_from_dscribe

        return soap_from_dscribe(dscribe_soap, cutoff_width, radial_basis)

    @classmethod
    def from_quippy(cls, text: str) -> SOAP:
        """The SOAP of a quippy/GAP descriptor string (``"soap cutoff=... n_max=..."``): see
        :func:`slimsoap.io.translate.soap_from_quippy` (``average`` and ``Z`` are compute
        options: :func:`~slimsoap.io.translate.quippy_compute_options`)."""
        from slimsoap.io.translate import soap_from_quippy

        return soap_from_quippy(text)

    def to_featomic(self, points_per_sigma: int = 128) -> dict:
        """Hyper-parameters for ``featomic.SoapPowerSpectrum(**hypers)`` with this
        calculator's radial integrals: see :func:`slimsoap.io.translate.soap_to_featomic`."""
        from slimsoap.io.translate import soap_to_featomic

        return soap_to_featomic(self, points_per_sigma)

    # --- saving --------------------------------------------------------------------------

    def fitted_arrays(self) -> dict[str, np.ndarray]:
        """Arrays learnt by :meth:`fit`, by name (``"components.l<l>"``); empty when the
        compression needs no fit or has not been fitted. Saved beside :meth:`to_dict`."""
        return dict(self._fitted)

    def restore_fitted(self, arrays: dict[str, np.ndarray]) -> None:
        """Set the fitted state from :meth:`fitted_arrays` of an identical calculator
        (an empty dict changes nothing); names and shapes are checked by the compression."""
        if not arrays:
            return
        if not self.capabilities.needs_fit:
            raise ValueError(
                f"{self.compression} learns nothing from data, so it takes no fitted arrays "
                f"(got {sorted(arrays)})"
            )
        previous = self._fitted
        self._fitted = {k: np.asarray(w, dtype=np.float64) for k, w in arrays.items()}
        try:
            self._build()
        except ValueError:
            self._fitted = previous
            raise


def _rows_of(features: Features, chosen: list[np.ndarray]) -> np.ndarray:
    """Global rows of the chosen atoms of each frame, frame by frame in the given order."""
    offsets = features.frame_offsets
    return np.concatenate([offsets[f] + c for f, c in enumerate(chosen)])
