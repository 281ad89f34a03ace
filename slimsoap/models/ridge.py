"""Energy models of paper §IV.5: chemical potentials, then (kernel) ridge on the residual.

A structure A is a set of atoms with descriptor rows x_i. Its energy is modelled as

    E(A) = Σ_α n_α(A) μ_α + Σ_{i∈A} ε(x_i),     ε(x) = Σ_t β_t Σ_{j∈A_t} (x·x_j)^ζ

μ_α are per-element chemical potentials fitted by least squares (unpenalised, jointly with
the rest by default, or first and alone as the paper describes); the local-energy part is
kernel ridge regression with the structure kernel K(A, B) = Σ_{i∈A, j∈B} (x_i·x_j)^ζ and the
loss of the paper (after Deringer et al. 2021),

    L = |Σ⁻¹(E − Ê)|² + βᵀKβ,      Σ = diag(σ · n_atoms(A)),

whose minimiser is β = (K + Σ²)⁻¹ E. σ is therefore the per-atom energy noise relative to
a kernel of unit prior variance per atom pair (the units of the energies, e.g. eV/atom,
when the descriptors are normalised); it is chosen by k-fold cross-validation on a log grid.

Three solvers give the same model where they overlap:

- ``"primal"`` (ζ = 1 only): ridge on per-structure summed features Φ = Σ_{i∈A} x_i. Cost
  O(n_structures · d²) and memory O(d²): scales to 10⁵ structures.
- ``"exact"``: the dual with the full structure kernel, computed in atom chunks (no
  n_atoms × n_atoms matrix is ever held). Cost O(n_atoms² · d); small sets only.
- ``"sparse"``: projected process / Nyström with M representative environments chosen by
  CUR or farthest-point sampling: ε(x) = Σ_m α_m (x·x_m)^ζ with penalty αᵀK_MM α. Equals the
  exact solution when the M points are all training environments.

Every solver diagonalises its Gram matrix once, so a whole grid of σ costs little more
than one fit.

Model choice by cross-validation: ``choices`` fits several parameter sets (for example a
linear model on raw and on standardised features, and a ζ=2 kernel on normalised rows:
``choices="linear_or_kernel"``) on the same folds and keeps the one with the lowest
held-out RMSE; a linear model cannot follow every energy surface a kernel can, and a
kernel is not always better (see ``docs/design.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from ase.data import atomic_numbers, chemical_symbols

from slimsoap._arrays import dense
from slimsoap._linalg import unit_rows
from slimsoap._validation import check_bool, check_finite, check_int, check_positive, species_index
from slimsoap.data.splits import kfold_splits
from slimsoap.models.params import EstimatorParams
from slimsoap.models.selection import select_sparse_points
from slimsoap.models.solvers import KernelRidge, WeightedRidge
from slimsoap.models.stacking import stack_score, stack_weights

Matrix = np.ndarray | sp.spmatrix | sp.sparray

#: Default σ grid for cross-validation (units of energy per atom): 4 per decade, 10⁻⁸..10.
DEFAULT_SIGMA_GRID = np.logspace(-8, 1, 37)

#: Named ``choices`` of :class:`EnergyModel`: parameter overrides tried by cross-validation.
CHOICE_PRESETS: dict[str, tuple[dict, ...]] = {
    "linear_or_kernel": (
        {"zeta": 1, "normalize": False, "feature_scaling": None},
        {"zeta": 1, "normalize": False, "feature_scaling": "standard"},
        {"zeta": 2, "normalize": True, "feature_scaling": None},
    ),
}

#: Parameters a ``choices`` entry may override.
CHOICE_KEYS = (
    "zeta", "normalize", "feature_scaling", "solver", "n_sparse", "selection",
    "chemical_potentials", "loss", "intercept", "sigma_grid",
)  # fmt: skip


def choice_label(choice: dict) -> str:
    """Short text of a ``choices`` entry, e.g. ``"zeta=2,normalize=True"``; a σ grid as its
    range and length, ``"sigma_grid=0.0001..100(25)"``."""

    def text(key, value):
        if key == "sigma_grid" and value is not None:
            grid = np.asarray(value, dtype=np.float64)
            return f"{grid.min():.3g}..{grid.max():.3g}({grid.size})" if grid.size else "[]"
        return str(value)

    return ",".join(f"{k}={text(k, v)}" for k, v in choice.items())


# ----------------------------------------------------------------------------- input checks
def as_numbers(species: Sequence[str | int] | np.ndarray) -> np.ndarray:
    """Atomic numbers (n_atoms,) int64 of per-atom ``species`` given as symbols or numbers."""
    arr = np.asarray(species)
    if arr.ndim != 1:
        raise ValueError(f"species must be one entry per atom (1-D), got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        if len(arr) and (arr.min() < 1 or arr.max() >= len(chemical_symbols)):
            raise ValueError("species contains an atomic number outside 1..118")
        return arr.astype(np.int64)
    try:
        return np.array([atomic_numbers[str(s)] for s in arr], dtype=np.int64)
    except KeyError as err:
        raise ValueError(f"unknown chemical species {err.args[0]!r} in species") from None


def check_structure_index(structure_index: np.ndarray | Sequence[int], n_atoms: int) -> int:
    """Validate a per-atom structure index (0..n_structures-1, every structure non-empty)."""
    s = np.asarray(structure_index)
    if s.shape != (n_atoms,):
        raise ValueError(f"structure_index must have shape ({n_atoms},), got {s.shape}")
    if s.dtype.kind not in "iu":
        raise ValueError("structure_index must hold integers")
    if n_atoms == 0:
        raise ValueError("no atoms given")
    if s.min() < 0:
        raise ValueError("structure_index must be >= 0")
    counts = np.bincount(s)
    if np.any(counts == 0):
        empty = np.flatnonzero(counts == 0)[:10].tolist()
        raise ValueError(f"structures {empty} have no atoms: number structures 0..n-1")
    return len(counts)


def check_features(X: Matrix) -> Matrix:
    """2-D finite float features, dense or scipy sparse (converted to CSR)."""
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
        data = X.data
    else:
        X = np.asarray(X, dtype=np.float64)
        data = X
    if X.ndim != 2:
        raise ValueError(f"features must be 2-D (n_atoms, n_features), got shape {X.shape}")
    check_finite("features", data)
    return X


def structure_matrix(structure_index: np.ndarray, n_structures: int) -> sp.csr_matrix:
    """(n_structures, n_atoms) 0/1 CSR matrix S with S[A, i] = 1 when atom i is in A."""
    n = len(structure_index)
    return sp.csr_matrix(
        (np.ones(n), (np.asarray(structure_index), np.arange(n))), shape=(n_structures, n)
    )


# ----------------------------------------------------------------------- chemical potentials
def element_counts(
    numbers: np.ndarray, structure_index: np.ndarray, elements: np.ndarray, n_structures: int
) -> np.ndarray:
    """(n_structures, n_elements) number of atoms of each element in each structure.

    Raises ValueError for an element not in ``elements``.
    """
    col = species_index(numbers, elements, known_as="the training data")
    counts = np.zeros((n_structures, len(elements)))
    np.add.at(counts, (structure_index, col), 1.0)
    return counts


def fit_chemical_potentials(counts: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """Least-squares μ (n_elements,) with E ≈ counts @ μ (minimum-norm if rank deficient)."""
    mu, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    return mu


# ------------------------------------------------------------------------------- kernels
def structure_kernel(
    XA: Matrix,
    sA: np.ndarray,
    nA: int,
    XB: Matrix,
    sB: np.ndarray,
    nB: int,
    zeta: int,
    chunk_size: int = 2048,
) -> np.ndarray:
    """K[A, B] = Σ_{i∈A, j∈B} (x_i·x_j)^ζ, (nA, nB), in (chunk × chunk) atom blocks.

    ``XA`` (n_atoms_A, d), ``sA`` (n_atoms_A,) structure of each row; the same for B.
    """
    SA, SB = structure_matrix(sA, nA), structure_matrix(sB, nB)
    K = np.zeros((nA, nB))
    for a0 in range(0, XA.shape[0], chunk_size):
        a1 = min(a0 + chunk_size, XA.shape[0])
        for b0 in range(0, XB.shape[0], chunk_size):
            b1 = min(b0 + chunk_size, XB.shape[0])
            G = dense(XA[a0:a1] @ XB[b0:b1].T) ** zeta
            K += SA[:, a0:a1] @ (SB[:, b0:b1] @ G.T).T
    return K


def structure_to_points_kernel(
    X: Matrix, s: np.ndarray, n_structures: int, Xm: Matrix, zeta: int, chunk_size: int = 4096
) -> np.ndarray:
    """K[A, m] = Σ_{i∈A} (x_i·x_m)^ζ, (n_structures, M), in atom chunks."""
    S = structure_matrix(s, n_structures)
    K = np.zeros((n_structures, Xm.shape[0]))
    for a0 in range(0, X.shape[0], chunk_size):
        a1 = min(a0 + chunk_size, X.shape[0])
        K += S[:, a0:a1] @ (dense(X[a0:a1] @ Xm.T) ** zeta)
    return K


# ------------------------------------------------------------------------------- solvers
def nystrom_map(K_mm: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """(M, r) map T = U_r Λ_r^{-1/2} from the eigenpairs of K_MM above ``rtol``·λ_max.

    Structure features Ψ = K_{AM} T turn the projected-process problem into primal ridge:
    ε(x) = k(x, X_M) T w, with penalty |w|² = αᵀ K_MM α for α = T w.
    """
    lam, U = np.linalg.eigh(0.5 * (K_mm + K_mm.T))
    keep = lam > rtol * max(lam[-1], 0.0)
    if not np.any(keep):
        raise ValueError("the sparse-point kernel matrix is zero: sparse points are all zero")
    return U[:, keep] / np.sqrt(lam[keep])


def standard_scales(std: np.ndarray, floor: float) -> np.ndarray:
    """Divisors (d,) of ``feature_scaling="standard"`` from the features' standard deviations
    ``std`` (d,) over the training structures: ``max(std, floor · max(std))``, and 1 for a
    feature that never varies (or every feature, if none varies).

    The floor keeps a feature whose training values are numerically negligible (an element
    pair seen once, at the edge of the cut-off: 10⁻³⁵ against rows of order 1) from being
    blown up to unit spread, which would let its weight reach 10³⁵ and a test structure
    where the feature is of ordinary size get an energy as large.
    """
    floor = check_positive("scale_floor", floor, strict=False)
    if floor > 1:
        raise ValueError(f"scale_floor must be at most 1, got {floor!r}")
    top = float(std.max()) if len(std) else 0.0
    return np.where(std > 0, np.maximum(std, floor * top), 1.0)


def _divide_columns(X: Matrix, scale: np.ndarray) -> Matrix:
    """X with column j divided by scale[j] (CSR stays CSR; ones return X itself)."""
    if np.all(scale == 1.0):
        return X
    if sp.issparse(X):
        return sp.csr_matrix(X @ sp.diags(1.0 / scale))
    return X / scale


# --------------------------------------------------------------------------------- model
class EnergyModel(EstimatorParams):
    """Per-structure energies from per-atom descriptors (paper §IV.5), scikit-learn style.

    Args:
        zeta: polynomial kernel exponent ζ ≥ 1 (the paper uses 1, 2, 4, 8, 16).
        sigma: noise per atom (energy units per atom, relative to unit kernel prior);
            ``None`` chooses it by ``n_folds``-fold cross-validation over ``sigma_grid``.
        sigma_grid: candidate σ values for CV (default ``DEFAULT_SIGMA_GRID``, 10⁻⁸..10).
        n_folds: k of the k-fold CV (structures are shuffled with ``random_state``), or
            ``"loo"``: exact leave-one-out from the fit's own decomposition (every σ at the
            cost of about one fit, where k-fold costs k; the held-out predictions of every
            structure each come from a model fitted on all the others). With
            ``chemical_potentials="separate"`` μ is then fitted once on all structures and
            the ridge part is left out one at a time (k-fold refits μ per fold as well).
        cv_repeats: number of different k-fold partitions (shuffled with seeds
            ``random_state``, ``random_state`` + 1, ...) whose held-out errors are pooled:
            for σ, and with ``choices`` for the entry or stack weights. Default 1. More
            repeats cost as many more CV fits and make the choices less dependent on one
            partition (repeated k-fold CV), which matters at tens of structures.
        solver: ``"auto"`` (primal for ζ=1; exact if ≤ ``max_exact_atoms`` training atoms;
            else sparse), ``"primal"``, ``"exact"`` or ``"sparse"``.
        n_sparse: number of representative environments M for the sparse solver.
        selection: ``"cur"``, ``"fps"`` or ``"random"`` choice of the M environments.
        normalize: divide every descriptor row by its norm first.
        max_exact_atoms: the auto solver's limit for the exact dual.
        chunk_size: atoms per kernel block.
        feature_scaling: ``None`` (default) uses the features as given; ``"standard"``
            divides every feature by its standard deviation over the training structures'
            summed descriptors Φ_A = Σ_{i∈A} x_i (features that never vary keep scale 1);
            ``"cv"`` fits both and keeps the one with the lower CV error (``cv_metric``). (With
            joint chemical potentials a shift of the features changes nothing, so scaling
            alone is ridge on standardised summed descriptors.)
        scale_floor: with ``feature_scaling="standard"``, no divisor is below
            ``scale_floor`` × the largest feature's standard deviation (so standardising
            upweights a feature at most 1/``scale_floor`` times against the broadest one);
            0 gives plain standardisation. Default 10⁻³. Without it, features that are
            numerically negligible in training (an element pair seen once, at the edge of
            the cut-off) made the elpasolite ν=2 test energies 10²⁵ eV/atom off. Measured on
            the elpasolite and amino-acid sets (ν=2, 13 draws of 50–400 training
            structures, floors 0 to 1), the ζ=1 standardised MAE falls steeply up to a floor
            of 10⁻⁴ and little beyond; 10⁻³ is within 21 % of the best floor in every draw.
        chemical_potentials: ``"joint"`` (default) fits μ together with the ridge part,
            unpenalised; ``"separate"`` fits μ to the energies first and the ridge part to
            the residual (the paper's two steps). The two agree when the summed features
            span the element counts; otherwise only the joint fit can be exact.
        random_state: seed for CV folds and sparse-point selection.
        choices: ``None`` (default) fits the model as parameterised. Otherwise a sequence
            of parameter overrides (dicts over ``CHOICE_KEYS``: zeta, normalize,
            feature_scaling, solver, n_sparse, selection, chemical_potentials, loss,
            intercept, sigma_grid), or the name of one in ``CHOICE_PRESETS``: ``"linear_or_kernel"``
            tries ζ=1 on the raw features, ζ=1 on standardised features and ζ=2 on
            normalised rows. Each is fitted with σ by CV on the same folds, and the one with
            the lowest cross-validated RMSE is kept (needs ``sigma=None``).
        cv_metric: the held-out error per atom by which CV compares models: ``"rmse"``
            (default) or ``"mae"`` (the error learning curves report; less swayed by a few
            outlying structures). It chooses the scaling with ``feature_scaling="cv"`` and
            the entry with ``choices``, each at its own σ; σ itself is always the one of
            lowest held-out RMSE of what the loss weighs: per atom with
            ``loss="per_atom"``, of the total energies with ``loss="per_structure"`` (as
            ridge regression's own CV on summed descriptors). Measured on QM9, choosing σ
            by MAE made the ζ=1 ν=2 fits 10% worse at 2000 molecules.
        combine: with ``choices``, ``"best"`` (default) keeps the entry of lowest CV error;
            ``"stack"`` predicts with the convex combination Σ_k w_k E_k (w ≥ 0, Σ w = 1) of
            all entries whose out-of-fold predictions (same folds, each at its σ) have the
            lowest ``cv_metric`` (stacking, :mod:`slimsoap.models.stacking`): never above the
            best entry's CV error, and less swayed by which entry wins the CV by a hair.
        loss: ``"per_atom"`` (default, the paper's Σ = σ·n_atoms: residuals per atom) or
            ``"per_structure"`` (Σ = σ: residuals of the total energies, as plain ridge
            on summed descriptors); the CV error is per atom either way.
        intercept: add an unpenalised constant energy per structure b (energy units),
            E(A) = b + Σ_α n_α μ_α + local part, fitted with the ridge part (after μ with
            ``chemical_potentials="separate"``: what ridge with an intercept on centred
            summed descriptors fits to the residual of the chemical potentials). Default
            False (no constant: an empty structure has zero energy).

    Fitted attributes: ``elements_`` (Z of the elements seen), ``mu_`` (chemical
    potentials), ``sigma_``, ``solver_``, ``zeta_`` and ``normalize_`` (those used: they
    differ from ``zeta``/``normalize`` when ``choices`` picked another),
    ``intercept_`` (b, energy units; 0.0 without ``intercept``),
    ``feature_scaling_`` (the scaling used: None or ``"standard"``), ``feature_scale_``
    ((d,) divisor of each feature, ones without scaling; the stored weights and points
    already include it, so that predictions take the features as given), with CV
    ``cv_sigmas_``, ``cv_rmse_`` and ``cv_mae_`` (the held-out RMSE and MAE per atom for
    each σ, pooled over ``cv_repeats``) and ``cv_best_`` (the ``cv_metric`` at ``sigma_``), and
    with ``choices`` ``choice_`` (the entry kept; with ``combine="stack"`` the one of largest
    weight, whose attributes the model shows), ``choice_index_`` (its position),
    ``cv_choice_rmse_`` ({label: its lowest CV ``cv_metric``} for every entry),
    ``candidates_`` (the fitted model of every entry, in order) and ``stack_weights_``
    ((n_entries,) weights of the stack; None unless ``combine="stack"``).
    ``cv_predictions_`` (n_structures,) are the out-of-fold predictions at ``sigma_`` of the
    first partition (of the stack, for a stack; NaN for skipped structures) and
    ``cv_repeat_predictions_`` (n_structures, cv_repeats) those of every partition.
    """

    def __init__(
        self,
        zeta: int = 1,
        sigma: float | None = None,
        sigma_grid: Sequence[float] | None = None,
        n_folds: int | str = 10,
        solver: str = "auto",
        n_sparse: int = 1000,
        selection: str = "cur",
        normalize: bool = False,
        max_exact_atoms: int = 5000,
        chunk_size: int = 2048,
        chemical_potentials: str = "joint",
        feature_scaling: str | None = None,
        random_state: int = 0,
        choices: str | Sequence[dict] | None = None,
        cv_metric: str = "rmse",
        combine: str = "best",
        loss: str = "per_atom",
        intercept: bool = False,
        cv_repeats: int = 1,
        scale_floor: float = 1e-3,
    ):
        self.scale_floor = scale_floor
        self.cv_repeats = cv_repeats
        self.loss = loss
        self.intercept = intercept
        self.choices = choices
        self.cv_metric = cv_metric
        self.combine = combine
        self.feature_scaling = feature_scaling
        self.chemical_potentials = chemical_potentials
        self.zeta = zeta
        self.sigma = sigma
        self.sigma_grid = sigma_grid
        self.n_folds = n_folds
        self.solver = solver
        self.n_sparse = n_sparse
        self.selection = selection
        self.normalize = normalize
        self.max_exact_atoms = max_exact_atoms
        self.chunk_size = chunk_size
        self.random_state = random_state

    _PARAMS = (
        "zeta",
        "sigma",
        "sigma_grid",
        "n_folds",
        "solver",
        "n_sparse",
        "selection",
        "normalize",
        "max_exact_atoms",
        "chunk_size",
        "chemical_potentials",
        "feature_scaling",
        "random_state",
        "choices",
        "cv_metric",
        "combine",
        "loss",
        "intercept",
        "cv_repeats",
        "scale_floor",
    )

    # ------------------------------------------------------------------ preparation
    def _resolve_solver(self, n_atoms: int) -> str:
        zeta = check_int("zeta", self.zeta, 1)
        if self.solver not in ("auto", "primal", "exact", "sparse"):
            raise ValueError(f"unknown solver {self.solver!r}; use auto, primal, exact, sparse")
        if self.solver == "primal" and zeta != 1:
            raise ValueError(
                f"the primal solver needs zeta=1 (got zeta={zeta}); use exact or sparse"
            )
        if self.solver != "auto":
            return self.solver
        if zeta == 1:
            return "primal"
        return "exact" if n_atoms <= self.max_exact_atoms else "sparse"

    def _prepare(self, X, structure_index, species, normalize: bool):
        X = check_features(X)
        if check_bool("normalize", normalize):
            X = unit_rows(X)[0]
        s = np.asarray(structure_index)
        n_structures = check_structure_index(s, X.shape[0])
        numbers = as_numbers(species)
        if len(numbers) != X.shape[0]:
            raise ValueError(f"species has {len(numbers)} entries for {X.shape[0]} atoms")
        return X, s, n_structures, numbers

    def _design(self, X, s, n_structures, sparse_points, nystrom):
        """Per-structure design: summed features (primal), or kernel to sparse points."""
        if self.solver_ == "primal":
            return structure_matrix(s, n_structures) @ X
        K = structure_to_points_kernel(
            X, s, n_structures, sparse_points, self.zeta, self.chunk_size
        )
        return K @ nystrom

    # --------------------------------------------------------------------- fitting
    def fit(
        self,
        X: Matrix,
        structure_index: np.ndarray,
        energies: np.ndarray,
        species: Sequence[str | int] | np.ndarray,
    ) -> EnergyModel:
        """Fit on per-atom features ``X`` (n_atoms, d), ``structure_index`` (n_atoms,),
        total ``energies`` (n_structures,) and per-atom ``species`` (n_atoms,)."""
        self.stack_weights_ = None
        if self.combine not in ("best", "stack"):
            raise ValueError(f"combine must be 'best' or 'stack', got {self.combine!r}")
        if self.choices is not None:
            return self._fit_choices(X, structure_index, energies, species)
        if self.combine == "stack":
            raise ValueError("combine='stack' needs choices (the models to combine)")
        X, s, n_structures, numbers = self._prepare(X, structure_index, species, self.normalize)
        E = np.asarray(energies, dtype=np.float64)
        if E.shape != (n_structures,):
            raise ValueError(f"energies must have shape ({n_structures},), got {E.shape}")
        check_finite("energies", E)
        if self.sigma is not None:
            check_positive("sigma", self.sigma)
        self.solver_ = self._resolve_solver(X.shape[0])
        self.elements_ = np.unique(numbers)
        counts = element_counts(numbers, s, self.elements_, n_structures)
        n_atoms = counts.sum(axis=1)
        choices = self._scaling_choices()
        fits = [self._fit_scaled(X, s, n_structures, counts, E, n_atoms, c) for c in choices]
        if len(fits) > 1:
            self.cv_scaling_rmse_ = {str(c): f["cv_best_"] for c, f in zip(choices, fits)}
        best = min(fits, key=lambda f: f["cv_best_"])
        for key, value in best.items():
            setattr(self, key, value)
        self.zeta_, self.normalize_ = int(self.zeta), bool(self.normalize)
        return self

    def _choices(self) -> list[dict]:
        """The ``choices`` entries, validated."""
        choices = self.choices
        if isinstance(choices, str):
            if choices not in CHOICE_PRESETS:
                raise ValueError(
                    f"unknown choices preset {choices!r}; use one of {list(CHOICE_PRESETS)} "
                    "or a list of parameter dicts"
                )
            choices = CHOICE_PRESETS[choices]
        if isinstance(choices, dict) or not isinstance(choices, Sequence) or not choices:
            raise ValueError(
                f"choices must be a preset name or a non-empty list of dicts, got {choices!r}"
            )
        out = []
        for c in choices:
            if not isinstance(c, dict):
                raise ValueError(f"each entry of choices must be a dict, got {c!r}")
            unknown = sorted(set(c) - set(CHOICE_KEYS))
            if unknown:
                raise ValueError(f"choices entry {c} sets {unknown}; it may set {CHOICE_KEYS}")
            out.append(dict(c))
        if self.sigma is not None:
            raise ValueError("choices needs sigma=None (each entry's σ is chosen by CV)")
        return out

    def _fit_choices(self, X, structure_index, energies, species) -> EnergyModel:
        """Fit every entry of ``choices`` (σ by CV, same folds); keep the best, or with
        ``combine="stack"`` the convex combination of all that cross-validates best."""
        choices = self._choices()
        base = {**self.get_params(), "choices": None, "combine": "best"}
        fitted = [
            EnergyModel(**{**base, **c}).fit(X, structure_index, energies, species) for c in choices
        ]
        scores = [m.cv_best_ for m in fitted]
        top = int(np.argmin(scores))
        weights, score = np.eye(len(fitted))[top], scores[top]
        if self.combine == "stack":
            # (n_structures · cv_repeats, n_entries): every partition's held-out predictions
            held_out = np.stack([m.cv_repeat_predictions_ for m in fitted], axis=-1)
            n_repeats = held_out.shape[1]
            held_out = held_out.reshape(-1, len(fitted))
            ok = np.isfinite(held_out).all(axis=1)
            n_atoms = np.repeat(np.bincount(np.asarray(structure_index)), n_repeats)
            E = np.repeat(np.asarray(energies, dtype=np.float64), n_repeats)
            residuals = (held_out[ok] - E[ok, None]) / n_atoms[ok, None]
            blend = stack_weights(residuals, self.cv_metric)
            blend_score = stack_score(residuals, blend, self.cv_metric)
            # a blend no better than the best entry (to rounding, as each entry scores
            # itself) is that entry: the stack is never worse than its best member on CV
            if blend_score < score:
                weights, score = blend, blend_score
        best = int(np.argmax(weights))
        for key, value in vars(fitted[best]).items():
            if key.endswith("_"):
                setattr(self, key, value)
        self.choice_, self.choice_index_ = choices[best], best
        self.cv_choice_rmse_ = {
            choice_label(c): float(m.cv_best_) for c, m in zip(choices, fitted, strict=True)
        }
        self.candidates_ = fitted
        if self.combine == "stack":
            self.stack_weights_ = weights
            self.cv_repeat_predictions_ = (held_out @ weights).reshape(-1, n_repeats)
            self.cv_predictions_ = self.cv_repeat_predictions_[:, 0]
            self.cv_best_ = float(score)
        return self

    def _scaling_choices(self) -> list[str | None]:
        if self.feature_scaling not in (None, "standard", "cv"):
            raise ValueError(
                f"feature_scaling must be None, 'standard' or 'cv', got {self.feature_scaling!r}"
            )
        if self.feature_scaling == "cv":
            if self.sigma is not None:
                raise ValueError("feature_scaling='cv' needs sigma=None (chosen by CV)")
            return [None, "standard"]
        return [self.feature_scaling]

    def _fit_scaled(self, X, s, n_structures, counts, E, n_atoms, scaling) -> dict:
        """Fitted attributes (``cv_best_``: the lowest CV score) for one feature scaling."""
        fit: dict = {"feature_scaling_": scaling}
        if scaling == "standard":
            phi = dense(structure_matrix(s, n_structures) @ X)
            std = phi.std(axis=0) if n_structures > 1 else np.zeros(X.shape[1])
            scale = standard_scales(std, self.scale_floor)
            X = _divide_columns(X, scale)
        else:
            scale = np.ones(X.shape[1])
        fit["feature_scale_"] = scale
        if self.solver_ == "sparse":
            m = check_int("n_sparse", self.n_sparse, 1)
            idx = select_sparse_points(X, min(m, X.shape[0]), self.selection, self.random_state)
            fit["sparse_points_"] = X[idx]
            K_mm = dense(X[idx] @ X[idx].T) ** self.zeta
            fit["nystrom_"] = nystrom_map(K_mm)
        if self.solver_ == "exact":
            fit.update(X_train_=X, s_train_=s, n_train_=n_structures)
            Z = structure_kernel(X, s, n_structures, X, s, n_structures, self.zeta, self.chunk_size)
        else:
            Z = self._design(X, s, n_structures, fit.get("sparse_points_"), fit.get("nystrom_"))

        if self.sigma is None:
            sigmas, rmse, mae, held_out = self._cross_validate(Z, counts, E, n_atoms)
            best = int(np.argmin(self._loss_rmse(held_out, E, rmse)))  # cv_metric: models
            fit.update(cv_sigmas_=sigmas, cv_rmse_=rmse, cv_mae_=mae, sigma_=float(sigmas[best]))
            fit["cv_repeat_predictions_"] = held_out[:, best]
            fit["cv_predictions_"] = held_out[:, best, 0]
            fit["cv_best_"] = float(self._cv_score(rmse, mae)[best])
        else:
            fit.update(sigma_=float(self.sigma), cv_best_=float("nan"))

        solver, mu = self._solver(Z, counts, E, n_atoms)
        coef, offsets = solver.solve_many(np.array([fit["sigma_"]]))
        fit["mu_"], fit["intercept_"] = self._split_offsets(mu, offsets, counts.shape[1])
        # fold the scaling into what is stored: (x/s)·w = x·(w/s), (x/s)·(y/s) = x·(y/s²)
        if self.solver_ == "exact":
            fit["beta_"] = coef[:, 0]
            fit["X_train_"] = _divide_columns(X, scale)
        elif self.solver_ == "primal":
            fit["weights_"] = coef[:, 0] / scale
        else:
            fit["weights_"] = fit["nystrom_"] @ coef[:, 0]
            fit["sparse_points_"] = _divide_columns(fit["sparse_points_"], scale)
        return fit

    def _offsets(self, counts: np.ndarray) -> np.ndarray | None:
        """(n_structures, e) unpenalised columns the solver fits with the ridge part: the
        element counts with joint μ, then a column of ones with ``intercept`` (None if
        none)."""
        cols = [counts] if self.chemical_potentials == "joint" else []
        if check_bool("intercept", self.intercept):
            cols.append(np.ones((counts.shape[0], 1)))
        return np.hstack(cols) if cols else None

    def _split_offsets(self, mu, offsets, n_elements: int) -> tuple[np.ndarray, float]:
        """μ (n_elements,) and b of a fit at one σ, from the separate ``mu`` (or None) and
        the solver's unpenalised coefficients ``offsets`` ((e, 1) or None)."""
        coef = np.zeros(0) if offsets is None else offsets[:, 0]
        if mu is None:
            mu, coef = coef[:n_elements], coef[n_elements:]
        return mu, float(coef[0]) if len(coef) else 0.0

    def _solver(self, Z, counts, E, n_atoms):
        """Solver for these structures and, for separate chemical potentials, their μ."""
        if self.chemical_potentials not in ("joint", "separate"):
            raise ValueError(
                f"chemical_potentials must be 'joint' or 'separate', got "
                f"{self.chemical_potentials!r}"
            )
        if self.loss not in ("per_atom", "per_structure"):
            raise ValueError(f"loss must be 'per_atom' or 'per_structure', got {self.loss!r}")
        cls = KernelRidge if self.solver_ == "exact" else WeightedRidge
        rows = n_atoms if self.loss == "per_atom" else np.ones_like(n_atoms)
        if self.chemical_potentials == "joint":
            return cls(Z, rows, E, self._offsets(counts)), None
        mu = fit_chemical_potentials(counts, E)
        return cls(Z, rows, E - counts @ mu, self._offsets(counts)), mu

    def _cross_validate(self, Z, counts, E, n_atoms):
        """σ grid, held-out RMSE and MAE per atom (each (n_sigma,)) of ``cv_repeats`` times
        k-fold CV, and the held-out predictions (n_structures, n_sigma, cv_repeats) (NaN for
        skipped structures)."""
        sigmas = np.asarray(
            DEFAULT_SIGMA_GRID if self.sigma_grid is None else self.sigma_grid, dtype=np.float64
        )
        if sigmas.ndim != 1 or len(sigmas) == 0 or np.any(sigmas <= 0):
            raise ValueError("sigma_grid must be a non-empty list of positive numbers")
        n = len(E)
        repeats = check_int("cv_repeats", self.cv_repeats, 1)
        if isinstance(self.n_folds, str):
            if self.n_folds != "loo":
                raise ValueError(f"n_folds must be an integer ≥ 2 or 'loo', got {self.n_folds!r}")
            if repeats > 1:
                raise ValueError(
                    f"cv_repeats={repeats} with n_folds='loo': leave-one-out has one partition"
                )
            return sigmas, *self._leave_one_out(Z, counts, E, n_atoms, sigmas)
        k = check_int("n_folds", self.n_folds, 2)
        if k > n:
            raise ValueError(f"n_folds={k} exceeds the number of structures ({n})")
        sq, ab, n_used = np.zeros(len(sigmas)), np.zeros(len(sigmas)), 0
        held_out = np.full((n, len(sigmas), repeats), np.nan)
        splits = [
            (r, train, test)
            for r in range(repeats)
            for train, test in kfold_splits(n, k, self.random_state + r)
        ]
        for r, train, test in splits:
            if self.solver_ == "exact":
                Z_train, Z_test = Z[np.ix_(train, train)], Z[np.ix_(test, train)]
            else:
                Z_train, Z_test = Z[train], Z[test]
            solver, mu = self._solver(Z_train, counts[train], E[train], n_atoms[train])
            pred = solver.predict_many(Z_test, self._offsets(counts[test]), sigmas)
            if mu is not None:
                pred += (counts[test] @ mu)[:, None]
            # held-out structures with an element the fold never saw have no μ: skip them
            ok = counts[test][:, counts[train].sum(axis=0) == 0].sum(axis=1) == 0
            err = (pred[ok] - E[test[ok], None]) / n_atoms[test[ok], None]
            sq += np.sum(err**2, axis=0)
            ab += np.sum(np.abs(err), axis=0)
            n_used += int(ok.sum())
            held_out[test[ok], :, r] = pred[ok]
        return sigmas, np.sqrt(sq / n_used), ab / n_used, held_out

    def _loss_rmse(self, held_out: np.ndarray, E: np.ndarray, rmse: np.ndarray) -> np.ndarray:
        """Held-out RMSE (n_sigma,) of what the loss weighs: ``rmse`` (per atom) for
        ``loss="per_atom"``, else that of the total energies from the held-out predictions
        (n_structures, n_sigma, repeats) (NaN at every σ where skipped; a σ with non-finite
        errors scores inf)."""
        if self.loss != "per_structure":
            return rmse
        err = held_out - E[:, None, None]
        used = ~np.isnan(held_out).all(axis=1)  # (n_structures, repeats)
        with np.errstate(invalid="ignore", over="ignore"):
            out = np.sqrt(np.mean(err.transpose(0, 2, 1)[used] ** 2, axis=0))
        return np.where(np.isfinite(out), out, np.inf)

    def _leave_one_out(self, Z, counts, E, n_atoms, sigmas):
        """Exact leave-one-out CV from one decomposition (``solvers``' ``loo_many``): RMSE
        and MAE per atom (n_sigma,) and predictions (n_structures, n_sigma, 1). A structure
        with an element no other structure has is skipped (NaN), as k-fold skips one whose
        element its fold never saw; a σ whose held-out errors are not finite (rounding at
        interpolation) scores inf."""
        solver, mu = self._solver(Z, counts, E, n_atoms)
        pred = solver.loo_many(sigmas)
        if mu is not None:
            pred += (counts @ mu)[:, None]
        alone = np.count_nonzero(counts, axis=0) == 1
        ok = ~np.any(counts[:, alone] > 0, axis=1)
        err = (pred[ok] - E[ok, None]) / n_atoms[ok, None]
        with np.errstate(invalid="ignore", over="ignore"):
            rmse = np.sqrt(np.mean(err**2, axis=0))
            mae = np.mean(np.abs(err), axis=0)
        bad = ~(np.isfinite(rmse) & np.isfinite(mae))
        rmse[bad], mae[bad] = np.inf, np.inf
        pred[~ok] = np.nan
        return rmse, mae, pred[:, :, None]

    def _cv_score(self, rmse: np.ndarray, mae: np.ndarray) -> np.ndarray:
        """The held-out error ``cv_metric`` names, per σ."""
        if self.cv_metric not in ("rmse", "mae"):
            raise ValueError(f"cv_metric must be 'rmse' or 'mae', got {self.cv_metric!r}")
        return rmse if self.cv_metric == "rmse" else mae

    # ------------------------------------------------------------------ prediction
    def predict(
        self, X: Matrix, structure_index: np.ndarray, species: Sequence[str | int] | np.ndarray
    ) -> np.ndarray:
        """Total energies (n_structures,) of new structures given like in ``fit``."""
        if not hasattr(self, "mu_"):
            raise RuntimeError("EnergyModel is not fitted: call fit() first")
        if getattr(self, "stack_weights_", None) is not None:
            return self.combine_candidates(
                [
                    m.predict(X, structure_index, species) if w > 0 else None
                    for w, m in zip(self.stack_weights_, self.candidates_, strict=True)
                ]
            )
        X, s, n_structures, numbers = self._prepare(X, structure_index, species, self.normalize_)
        if X.shape[1] != len(self.feature_scale_):
            raise ValueError(
                f"features have {X.shape[1]} columns; the model was fitted on "
                f"{len(self.feature_scale_)}"
            )
        counts = element_counts(numbers, s, self.elements_, n_structures)
        if self.solver_ == "exact":
            K = structure_kernel(
                X,
                s,
                n_structures,
                self.X_train_,
                self.s_train_,
                self.n_train_,
                self.zeta_,
                self.chunk_size,
            )
            local = K @ self.beta_
        elif self.solver_ == "primal":
            local = dense(structure_matrix(s, n_structures) @ X @ self.weights_).ravel()
        else:
            local = (
                structure_to_points_kernel(
                    X, s, n_structures, self.sparse_points_, self.zeta_, self.chunk_size
                )
                @ self.weights_
            )
        return counts @ self.mu_ + self.intercept_ + local

    def predict_candidates(
        self, X: Matrix, structure_index: np.ndarray, species: Sequence[str | int] | np.ndarray
    ) -> list[np.ndarray]:
        """Total energies (n_structures,) of every fitted ``choices`` entry, in order
        (``candidates_``); :meth:`combine_candidates` turns them into :meth:`predict`'s
        result without predicting again."""
        if not hasattr(self, "candidates_"):
            raise RuntimeError("predict_candidates needs a model fitted with choices")
        return [m.predict(X, structure_index, species) for m in self.candidates_]

    def combine_candidates(self, predictions: Sequence[np.ndarray | None]) -> np.ndarray:
        """The model's prediction from its entries' ``predictions`` (:meth:`predict_candidates`;
        entries of zero weight may be None): Σ_k w_k E_k for a stack, else the kept entry's."""
        weights = getattr(self, "stack_weights_", None)
        if weights is None:
            return predictions[self.choice_index_]
        return sum(w * p for w, p in zip(weights, predictions, strict=True) if w > 0)

    def calculator(self, descriptor, **kwargs):
        """An ASE calculator of this model on ``descriptor`` (the one it was fitted with):
        :class:`~slimsoap.models.ase_calculator.SlimsoapCalculator`."""
        from slimsoap.models.ase_calculator import SlimsoapCalculator

        return SlimsoapCalculator(self, descriptor=descriptor, **kwargs)
