"""Atom-centred symmetry functions (Behler 2011) with species compressions and gradients.

Functions of centre i (sums over neighbours j, k ≠ i with r < r_c, Å and Å⁻² units),
with the cosine cutoff f_c(r) = ½(cos(π r / r_c) + 1):

- G1 = Σ_j f_c(r_ij)                                           (optional, ``g1=True``)
- G2 = Σ_j exp(-η (r_ij - R_s)²) f_c(r_ij)
- G4 = Σ_{j<k} 2^{1-ζ} (1 + λ cos θ_ijk)^ζ exp(-η (r_ij² + r_ik² + r_jk²))
        f_c(r_ij) f_c(r_ik) f_c(r_jk)              (terms with r_jk ≥ r_c are zero)
- G5 = Σ_{j<k} 2^{1-ζ} (1 + λ cos θ_ijk)^ζ exp(-η (r_ij² + r_ik²)) f_c(r_ij) f_c(r_ik)

Each unordered neighbour pair {j, k} is counted once (as DScribe and n2p2 do; Behler's
2011 paper sums over ordered pairs, which is exactly twice this).

Species resolution (the 2-body sums split by the neighbour's species β, the 3-body sums by
the unordered species pair {β, γ} of the two neighbours, in DScribe's pair order
(0,0), (0,1), (1,1), (0,2), (1,2), (2,2), ...) is then compressed by a linear map over that
species axis — a matrix W2 (K2 × S) for the 2-body and W3 (K3 × S(S+1)/2) for the 3-body
blocks. With U^{βγ} the per-pair (``nu2``) 3-body sums and R^β the per-species 2-body sums:

=========== ================================ =============================== ===============
compression 2-body rows (W2)                 3-body rows (W3)                 length
=========== ================================ =============================== ===============
nu2         R^α, α = 1..S (identity)         U^{βγ}, β ≤ γ (identity)        S·n2 + ½S(S+1)·n3
nu1mu1      R^α (identity)                   G^α = Σ_β U^{αβ} (pairs with α)  S·n2 + S·n3
mu2         Σ_α R^α                          Σ_{β≤γ} U^{βγ}                    n2 + n3
weighted    Σ_α w_α R^α                      Σ_{β≤γ} w_β w_γ U^{βγ}            n2 + n3
=========== ================================ =============================== ===============

with n2 = number of radial functions (G1 + G2) and n3 = number of angular ones (G4 + G5).
``nu1mu1``'s G^α counts every neighbour pair with at least one atom of species α once (the
paper's G4^α = Σ_β G4^{αβ} over DScribe's blocks); ``mu2`` is the element-agnostic ACSF
(identical to computing with every atom relabelled as one species). ``weighted`` is the
wACSF of Gastegger et al. (J. Chem. Phys. 148, 241709 (2018)): radial terms weighted by
w_j and angular terms by w_j w_k, with w = atomic numbers by default.

Feature order: all 2-body blocks (block outer, radial function inner), then all 3-body
blocks (block outer; G4 functions, then G5 functions inner). For ``nu2`` with ``g1=True``
this is exactly DScribe's ACSF layout. The species of the centre is not encoded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from slimsoap._kernels.acsf import acsf_kernel, gradient_slots
from slimsoap._runtime.threads import run_in_threads
from slimsoap._validation import as_frames, check_positive, species_index, species_to_numbers
from slimsoap.acsf.presets import behler_preset
from slimsoap.calculator import CalculatorBase
from slimsoap.features import Features
from slimsoap.io.registry import register_calculator
from slimsoap.systems.neighbours import batch_neighbour_list

#: Names accepted by ``compression``.
COMPRESSIONS = ("nu2", "nu1mu1", "mu2", "weighted")


def acsf_length(
    compression: str, n_species: int, n_g2: int, n_g4: int, n_g5: int = 0, g1: bool = False
) -> int:
    """Number of ACSF features for a compression, S species and the given function counts."""
    _check_compression(compression)
    s = int(n_species)
    n2 = int(n_g2) + int(bool(g1))
    n3 = int(n_g4) + int(n_g5)
    if compression == "nu2":
        return s * n2 + s * (s + 1) // 2 * n3
    if compression == "nu1mu1":
        return s * n2 + s * n3
    return n2 + n3


def species_pairs(n_species: int) -> list[tuple[int, int]]:
    """Unordered species pairs (β ≤ γ) in DScribe's order: (0,0), (0,1), (1,1), (0,2), ..."""
    return [(b, g) for g in range(n_species) for b in range(g + 1)]


