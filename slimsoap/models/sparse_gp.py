"""Sparse Gaussian-process force field on any descriptor with gradients (like gap_fit).

Model (paper §II.7, Bartók et al. 2010; gap_fit's projected-process form):

    E(A) = Σ_{i∈A} e0(s_i) + Σ_{i∈A} ε(x_i) + E_2b(A),
    ε(x_i) = Σ_m α_m k(x_i, x_m),    k(x, x') = δ² f(x̂·x̂') · [s = s']

- x̂ = x/|x| is the normalised descriptor, normalised inside the model (gradients are
  projected: ∂x̂ = (1 − x̂x̂ᵀ) ∂x / |x|). Rows with |x| = 0 give ε = 0.
- f(t) = t^ζ (``kernel="polynomial"``) or exp(−(1 − t)/θ²) (``kernel="se"``: the squared
  exponential exp(−|x̂ − x̂'|²/2θ²) of unit vectors).
- Environments of different centre species never correlate (gap_fit's one descriptor per
  centre Z); ``n_sparse`` representative environments per species are chosen by CUR or
  farthest-point sampling.
- e0 are per-species chemical potentials from a least-squares fit to the energies.
- E_2b is an optional pair baseline (:class:`PairBaseline`) fitted jointly.

Observations are total energies, force components (F = −∂E/∂r, through the descriptor
gradients) and virial components (W = −∂E/∂ε, through the strain gradients, GAP sign
convention: W = −stress·volume), each with its own noise: σ_E·√n_atoms, σ_F and
σ_V·√n_atoms (gap_fit's ``sigma_per_atom``). The projected-process solution minimises

    |Λ^{-1/2}(y − A c)|² + αᵀ K_MM α + |c_2b|²/δ_2b²

and is computed as a linear least-squares problem by pivoted QR (LAPACK gelsy) on the
stacked matrix [Λ^{-1/2}A; K_MM^{1/2}; I/δ_2b], as gap_fit does, never forming the normal
equations.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from ase import Atoms

from slimsoap._arrays import dense
from slimsoap._linalg import project_rows, unit_rows
from slimsoap._validation import as_frames, check_int, check_positive, species_index
from slimsoap.features import Features, SparseGradients
from slimsoap.io.registry import register_model
from slimsoap.models.pair_baseline import PairBaseline
from slimsoap.models.params import EstimatorParams
from slimsoap.models.ridge import element_counts, fit_chemical_potentials, structure_matrix
from slimsoap.models.selection import rank_sparse_points, select_sparse_points

#: Target memory (bytes) of one block of force rows while the design matrix is built.
_BLOCK_BYTES = 128 * 2**20
#: Atoms per descriptor call when the model computes the features itself (fit, predict).
_CHUNK_ATOMS = 256


# -------------------------------------------------------------------------------- data
@dataclass
class Targets:
    """Training or reference labels of a list of frames; NaN marks a missing label.

    Attributes:
        energy: (n_frames,) total energies, eV.
        forces: (n_atoms_total, 3) forces, eV/Å.
        virial: (n_frames, 3, 3) virials, eV (−stress·volume).
        config_type: (n_frames,) strings.
    """

    energy: np.ndarray
    forces: np.ndarray
    virial: np.ndarray
    config_type: np.ndarray


def read_targets(frames: Atoms | Sequence[Atoms]) -> Targets:
    """Labels stored as ``slimsoap.data.readers`` stores them: ``info["energy"]``,
    ``arrays["forces"]``, ``info["virial"]``, ``info["config_type"]`` (else "default")."""
    frames = as_frames(frames)
    n_total = sum(len(a) for a in frames)
    energy = np.full(len(frames), np.nan)
    forces = np.full((n_total, 3), np.nan)
    virial = np.full((len(frames), 3, 3), np.nan)
    start = 0
    for f, atoms in enumerate(frames):
        if "energy" in atoms.info:
            energy[f] = float(atoms.info["energy"])
        if "forces" in atoms.arrays:
            forces[start : start + len(atoms)] = atoms.arrays["forces"]
        if "virial" in atoms.info:
            virial[f] = np.asarray(atoms.info["virial"], dtype=float).reshape(3, 3)
        start += len(atoms)
    ct = np.array([str(a.info.get("config_type", "default")) for a in frames])
    return Targets(energy, forces, virial, ct)


@dataclass
class Prediction:
    """Model output: energy (n_frames,) eV, forces (n_atoms_total, 3) eV/Å, and
    virial (n_frames, 3, 3) eV or ``None`` when the features had no strain gradients."""

    energy: np.ndarray
    forces: np.ndarray | None
    virial: np.ndarray | None


# ---------------------------------------------------------------------------- helpers
def _row_dot(grads: np.ndarray | SparseGradients, vectors: np.ndarray) -> np.ndarray:
    """Σ_d g[p, ..., d] v[p, d] for dense or species-block sparse gradients."""
    if isinstance(grads, SparseGradients):
        return grads.dot(vectors)
    return np.einsum("p...d,pd->p...", grads, vectors)


def _atom_offsets(frames: list[Atoms]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(a) for a in frames])]).astype(np.int64)


@register_model
class SparseGP(EstimatorParams):
    """Sparse GP potential for energies, forces and virials (scikit-learn-like interface).

    Args:
        descriptor: object with ``compute(frames, gradients=True) -> Features``; may be
            ``None`` if features are always passed explicitly.
        kernel: ``"polynomial"`` ((x̂·x̂')^ζ) or ``"se"`` (squared exponential, length θ).
        zeta: polynomial exponent ζ ≥ 1.
        theta: SE length scale in normalised-descriptor units.
        delta: energy scale δ (eV) of the kernel: the prior std of a local energy.
        n_sparse: sparse points per centre species (capped at the environments available).
        selection: ``"cur"``, ``"fps"`` or ``"random"``.
        sigma_energy: energy noise per atom, eV/atom (scaled by √n_atoms per structure).
        sigma_force: force noise per component, eV/Å.
        sigma_virial: virial noise per atom, eV/atom (scaled by √n_atoms).
        config_type_sigma: {config_type: (σ_E, σ_F, σ_V)} overrides.
        baseline: a :class:`PairBaseline` to fit jointly, or ``None``.
        random_state: seed of the sparse-point selection.
    """

    _PARAMS = (
        "descriptor",
        "kernel",
        "zeta",
        "theta",
        "delta",
        "n_sparse",
        "selection",
        "sigma_energy",
        "sigma_force",
        "sigma_virial",
        "config_type_sigma",
        "baseline",
        "random_state",
    )

    def __init__(
        self,
        descriptor=None,
        kernel: str = "polynomial",
        zeta: int = 4,
        theta: float = 0.5,
        delta: float = 1.0,
        n_sparse: int = 500,
        selection: str = "cur",
        sigma_energy: float = 0.001,
        sigma_force: float = 0.1,
        sigma_virial: float = 0.05,
        config_type_sigma: dict[str, tuple[float, float, float]] | None = None,
        baseline: PairBaseline | None = None,
        random_state: int = 0,
    ):
        self.descriptor = descriptor
        self.kernel = kernel
        self.zeta = zeta
        self.theta = theta
        self.delta = delta
        self.n_sparse = n_sparse
        self.selection = selection
        self.sigma_energy = sigma_energy
        self.sigma_force = sigma_force
        self.sigma_virial = sigma_virial
        self.config_type_sigma = config_type_sigma
        self.baseline = baseline
        self.random_state = random_state

    # ---------------------------------------------------------------- kernel function
    def _check_hyper(self):
        if self.kernel not in ("polynomial", "se"):
            raise ValueError(f"unknown kernel {self.kernel!r}; use 'polynomial' or 'se'")
        check_int("zeta", self.zeta, 1)
        check_positive("theta", self.theta)
        check_positive("delta", self.delta)
        for name in ("sigma_energy", "sigma_force", "sigma_virial"):
            check_positive(name, getattr(self, name))

    def _f(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """δ² f(t) and δ² f'(t) for dot products t of unit vectors."""
        d2 = self.delta**2
        if self.kernel == "polynomial":
            z = self.zeta
            return d2 * t**z, d2 * z * t ** (z - 1)
        k = np.exp(-(1.0 - t) / self.theta**2)
        return d2 * k, d2 * k / self.theta**2

    def _kernel_blocks(self, Xh: np.ndarray, spc: np.ndarray):
        """t (n, M), δ²f(t) and δ²f'(t), zero between different centre species."""
        t = Xh @ self.sparse_points_.T
        mask = spc[:, None] == self.sparse_species_[None, :]
        f0, f1 = self._f(t)
        return t, f0 * mask, f1 * mask

    # ---------------------------------------------------------------- preparation
    def _features(
        self,
        frames: list[Atoms],
        features: Features | None,
        need_gradients: bool,
        need_strain: bool,
    ) -> Features:
        if features is None:
            if self.descriptor is None:
                raise ValueError("no features given and the model has no descriptor")
            features = self.descriptor.compute(frames, gradients=need_gradients or need_strain)
        n_total = sum(len(a) for a in frames)
        if features.values.shape[0] != n_total:
            raise ValueError(
                f"features have {features.values.shape[0]} rows for {n_total} atoms in the frames"
            )
        if need_gradients and features.gradients is None:
            raise ValueError(
                "forces need descriptor gradients: compute the features with gradients=True"
            )
        if need_strain and features.strain_gradients is None:
            raise ValueError(
                "virials need strain_gradients in the features (or drop the "
                "virials from the training data)"
            )
        return features

    def _species_index(self, frames: list[Atoms]) -> np.ndarray:
        numbers = np.concatenate([a.numbers for a in frames])
        return species_index(numbers, self.elements_, known_as="the training data")

    def _noise(self, targets: Targets, n_atoms: np.ndarray):
        """Per-frame σ_E·√n, σ_F, σ_V·√n after config-type overrides."""
        overrides = self.config_type_sigma or {}
        sig = np.array(
            [
                overrides.get(ct, (self.sigma_energy, self.sigma_force, self.sigma_virial))
                for ct in targets.config_type
            ],
            dtype=float,
        ).reshape(len(n_atoms), 3)
        if np.any(sig <= 0):
            raise ValueError("config_type_sigma values must be > 0")
        root = np.sqrt(n_atoms)
        return sig[:, 0] * root, sig[:, 1], sig[:, 2] * root

    # ------------------------------------------------------------------- design rows
    def _gp_rows(
        self,
        features: Features,
        Xh,
        norms,
        spc,
        frame_of_atom,
        n_frames,
        want_forces: bool,
        want_virial: bool,
    ):
        """∂(energy, forces, virial)/∂α: (F, M), (n_atoms, 3, M), (F, 3, 3, M).

        A centre correlates only with the sparse points of its own species, so the force and
        virial rows of each centre species are built against those points alone, a run of
        consecutive columns (the other columns are exact zeros): S× fewer multiply-adds with
        S species, and every sum in the same order as over all columns."""
        t, f0, f1 = self._kernel_blocks(Xh, spc)
        M = t.shape[1]
        energy = structure_matrix(frame_of_atom, n_frames) @ f0
        groups = _species_runs(self.sparse_species_)
        forces = virial = None
        if want_forces:
            n_atoms = Xh.shape[0]
            forces = np.zeros((n_atoms, 3, M))
            pairs, grads = features.gradient_pairs, features.gradients
            chunk = max(1, _BLOCK_BYTES // (8 * 3 * M * 3))
            for p0 in range(0, len(pairs), chunk):
                p1 = min(p0 + chunk, len(pairs))
                g_all = np.asarray(grads[p0:p1], dtype=np.float64)
                for k, cols in groups:
                    sel = np.flatnonzero(spc[pairs[p0:p1, 0]] == k)
                    if not len(sel):
                        continue
                    rows, atoms = pairs[p0 + sel, 0], pairs[p0 + sel, 1]
                    g = g_all[sel]
                    gm = (g.reshape(-1, g.shape[2]) @ self.sparse_points_[cols].T).reshape(
                        len(sel), 3, -1
                    )
                    gx = np.einsum("pcd,pd->pc", g, Xh[rows])
                    # ∂ε/∂r = f'(t) ∂x̂/∂r · x̂_m = f'(t) (g·x̂_m − (g·x̂) t) / |x|
                    tk, fk = t[rows, cols], f1[rows, cols]
                    block = (gm - gx[:, :, None] * tk[:, None, :]) * (fk / norms[rows, None])[
                        :, None, :
                    ]
                    to_atom = sp.csr_matrix(
                        (np.ones(len(sel)), (atoms, np.arange(len(sel)))),
                        shape=(n_atoms, len(sel)),
                    )
                    forces[:, :, cols] -= (to_atom @ block.reshape(len(sel), -1)).reshape(
                        n_atoms, 3, -1
                    )
        if want_virial:
            sg = features.strain_gradients
            virial = np.zeros((n_frames, 3, 3, M))
            chunk = max(1, _BLOCK_BYTES // (8 * 9 * M * 2))
            for a0 in range(0, Xh.shape[0], chunk):
                a1 = min(a0 + chunk, Xh.shape[0])
                s_all = np.asarray(sg[a0:a1], dtype=np.float64).transpose(0, 2, 1, 3)  # [i,a,b]
                for k, cols in groups:
                    sel = np.flatnonzero(spc[a0:a1] == k)
                    if not len(sel):
                        continue
                    atoms = a0 + sel
                    s = s_all[sel]
                    sm = (s.reshape(-1, s.shape[3]) @ self.sparse_points_[cols].T).reshape(
                        len(sel), 3, 3, -1
                    )
                    sx = np.einsum("iabd,id->iab", s, Xh[atoms])
                    tk, fk = t[atoms, cols], f1[atoms, cols]
                    block = (sm - sx[..., None] * tk[:, None, None, :]) * (fk / norms[atoms, None])[
                        :, None, None, :
                    ]
                    np.subtract.at(virial[..., cols], frame_of_atom[atoms], block)
        return energy, forces, virial

    # ---------------------------------------------------------------------- fitting
    def fit(
        self,
        frames: Atoms | Sequence[Atoms],
        features: Features | None = None,
        targets: Targets | None = None,
    ) -> SparseGP:
        """Fit to the energies, forces and virials of ``frames``.

        Args:
            frames: training configurations.
            features: their descriptors (with gradients if forces are fitted, and strain
                gradients if virials are); computed with ``descriptor`` when ``None``.
            targets: labels; read from the frames with :func:`read_targets` when ``None``.
                NaN entries are left out of the fit.
        """
        self._check_hyper()
        frames = as_frames(frames)
        targets, features, Xh, spc, counts = self._prepare(frames, features, targets)
        self._select_sparse_points(Xh, spc)
        A, y, sig = self._system(frames, features, targets, counts)
        self.coef_, self.rank_ = self._solve(A, y, sig)
        return self

    def fit_sizes(
        self,
        frames: Atoms | Sequence[Atoms],
        sizes: Sequence[int],
        features: Features | None = None,
        targets: Targets | None = None,
    ) -> list[SparseGP]:
        """One fitted model per sparse size in ``sizes``, with nested sparse sets, at the
        cost of one design matrix (that of the largest size).

        The sparse points of each species are ranked once with
        :func:`~slimsoap.models.selection.rank_sparse_points` (``selection`` and
        ``random_state`` as in :meth:`fit`); the model of size m uses the first m of each
        species' ranking, and its design matrix is the matching columns of the largest
        one. Those columns are ordered so that every size's are a leading block: one
        Householder QR of [Λ^{-1/2}A | Λ^{-1/2}y] then gives every size's R factor and
        Qᵀy, and each size solves only [R; prior square root] (pivoted QR, as :meth:`fit`).
        With ``selection="fps"`` the models equal ``fit`` with ``n_sparse=m`` (to
        rounding); with ``"cur"`` and ``"random"`` their sparse sets differ from ``fit``'s
        (whose draws depend on m), but are draws of the same kind. ``self`` is left
        unfitted; the arguments are those of :meth:`fit`.

        Returns:
            len(sizes) new models, in the order of ``sizes``, each with ``n_sparse`` = its
            size.
        """
        sizes = [check_int("sizes", m, 1) for m in sizes]
        if not sizes:
            raise ValueError("sizes is empty: give at least one sparse size")
        self._check_hyper()
        frames = as_frames(frames)
        base = type(self)(**{**self.get_params(), "n_sparse": max(sizes)})
        targets, features, Xh, spc, counts = base._prepare(frames, features, targets)
        base._select_sparse_points(Xh, spc, nested=True)
        A, y, sig = base._system(frames, features, targets, counts)
        M = len(base.sparse_species_)
        n_extra = A.shape[1] - M
        # columns rank-major (every species' first points, then their second, ...), baseline
        # first: each size's columns are then a leading block, whose R is the leading block
        # of R of one QR of [Λ^{-1/2}A | Λ^{-1/2}y] (last column: Qᵀ Λ^{-1/2}y)
        runs = _species_columns(base.sparse_species_)
        rank_in_species = np.concatenate([np.arange(len(c)) for c in runs])
        order = np.lexsort((np.arange(M), rank_in_species))
        lead = np.concatenate([np.arange(M, M + n_extra), order])
        aug = np.hstack([A[:, lead], y[:, None]])
        aug /= sig[:, None]
        del A
        _, R = scipy.linalg.qr(aug, mode="raw", overwrite_a=True, check_finite=False)
        del aug
        R = _pad_rows(R, R.shape[1])  # (K + 1, K + 1): zero rows if fewer observations
        models = []
        for m in sizes:
            cols = np.concatenate([c[:m] for c in runs])
            model = type(self)(**{**self.get_params(), "n_sparse": m})
            model.elements_, model.e0_ = base.elements_, base.e0_
            model.sparse_points_ = base.sparse_points_[cols]
            model.sparse_species_ = base.sparse_species_[cols]
            k = n_extra + len(cols)
            # leading columns as indices into the model's coef_ (GP columns, then baseline)
            into = np.concatenate(
                [len(cols) + np.arange(n_extra), np.searchsorted(cols, order[: len(cols)])]
            )
            prior = model._prior(n_extra)[:, into]
            lhs = np.vstack([R[:k, :k], prior])
            rhs = np.concatenate([R[:k, -1], np.zeros(prior.shape[0])])
            c, _, rank, _ = scipy.linalg.lstsq(lhs, rhs, cond=1e-12, lapack_driver="gelsy")
            model.coef_ = np.empty(k)
            model.coef_[into] = c
            model.rank_ = int(rank)
            models.append(model)
        return models

    def _prepare(self, frames: list[Atoms], features: Features | None, targets: Targets | None):
        """Labels, features (values only when ``features`` is None: the design rows then
        compute gradients chunk by chunk), unit descriptor rows Xh (n_atoms, d), centre
        species indices (n_atoms,) and element counts (n_frames, n_elements); sets
        ``elements_`` and ``e0_``."""
        targets = read_targets(frames) if targets is None else targets
        n_atoms = np.array([len(a) for a in frames], dtype=float)
        has_e = np.isfinite(targets.energy)
        has_f = np.all(np.isfinite(targets.forces), axis=1)
        has_v = np.all(np.isfinite(targets.virial), axis=(1, 2))
        if not has_e.any():
            raise ValueError("no training energies: the per-species energies e0 need them")
        if features is None:
            # values only here; gradients are computed chunk by chunk in _design_rows
            values = self._features(frames, None, False, False)
        else:
            values = features = self._features(frames, features, has_f.any(), has_v.any())
        X = dense(values.values, np.float64)
        Xh, _ = unit_rows(X)
        numbers = np.concatenate([a.numbers for a in frames])
        self.elements_ = np.unique(numbers)
        spc = self._species_index(frames)
        frame_of_atom = np.repeat(np.arange(len(frames)), n_atoms.astype(int))
        counts = element_counts(numbers, frame_of_atom, self.elements_, len(frames))
        self.e0_ = fit_chemical_potentials(counts[has_e], targets.energy[has_e])
        return targets, features, Xh, spc, counts

    def _system(self, frames: list[Atoms], features: Features | None, targets: Targets, counts):
        """Design matrix A (n_obs, M [+ baseline columns]), targets y (n_obs,) less the
        chemical potentials, and noise σ (n_obs,) of the labelled energies, forces and
        virials, against the current sparse points; ``counts`` from :meth:`_prepare`."""
        n_atoms = np.array([len(a) for a in frames], dtype=float)
        has_e = np.isfinite(targets.energy)
        has_f = np.all(np.isfinite(targets.forces), axis=1)
        has_v = np.all(np.isfinite(targets.virial), axis=(1, 2))
        frame_of_atom = np.repeat(np.arange(len(frames)), n_atoms.astype(int))
        eng, frc, vir = self._design_rows(frames, features, has_f.any(), has_v.any())
        blocks = [eng[has_e]]
        y = [targets.energy[has_e] - counts[has_e] @ self.e0_]
        s_e, s_f, s_v = self._noise(targets, n_atoms)
        sig = [s_e[has_e]]
        if has_f.any():
            blocks.append(frc[has_f].reshape(-1, frc.shape[2]))
            y.append(targets.forces[has_f].ravel())
            sig.append(np.repeat(s_f[frame_of_atom[has_f]], 3))
        if has_v.any():
            blocks.append(vir[has_v].reshape(-1, vir.shape[3]))
            y.append(targets.virial[has_v].ravel())
            sig.append(np.repeat(s_v[has_v], 9))
        A = np.vstack(blocks)
        if self.baseline is not None:
            b_e, b_f, b_v = self.baseline.design(frames, self.elements_)
            parts = [b_e[has_e]]
            if has_f.any():
                parts.append(b_f[has_f].reshape(-1, b_f.shape[2]))
            if has_v.any():
                parts.append(b_v[has_v].reshape(-1, b_v.shape[3]))
            A = np.hstack([A, np.vstack(parts)])
        return A, np.concatenate(y), np.concatenate(sig)

    def _frame_chunks(self, frames: list[Atoms]) -> list[tuple[int, int]]:
        """Consecutive frame ranges of about ``_CHUNK_ATOMS`` atoms (at least one frame)."""
        chunks, start, atoms = [], 0, 0
        for f, a in enumerate(frames):
            atoms += len(a)
            if atoms >= _CHUNK_ATOMS:
                chunks.append((start, f + 1))
                start, atoms = f + 1, 0
        if start < len(frames):
            chunks.append((start, len(frames)))
        return chunks

    def _design_rows(
        self,
        frames: list[Atoms],
        features: Features | None,
        want_forces: bool,
        want_virial: bool,
    ):
        """∂(energy, forces, virial)/∂α of all ``frames``: (F, M), (n_atoms, 3, M) or None,
        (F, 3, 3, M) or None. With ``features=None`` the descriptor is computed (with
        gradients) a chunk of frames at a time, so the gradients of the whole set are
        never held in memory at once."""
        if features is not None:
            parts = [(frames, features)]
        else:
            parts = (
                (
                    frames[a:b],
                    self._features(frames[a:b], None, want_forces, want_virial),
                )
                for a, b in self._frame_chunks(frames)
            )
        eng, frc, vir = [], [], []
        for sub, feats in parts:
            Xh, norms = unit_rows(dense(feats.values, np.float64))
            n_atoms = [len(a) for a in sub]
            frame_of_atom = np.repeat(np.arange(len(sub)), n_atoms)
            e, f, v = self._gp_rows(
                feats,
                Xh,
                norms,
                self._species_index(sub),
                frame_of_atom,
                len(sub),
                want_forces,
                want_virial,
            )
            eng.append(e)
            frc.append(f)
            vir.append(v)
        return (
            np.concatenate(eng),
            np.concatenate(frc) if want_forces else None,
            np.concatenate(vir) if want_virial else None,
        )

    def _select_sparse_points(self, Xh: np.ndarray, spc: np.ndarray, nested: bool = False):
        """Sets ``sparse_points_`` (M, d) and ``sparse_species_`` (M,), species by species;
        ``nested``: each species' points in :func:`rank_sparse_points` order."""
        m = check_int("n_sparse", self.n_sparse, 1)
        select = rank_sparse_points if nested else select_sparse_points
        chosen, species = [], []
        for s in range(len(self.elements_)):
            rows = np.flatnonzero((spc == s) & (np.linalg.norm(Xh, axis=1) > 0))
            if len(rows) == 0:
                continue
            idx = select(Xh[rows], min(m, len(rows)), self.selection, self.random_state)
            chosen.append(Xh[rows[idx]])
            species.append(np.full(len(idx), s))
        if not chosen:
            raise ValueError("every descriptor row is zero: no environment to learn from")
        self.sparse_points_ = np.concatenate(chosen)
        self.sparse_species_ = np.concatenate(species)

    def _prior(self, n_extra: int) -> np.ndarray:
        """Square root P (M + n_extra, M + n_extra) of the prior: |P c|² = αᵀ K_MM α +
        |c_2b|²/δ_2b² for c = (α, c_2b), with ``n_extra`` baseline coefficients."""
        t = self.sparse_points_ @ self.sparse_points_.T
        K_mm = self._f(t)[0] * (self.sparse_species_[:, None] == self.sparse_species_[None, :])
        lam, U = np.linalg.eigh(K_mm)
        prior = np.sqrt(np.maximum(lam, 0.0))[:, None] * U.T  # |prior α|² = αᵀ K_MM α
        if n_extra:
            prior = scipy.linalg.block_diag(prior, np.eye(n_extra) / self.baseline.delta)
        return prior

    def _solve(self, A: np.ndarray, y: np.ndarray, sigma: np.ndarray):
        """Least squares on [Λ^{-1/2}A; prior square roots] by pivoted QR."""
        prior = self._prior(A.shape[1] - self.sparse_points_.shape[0])
        lhs = np.vstack([A / sigma[:, None], prior])
        rhs = np.concatenate([y / sigma, np.zeros(prior.shape[0])])
        coef, _, rank, _ = scipy.linalg.lstsq(lhs, rhs, cond=1e-12, lapack_driver="gelsy")
        return coef, int(rank)

    # ------------------------------------------------------------------- prediction
    def predict(
        self, frames: Atoms | Sequence[Atoms], features: Features | None = None, forces: bool = True
    ) -> Prediction:
        """Energies, forces (if ``forces``) and virials (if the features carry strain
        gradients) of ``frames``."""
        if not hasattr(self, "coef_"):
            raise RuntimeError("SparseGP is not fitted: call fit() first")
        frames = as_frames(frames)
        if features is None and len(chunks := self._frame_chunks(frames)) > 1:
            preds = [self.predict(frames[a:b], forces=forces) for a, b in chunks]
            return Prediction(
                np.concatenate([p.energy for p in preds]),
                np.concatenate([p.forces for p in preds]) if forces else None,
                None
                if any(p.virial is None for p in preds)
                else np.concatenate([p.virial for p in preds]),
            )
        features = self._features(frames, features, forces, False)
        X = dense(features.values, np.float64)
        Xh, norms = unit_rows(X)
        spc = self._species_index(frames)
        offsets = _atom_offsets(frames)
        frame_of_atom = np.repeat(np.arange(len(frames)), np.diff(offsets))
        M = self.sparse_points_.shape[0]
        alpha = self.coef_[:M]
        t, f0, f1 = self._kernel_blocks(Xh, spc)
        numbers = np.concatenate([a.numbers for a in frames])
        counts = element_counts(numbers, frame_of_atom, self.elements_, len(frames))
        energy = counts @ self.e0_ + np.bincount(
            frame_of_atom, weights=f0 @ alpha, minlength=len(frames)
        )
        # u_i = ∂ε_i/∂x_i = (1 − x̂x̂ᵀ) v / |x|, v = Σ_m α_m f'(t_im) x̂_m
        u = (f1 * alpha) @ self.sparse_points_
        project_rows(u, Xh, norms)
        F = W = None
        if forces:
            pairs = features.gradient_pairs
            dE = _row_dot(features.gradients, u[pairs[:, 0]])
            F = -np.stack(
                [np.bincount(pairs[:, 1], weights=dE[:, c], minlength=len(Xh)) for c in range(3)],
                axis=1,
            )
        if features.strain_gradients is not None:
            per_atom = _row_dot(features.strain_gradients, u).transpose(0, 2, 1)
            W = np.zeros((len(frames), 3, 3))
            np.subtract.at(W, frame_of_atom, per_atom)
        if self.baseline is not None:
            b_e, b_f, b_v = self.baseline.design(frames, self.elements_)
            c = self.coef_[M:]
            energy = energy + b_e @ c
            if F is not None:
                F = F + b_f @ c
            if W is not None:
                W = W + b_v @ c
        return Prediction(energy, F, W)

    def calculator(self, **kwargs):
        """An ASE calculator driven by this model (``**kwargs``: those of
        :class:`~slimsoap.models.ase_calculator.SlimsoapCalculator`)."""
        from slimsoap.models.ase_calculator import SlimsoapCalculator

        return SlimsoapCalculator(self, **kwargs)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (one ``.npz``, name used as given), its
        descriptor included when that is a registered slimsoap calculator (parameters,
        seed, fitted arrays); :func:`slimsoap.models.load` or :meth:`load` reads it."""
        from slimsoap.io.npz import save_model

        if not hasattr(self, "coef_"):
            raise RuntimeError("SparseGP is not fitted: nothing to save")
        return save_model(path, self)

    @classmethod
    def load(cls, path: str | Path) -> SparseGP:
        """Read a model written by :meth:`save`, its descriptor rebuilt from the file (a
        model saved with an unregistered descriptor has ``descriptor=None``: set it, or
        pass features to ``predict``)."""
        from slimsoap.io.npz import load_model

        model = load_model(path)
        if not isinstance(model, cls):
            raise ValueError(f"{path}: holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def _to_archive(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Header and arrays of the saved model (see :mod:`slimsoap.io.npz`)."""
        from slimsoap.calculator import to_json
        from slimsoap.io.npz import calculator_arrays
        from slimsoap.io.registry import calculators

        params = {
            k: to_json(v, k)
            for k, v in self.get_params().items()
            if k not in ("descriptor", "baseline")
        }
        descriptor, arrays = None, {}
        if self.descriptor is not None:
            try:
                calculators.name_of(type(self.descriptor))
            except TypeError as err:
                warnings.warn(f"saving the SparseGP without its descriptor: {err}", stacklevel=3)
            else:
                descriptor = self.descriptor.to_dict()
                arrays = calculator_arrays(self.descriptor, "descriptor/")
        meta = {
            "params": params,
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "rank": int(self.rank_),
            "descriptor": descriptor,
        }
        arrays.update(
            coef=self.coef_,
            e0=self.e0_,
            elements=self.elements_,
            sparse_points=self.sparse_points_,
            sparse_species=self.sparse_species_,
        )
        return meta, arrays

    @classmethod
    def _from_archive(cls, meta: dict, arrays: dict[str, np.ndarray], source: str) -> SparseGP:
        """The model of :meth:`_to_archive`'s header and arrays; ValueError naming the field."""
        from slimsoap.io.npz import calculator_from_archive, require
        from slimsoap.io.registry import models

        name = models.name_of(cls)
        params = models.check_params(
            name, require(meta, "params", dict, source), source, skip=("descriptor", "baseline")
        )
        base = require(meta, "baseline", (dict, type(None)), source)
        try:
            baseline = None if base is None else PairBaseline(**base)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: field 'baseline' is invalid: {err}") from None
        descriptor = calculator_from_archive(meta, arrays, source, key="descriptor")
        missing = [
            k for k in ("coef", "e0", "elements", "sparse_points", "sparse_species")
            if k not in arrays
        ]  # fmt: skip
        if missing:
            raise ValueError(f"{source}: array(s) {missing} missing")
        model = cls(descriptor=descriptor, baseline=baseline, **params)
        model.coef_, model.e0_ = arrays["coef"], arrays["e0"]
        model.elements_ = arrays["elements"]
        model.sparse_points_ = arrays["sparse_points"]
        model.sparse_species_ = arrays["sparse_species"]
        model.rank_ = require(meta, "rank", int, source)
        _check_model_arrays(model, source)
        if descriptor is not None and descriptor.n_features != model.sparse_points_.shape[1]:
            raise ValueError(
                f"{source}: sparse points have {model.sparse_points_.shape[1]} features, its "
                f"descriptor gives {descriptor.n_features}"
            )
        return model


def _pad_rows(a: np.ndarray, n_rows: int) -> np.ndarray:
    """``a`` with zero rows appended up to ``n_rows`` rows."""
    return np.vstack([a, np.zeros((n_rows - a.shape[0], a.shape[1]))])


def _species_columns(species: np.ndarray) -> list[np.ndarray]:
    """Column indices of every run of equal consecutive entries of ``species`` (M,)."""
    return [np.arange(c.start, c.stop) for _, c in _species_runs(species)]


def _species_runs(species: np.ndarray) -> list[tuple[int, slice]]:
    """(species, columns) of every run of equal consecutive entries of ``species`` (M,)."""
    cuts = np.flatnonzero(np.diff(species)) + 1
    starts, stops = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(species)]])
    return [(int(species[a]), slice(int(a), int(b))) for a, b in zip(starts, stops, strict=True)]


def _check_model_arrays(model: SparseGP, source: str) -> None:
    """Refuse fitted arrays of the wrong shape, dtype or with NaN/inf (ValueError naming
    ``source`` and the array): a damaged file must not load into a model that predicts."""
    if model.sparse_points_.ndim != 2:
        raise ValueError(f"{source}: array 'sparse_points' must be 2-D (M, n_features)")
    M = len(model.sparse_points_)
    S = len(model.elements_)
    n_base = 0 if model.baseline is None else model.baseline.n_columns(S)
    expected = {
        "coef": (M + n_base,),
        "e0": (S,),
        "sparse_species": (M,),
    }
    for name, shape in expected.items():
        a = getattr(model, f"{name}_")
        if a.shape != shape:
            raise ValueError(f"{source}: array {name!r} has shape {a.shape}, expected {shape}")
    for name in ("coef", "e0", "sparse_points"):
        a = getattr(model, f"{name}_")
        if a.dtype.kind != "f" or not np.all(np.isfinite(a)):
            raise ValueError(f"{source}: array {name!r} holds NaN/inf or is not floating point")
    if model.elements_.dtype.kind not in "iu" or model.sparse_species_.dtype.kind not in "iu":
        raise ValueError(f"{source}: arrays 'elements' and 'sparse_species' must be integers")
    if M and (model.sparse_species_.min() < 0 or model.sparse_species_.max() >= S):
        raise ValueError(f"{source}: array 'sparse_species' indexes past the {S} elements")


# ------------------------------------------------------------------------ error report
def errors_by_config_type(
    prediction: Prediction, targets: Targets, n_atoms: np.ndarray
) -> dict[str, dict[str, float]]:
    """RMSE per configuration type (and ``"all"``), like paper Fig. S3.

    Args:
        prediction: model output for the frames.
        targets: reference labels (NaN = missing).
        n_atoms: (n_frames,) atoms per frame.

    Returns:
        {config_type: {"n_configs", "energy_rmse_per_atom" (eV/atom), "force_rmse" (eV/Å,
        per component), "virial_rmse_per_atom" (eV/atom)}}; NaN where no label exists.
    """
    n_atoms = np.asarray(n_atoms)
    frame_of_atom = np.repeat(np.arange(len(n_atoms)), n_atoms)
    out = {}
    for ct in ["all", *sorted(set(targets.config_type.tolist()))]:
        sel = np.ones(len(n_atoms), bool) if ct == "all" else targets.config_type == ct
        de = ((prediction.energy - targets.energy) / n_atoms)[sel]
        row = {"n_configs": int(sel.sum()), "energy_rmse_per_atom": _rms(de)}
        if prediction.forces is not None:
            df = (prediction.forces - targets.forces)[sel[frame_of_atom]]
            row["force_rmse"] = _rms(df)
        if prediction.virial is not None:
            dv = ((prediction.virial - targets.virial) / n_atoms[:, None, None])[sel]
            row["virial_rmse_per_atom"] = _rms(dv)
        out[ct] = row
    return out


def _rms(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    return float(np.sqrt(np.mean(a**2))) if a.size else float("nan")
