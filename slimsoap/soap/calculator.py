"""The SOAP calculator: density expansion → channel maps → one contraction (DESIGN §5)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from slimsoap._linalg import unit_rows
from slimsoap._validation import as_frames, check_positive, species_index, species_to_numbers
from slimsoap.features import Features
from slimsoap.soap.basis import make_basis
from slimsoap.soap.compressions.vocabulary import build_channels, resolve_options
from slimsoap.soap.contraction import Contraction
from slimsoap.soap.expansion import Expansion, expand
from slimsoap.soap.gradients.compute import compute_gradients
from slimsoap.systems.neighbours import (
    SMALL_FRAME,
    NeighbourList,
    batch_neighbour_list,
    neighbour_list,
)

#: Version of the saved-calculator format (:meth:`SOAP.to_dict`).
FORMAT_VERSION = 1


#: Sparse output: rows contracted together (bounds the dense coefficients held at once).
_SPARSE_BATCH = 2048
#: Dense values: atoms of small molecules expanded and contracted in one batch.
_VALUES_BATCH = 2048


class SOAP:
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
        compression: a name of the compression vocabulary (DESIGN §4), default ``"nu2"``.
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
            the first 2l+1 functions of the element basis, needs N ≥ 2L+1).
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
        **options,
    ):
        self.species_z = species_to_numbers(species)
        self.r_cut = check_positive("r_cut", r_cut)
        self.cutoff_width = check_positive("cutoff_width", cutoff_width, strict=False)
        if self.cutoff_width >= self.r_cut:
            raise ValueError(
                f"cutoff_width ({cutoff_width} Å) must be smaller than r_cut ({r_cut} Å)"
            )
        self.center_weight = float(center_weight)
        if not np.isfinite(self.center_weight):
            raise ValueError(f"center_weight must be finite, got {center_weight}")
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        if projection not in ("exact", "sum"):
            raise ValueError(f"projection must be 'exact' or 'sum', got {projection!r}")
        self.dtype = np.dtype(dtype)
        self.normalize = bool(normalize)
        self.projection = projection
        self.basis = make_basis(radial_basis, n_max, l_max, r_cut, sigma)
        self.n_max, self.l_max, self.sigma = self.basis.n_max, self.basis.l_max, self.basis.sigma
        self.radial_basis = radial_basis
        self.compression = compression
        self.options = resolve_options(compression, options)
        self._build()

    def _build(self):
        """(Re)build the channel maps, the optional second basis and the contraction."""
        h = (
            self.basis.projection()
            if self.projection == "exact"
            else np.ones((self.l_max + 1, self.n_max))
        )
        self.channels = build_channels(
            self.compression, self.species_z, self.n_max, h, **self.options
        )
        self.extra_basis = None
        if self.channels.n_extra:
            try:
                self.extra_basis = make_basis(
                    self.radial_basis, self.channels.n_extra, self.l_max, self.r_cut, self.sigma
                )
            except ValueError as err:
                raise ValueError(
                    f"nu1mustar1 needs the {self.radial_basis!r} basis to provide "
                    f"2·l_max+1 = {self.channels.n_extra} radial functions, and it cannot: {err}"
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
        return self.options.get("seed")

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
        if self.compression == "optimal_radial" and not self.channels.notes.get("fitted"):
            raise ValueError(
                "optimal_radial needs its principal components: call soap.fit(frames) first "
                "(or load a fitted calculator with SOAP.load)"
            )

    def expand(
        self,
        atoms: Atoms,
        frame: int = 0,
        gradients: bool = False,
        neighbours: NeighbourList | None = None,
        compact: bool = False,
    ) -> Expansion:
        """Coefficients (n_atoms, S, N', (L+1)²) of one frame, as the channel maps expect.

        N' = N, or N + 2L+1 for ``nu1mustar1`` with a separate basis: each species' block
        then holds the element basis followed by the second basis (a second expansion pass
        over the same neighbour pairs). With ``compact`` the species channels are only those
        present in the frame (``slot_species``), so memory follows S_frame, not S.
        """
        species = species_index(atoms.numbers, self.species_z, frame)
        if neighbours is None:
            neighbours = neighbour_list(atoms, self.r_cut, frame)
        return self._expand_pairs(species, neighbours, gradients, compact)

    def _expand_pairs(
        self, species: np.ndarray, neighbours: NeighbourList, gradients: bool, compact: bool
    ) -> Expansion:
        """:meth:`expand` of atoms given by their species indices and pairs (one frame, or
        a batch of small frames with batch-wide indices)."""
        slot_species = np.arange(len(self.species_z))
        if compact:
            slot_species, species = np.unique(species, return_inverse=True)
            species = species.ravel()
        rest = (self.cutoff_width, self.center_weight, gradients, neighbours)
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

    def compute(
        self,
        frames: Atoms | Sequence[Atoms],
        gradients: bool = False,
        sparse: bool = False,
        strain: bool = True,
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
        """
        self._check_ready()
        if sparse and gradients and self.normalize:
            raise ValueError(
                "normalize=True spreads every gradient over all features (the projection "
                "mixes them), so sparse gradients would be dense: use sparse=False"
            )
        frames = as_frames(frames)
        frame_index = np.concatenate(
            [np.full(len(atoms), f, dtype=np.int64) for f, atoms in enumerate(frames)]
        )
        if gradients:
            return compute_gradients(self, frames, frame_index, sparse, strain)
        if sparse:
            return Features(values=self._compute_sparse(frames), frame_index=frame_index)
        values = np.empty((len(frame_index), self.n_features), dtype=self.dtype)
        offset = 0
        for f0, f1 in _frame_batches(frames):
            if f1 - f0 == 1:
                exp = self.expand(frames[f0], f0)
            else:  # small molecules: one pair search and one expansion for the batch
                batch = frames[f0:f1]
                species = np.concatenate(
                    [species_index(a.numbers, self.species_z, f0 + k) for k, a in enumerate(batch)]
                )
                nl = batch_neighbour_list(batch, self.r_cut, f0)
                exp = self._expand_pairs(species, nl, False, False)
            n = len(exp.coefficients)
            x = self._contraction.values(exp.coefficients, self.dtype, values[offset : offset + n])
            if self.normalize:
                unit_rows(x, out=x)
            offset += n
        return Features(values=values, frame_index=frame_index)

    def _compute_sparse(self, frames: list[Atoms]):
        """CSR values; small frames are contracted together, per set of species present."""
        import scipy.sparse as sp

        values, pending = [], []
        for f, atoms in enumerate(frames):
            exp = self.expand(atoms, f, compact=True)
            pending.append((exp.coefficients, exp.slot_species))
            if sum(len(c) for c, _ in pending) >= _SPARSE_BATCH or f == len(frames) - 1:
                x = self._contraction.sparse_values(pending, self.dtype)
                pending = []
                values.append(unit_rows(x)[0] if self.normalize else x)
        return sp.vstack(values, format="csr")

    # --- data-driven maps ----------------------------------------------------------------

    def fit(self, frames: Atoms | Sequence[Atoms]) -> SOAP:
        """Fit ``optimal_radial``: per l, the leading principal directions of the coefficients.

        The second-moment matrix M_l = Σ_centres X_l^T X_l (S·N × S·N, summed over m, so it
        is rotation invariant and mixes species and radial channels) is diagonalised; the
        ``n_components`` eigenvectors of largest eigenvalue (sign fixed: largest entry
        positive) become W_l. Returns ``self``.
        """
        if self.compression != "optimal_radial":
            raise ValueError(f"fit() only applies to optimal_radial, not {self.compression!r}")
        C = len(self.species_z) * self.n_max
        moments = np.zeros((self.l_max + 1, C, C))
        for f, atoms in enumerate(as_frames(frames)):
            c = self.expand(atoms, f).coefficients
            for l in range(self.l_max + 1):
                xt = c[..., l * l : (l + 1) ** 2].reshape(len(c), C, 2 * l + 1)
                moments[l] += np.einsum("iam,ibm->ab", xt, xt)
        components = []
        u = min(self.options["n_components"], C)
        for m in moments:
            w, v = np.linalg.eigh(m)
            v = v[:, ::-1][:, :u]
            sign = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(u)])
            components.append(v * np.where(sign == 0, 1.0, sign))
        self.options["components"] = components
        self._build()
        return self

    # --- saving --------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-able hyper-parameters (seed included); fitted PCA maps are not included."""
        opts = {k: v for k, v in self.options.items() if k != "components"}
        if isinstance(opts.get("embedding"), np.ndarray):
            opts["embedding"] = opts["embedding"].tolist()
        return {
            "format": FORMAT_VERSION,
            "species": [int(z) for z in self.species_z],
            "r_cut": self.r_cut,
            "n_max": self.n_max,
            "l_max": self.l_max,
            "sigma": self.sigma,
            "radial_basis": self.radial_basis,
            "cutoff_width": self.cutoff_width,
            "center_weight": self.center_weight,
            "compression": self.compression,
            "normalize": self.normalize,
            "dtype": self.dtype.name,
            "projection": self.projection,
            "options": opts,
        }

    @classmethod
    def from_dict(cls, d: dict, components: list[np.ndarray] | None = None) -> SOAP:
        """Rebuild a calculator from :meth:`to_dict` (and fitted PCA ``components``)."""
        d = dict(d)
        if d.pop("format", None) != FORMAT_VERSION:
            raise ValueError(f"unsupported SOAP format; expected format {FORMAT_VERSION}")
        options = d.pop("options")
        d["dtype"] = np.dtype(d["dtype"]).type
        soap = cls(**d, **options)
        if components is not None:
            soap.options["components"] = [np.asarray(w, dtype=np.float64) for w in components]
            soap._build()
        return soap

    def fitted_arrays(self) -> dict[str, np.ndarray]:
        """Arrays learnt by :meth:`fit`, by name (``"components.l<l>"``); empty when the
        compression needs no fit or has not been fitted. Saved beside :meth:`to_dict`."""
        components = self.options.get("components")
        if components is None:
            return {}
        return {f"components.l{l}": np.asarray(w) for l, w in enumerate(components)}

    def restore_fitted(self, arrays: dict[str, np.ndarray]) -> None:
        """Set the fitted state from :meth:`fitted_arrays` of an identical calculator."""
        if not arrays:
            return
        components = [arrays[f"components.l{l}"] for l in range(self.l_max + 1)]
        self.options["components"] = [np.asarray(w, dtype=np.float64) for w in components]
        self._build()

    def save(self, path: str | Path) -> None:
        """Write ``path`` (JSON of hyper-parameters and seed) and, when fitted, ``path``.npz."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        fitted = self.fitted_arrays()
        if fitted:
            np.savez(_npz_path(path), **{k.split(".")[1]: w for k, w in fitted.items()})

    @classmethod
    def load(cls, path: str | Path) -> SOAP:
        """Read a calculator written by :meth:`save`; gives bit-identical descriptors."""
        path = Path(path)
        d = json.loads(path.read_text())
        components = None
        if d.get("compression") == "optimal_radial" and _npz_path(path).exists():
            with np.load(_npz_path(path)) as z:
                components = [z[f"l{l}"] for l in range(d["l_max"] + 1)]
        return cls.from_dict(d, components)


def _frame_batches(frames: list[Atoms]) -> list[tuple[int, int]]:
    """Consecutive frame ranges computed together: runs of small non-periodic frames up to
    ``_VALUES_BATCH`` atoms (their per-frame Python cost would dominate), others alone."""
    out, f = [], 0
    while f < len(frames):
        g, atoms = f + 1, len(frames[f])
        if len(frames[f]) <= SMALL_FRAME and not frames[f].pbc.any():
            while (
                g < len(frames)
                and len(frames[g]) <= SMALL_FRAME
                and not frames[g].pbc.any()
                and atoms + len(frames[g]) <= _VALUES_BATCH
            ):
                atoms += len(frames[g])
                g += 1
        out.append((f, g))
        f = g
    return out


def _npz_path(path: Path) -> Path:
    return path.with_name(path.name + ".npz")