def compression_maps(
    compression: str, species_z: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Linear maps over the neighbour-species axis that define a compression.

    Args:
        compression: one of :data:`COMPRESSIONS`.
        species_z: (S,) atomic numbers, sorted.
        weights: (S,) species weights for ``"weighted"`` (default: the atomic numbers).

    Returns:
        W2: (K2, S) map of the per-species 2-body sums; W3: (K3, S(S+1)/2) map of the
        per-unordered-pair 3-body sums (pairs in :func:`species_pairs` order).
    """
    _check_compression(compression)
    s = len(species_z)
    pairs = species_pairs(s)
    if compression == "nu2":
        return np.eye(s), np.eye(len(pairs))
    if compression == "nu1mu1":
        w3 = np.zeros((s, len(pairs)))
        for p, (b, g) in enumerate(pairs):
            w3[b, p] = 1.0
            w3[g, p] = 1.0
        return np.eye(s), w3
    if compression == "mu2":
        return np.ones((1, s)), np.ones((1, len(pairs)))
    w = np.asarray(species_z, dtype=np.float64) if weights is None else weights
    return w[None, :].copy(), np.array([[w[b] * w[g] for b, g in pairs]])


def _check_compression(compression: str) -> None:
    if compression not in COMPRESSIONS:
        raise ValueError(f"unknown ACSF compression {compression!r}; valid: {list(COMPRESSIONS)}")


def _as_csc(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-compressed (ptr, row, weight) form of a small dense map, zeros dropped."""
    ptr = np.zeros(w.shape[1] + 1, dtype=np.int64)
    rows, vals = [], []
    for c in range(w.shape[1]):
        nz = np.flatnonzero(w[:, c])
        rows.extend(nz.tolist())
        vals.extend(w[nz, c].tolist())
        ptr[c + 1] = len(rows)
    return ptr, np.array(rows, dtype=np.int64), np.array(vals, dtype=np.float64)


def _param_array(name: str, value, columns: tuple[str, ...]) -> np.ndarray:
    """Validate an (n, len(columns)) parameter table; None or empty gives (0, len(columns))."""
    ncol = len(columns)
    spec = f"{name} must be an (n, {ncol}) array with columns ({', '.join(columns)})"
    if value is None:
        return np.zeros((0, ncol))
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{spec}; got non-numeric values") from err
    if arr.size == 0:
        return np.zeros((0, ncol))
    if arr.ndim != 2 or arr.shape[1] != ncol:
        raise ValueError(f"{spec}; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _angular_array(name: str, value) -> np.ndarray:
    arr = _param_array(name, value, ("eta [1/Å²]", "zeta", "lambda"))
    if np.any(arr[:, 0] < 0):
        raise ValueError(f"{name}: eta must be >= 0, got {arr[arr[:, 0] < 0, 0].tolist()}")
    if np.any(arr[:, 1] < 1):
        raise ValueError(
            f"{name}: zeta must be >= 1 (the gradient of (1 + λcosθ)^ζ diverges below 1), "
            f"got {arr[arr[:, 1] < 1, 1].tolist()}"
        )
    if not np.all(np.isin(arr[:, 2], (-1.0, 1.0))):
        raise ValueError(f"{name}: lambda must be +1 or -1, got {sorted(set(arr[:, 2]))}")
    return arr


@register_calculator
class ACSF(CalculatorBase):
    """Behler atom-centred symmetry functions with a species compression.

    Args:
        species: elements (symbols or atomic numbers) the calculator handles; sorted by
            atomic number internally.
        r_cut: cutoff radius (Å), > 0.
        g2_params: (n_g2, 2) rows [η (Å⁻²) > 0, R_s (Å)]; None for no G2.
        g4_params: (n_g4, 3) rows [η (Å⁻²) >= 0, ζ >= 1, λ = ±1]; None for no G4.
        g5_params: (n_g5, 3) rows like ``g4_params``; None for no G5.
        compression: one of ``"nu2"``, ``"nu1mu1"``, ``"mu2"``, ``"weighted"`` (module doc).
        dtype: float type of the returned values and gradients (computed in float64).
        g1: prepend G1 = Σ_j f_c(r_ij) to the radial functions (DScribe always does).
        weights: (S,) per-species weights of ``"weighted"``, in the order of ``species``
            as given; default the atomic numbers.
    """

    def __init__(
        self,
        species: Sequence[str | int],
        r_cut: float,
        g2_params: np.ndarray | Sequence[Sequence[float]] | None = None,
        g4_params: np.ndarray | Sequence[Sequence[float]] | None = None,
        g5_params: np.ndarray | Sequence[Sequence[float]] | None = None,
        compression: str = "nu2",
        dtype: type = np.float64,
        g1: bool = False,
        weights: Sequence[float] | None = None,
    ):
        self.species_z = species_to_numbers(species)
        self.r_cut = check_positive("r_cut", r_cut)
        _check_compression(compression)
        self.compression = compression
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating type, got {self.dtype}")
        self.g1 = bool(g1)
        self.g2_params = _param_array("g2_params", g2_params, ("eta [1/Å²]", "R_s [Å]"))
        if np.any(self.g2_params[:, 0] <= 0):
            raise ValueError(
                f"g2_params: eta must be > 0 (use g1=True for G1), got "
                f"{self.g2_params[self.g2_params[:, 0] <= 0, 0].tolist()}"
            )
        self.g4_params = _angular_array("g4_params", g4_params)
        self.g5_params = _angular_array("g5_params", g5_params)
        if not self.g1 and len(self.g2_params) + len(self.g4_params) + len(self.g5_params) == 0:
            raise ValueError("ACSF needs at least one function: give g2/g4/g5_params or g1=True")
        self.weights = self._weights(weights, species)
        w2, w3 = compression_maps(compression, self.species_z, self.weights)
        self._w2, self._w3 = w2, w3
        self._setup_tables()

    @classmethod
    def preset(cls, name: str, species: Sequence[str | int], r_cut: float, **kwargs) -> ACSF:
        """Calculator with a named parameter set; ``"behler"`` is :func:`behler_preset`."""
        if name != "behler":
            raise ValueError(f"unknown ACSF preset {name!r}; valid: ['behler']")
        return cls(species, r_cut, **behler_preset(r_cut), **kwargs)

    def _weights(self, weights, species) -> np.ndarray | None:
        """Per-species weights of ``"weighted"``, reordered to sorted atomic numbers."""
        if weights is None:
            return None
        if self.compression != "weighted":
            raise ValueError(
                f"weights only apply to compression='weighted', not {self.compression!r}"
            )
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.species_z),) or not np.all(np.isfinite(w)):
            raise ValueError(
                f"weights must be {len(self.species_z)} finite numbers (one per species), "
                f"got {weights!r}"
            )
        if isinstance(species, (str, int, np.integer)):
            species = [species]
        given_z = [int(species_to_numbers([x])[0]) for x in species]
        return w[np.argsort(given_z)]

    def _setup_tables(self) -> None:
        """Kernel tables: radial functions, unique η and (ζ, λ), pair indices, maps."""
        rad = self.g2_params
        if self.g1:
            rad = np.vstack([np.zeros((1, 2)), rad])
        self._rad_eta = np.ascontiguousarray(rad[:, 0])
        self._rad_rs = np.ascontiguousarray(rad[:, 1])
        ang = np.vstack([self.g4_params, self.g5_params])
        self._eta_uniq, eta_idx = np.unique(ang[:, 0], return_inverse=True)
        zl, zl_idx = np.unique(ang[:, 1:3], axis=0, return_inverse=True)
        self._ang_eta_idx = eta_idx.reshape(-1).astype(np.int64)
        self._ang_zl_idx = zl_idx.reshape(-1).astype(np.int64)
        self._zeta_uniq = np.ascontiguousarray(zl[:, 0]).reshape(-1)
        self._lam_uniq = np.ascontiguousarray(zl[:, 1]).reshape(-1)
        zm1 = self._zeta_uniq - 1.0
        self._zeta_int = np.where(zm1 == np.round(zm1), np.round(zm1), -1).astype(np.int64)
        self._ang_g4 = np.arange(len(ang)) < len(self.g4_params)
        s = len(self.species_z)
        pair_of = np.zeros((s, s), dtype=np.int64)
        for p, (b, g) in enumerate(species_pairs(s)):
            pair_of[b, g] = pair_of[g, b] = p
        self._pair_of = pair_of
        self._m2 = _as_csc(self._w2)
        self._m3 = _as_csc(self._w3)
        self._n_rad = len(rad)
        self._n_ang = len(ang)

    @property
    def species(self) -> list[str]:
        """Chemical symbols, in the order of the species channels (ascending Z)."""
        return [chemical_symbols[z] for z in self.species_z]

    @property
    def n_features(self) -> int:
        """Length of one atom's descriptor (equals :func:`acsf_length`)."""
        return self._w2.shape[0] * self._n_rad + self._w3.shape[0] * self._n_ang

    def labels(self) -> list[str]:
        """A name for every column, e.g. ``"G2(eta=0.5,Rs=0)|Cu"``, ``"G4(...)|Cu-Ag"``."""
        sym = [chemical_symbols[z] for z in self.species_z]
        pairs = [f"{sym[b]}-{sym[g]}" for b, g in species_pairs(len(sym))]
        if self.compression == "nu2":
            rows2, rows3 = sym, pairs
        elif self.compression == "nu1mu1":
            rows2, rows3 = sym, [f"{a}-*" for a in sym]
        elif self.compression == "mu2":
            rows2, rows3 = ["*"], ["*-*"]
        else:
            rows2, rows3 = ["w"], ["w*w"]
        rad = ["G1"] if self.g1 else []
        rad += [f"G2(eta={e:g},Rs={r:g})" for e, r in self.g2_params]
        ang = [f"G4(eta={e:g},zeta={z:g},lambda={lam:g})" for e, z, lam in self.g4_params]
        ang += [f"G5(eta={e:g},zeta={z:g},lambda={lam:g})" for e, z, lam in self.g5_params]
        return [f"{f}|{r}" for r in rows2 for f in rad] + [f"{f}|{r}" for r in rows3 for f in ang]

    def compute(self, frames: Atoms | Sequence[Atoms], gradients: bool = False) -> Features:
        """Symmetry functions of every atom of ``frames``.

        Args:
            frames: one ``ase.Atoms`` or a sequence; periodic directions follow ``atoms.pbc``.
            gradients: also return ∂x_i/∂r_k (1/Å × feature units) for every atom k within
                r_cut of centre i, the centre included, in the sparse pair format of
                :class:`slimsoap.features.Features`, and strain gradients
                Σ_j r_ij ⊗ ∂x_i/∂r_j (n_atoms, 3, 3, n_features) for virials.

        Returns:
            Features with ``values`` (n_atoms, n_features).
        """
        frames = as_frames(frames)
        offsets, neighbours, vectors, distances, nb_species, frame_index = self._pairs(frames)
        n_atoms = len(frame_index)
        values = np.zeros((n_atoms, self.n_features))
        if gradients:
            grad_offsets, slot_atom, pair_slot = gradient_slots(offsets, neighbours)
            centre_slot = grad_offsets[:-1].copy()
            grads = np.zeros((len(slot_atom), 3, self.n_features))
            strain = np.zeros((n_atoms, 3, 3, self.n_features))
        else:
            pair_slot = np.zeros(len(neighbours), dtype=np.int64)
            centre_slot = np.zeros(n_atoms, dtype=np.int64)
            grads = np.zeros((1, 3, self.n_features))
            strain = np.zeros((0, 3, 3, self.n_features))
        args = (
            offsets, vectors, distances, nb_species, self.r_cut, self._rad_eta, self._rad_rs,
            self._ang_eta_idx, self._ang_zl_idx, self._ang_g4, self._eta_uniq, self._zeta_uniq,
            self._zeta_int, self._lam_uniq, self._pair_of, *self._m2, *self._m3,
            self._w2.shape[0] * self._n_rad, values, bool(gradients), pair_slot, centre_slot,
            grads, strain,
        )  # fmt: skip
        run_in_threads(acsf_kernel, args, offsets)
        out = Features(values.astype(self.dtype, copy=False), frame_index)
        if gradients:
            rows = np.repeat(np.arange(n_atoms), np.diff(grad_offsets))
            out.gradient_pairs = np.stack([rows, slot_atom], axis=1)
            out.gradients = grads.astype(self.dtype, copy=False)
            out.strain_gradients = strain.astype(self.dtype, copy=False)
        return out

    def _pairs(self, frames: list[Atoms]):
        """Neighbour pairs of all frames, concatenated with global atom indices (small
        molecules share one batched search, see :func:`batch_neighbour_list`)."""
        sizes = np.array([len(a) for a in frames], dtype=np.int64)
        numbers = np.concatenate([a.numbers for a in frames])
        try:
            species = species_index(numbers, self.species_z, 0)
        except ValueError:
            for f, atoms in enumerate(frames):  # name the first offending frame
                species_index(atoms.numbers, self.species_z, f)
            raise
        nl = batch_neighbour_list(frames, self.r_cut)
        return (
            nl.offsets,
            nl.neighbours,
            nl.vectors,
            nl.distances,
            species[nl.neighbours],
            np.repeat(np.arange(len(frames), dtype=np.int64), sizes),
        )
