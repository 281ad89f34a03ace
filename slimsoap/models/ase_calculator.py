"""ASE calculator driven by a fitted slimsoap model (``SparseGP`` or ``EnergyModel``).

One call of :meth:`SlimsoapCalculator.calculate` computes the descriptor of the geometry
once, with position gradients (and strain gradients for 3-D periodic cells), and fills
every property at once, so repeated ``get_*`` calls at one geometry cost nothing (ASE
keeps the results until the atoms change).

Properties and units (ASE's): ``energy`` and ``free_energy`` (eV, equal: the models have
no electronic entropy), ``energies`` (per-atom energies, eV, summing to ``energy``),
``forces`` (eV/Å, −∂E/∂r) and ``stress`` ((1/V)∂E/∂ε in eV/Å³, Voigt order xx, yy, zz,
yz, xz, xy; 3-D periodic cells only).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from slimsoap._arrays import dense
from slimsoap._linalg import project_rows, unit_rows
from slimsoap.features import Features
from slimsoap.models.pair_baseline import PairBaseline
from slimsoap.models.ridge import EnergyModel
from slimsoap.models.sparse_gp import SparseGP, _row_dot
from slimsoap.soap.calculator import SOAP
from slimsoap.systems.neighbours import neighbour_list


class SlimsoapCalculator(Calculator):
    """ASE calculator for a fitted :class:`SparseGP` or :class:`EnergyModel`.

    Args:
        model: a fitted ``SparseGP`` or ``EnergyModel``.
        descriptor: object with ``compute(frames, gradients=...) -> Features``; defaults
            to ``model.descriptor`` (an ``EnergyModel`` has none, so pass the one it was
            fitted with).
        forces: compute forces and stress (needs a descriptor with gradients); with
            ``False`` only ``energy``, ``free_energy`` and ``energies`` are available.
        sparse: ask the descriptor for species-block sparse values and gradients
            (``SOAP.compute(sparse=True)``: same numbers, less memory and work). ``None``
            uses them whenever the descriptor is a ``SOAP`` without ``normalize``.
        **kwargs: passed to :class:`ase.calculators.calculator.Calculator`.

    Attributes:
        n_descriptor_calls: descriptor computations so far (one per new geometry).
    """

    def __init__(
        self,
        model: SparseGP | EnergyModel,
        descriptor=None,
        forces: bool = True,
        sparse: bool | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(model, SparseGP | EnergyModel):
            raise TypeError(f"model must be a SparseGP or EnergyModel, got {type(model).__name__}")
        if not hasattr(model, "elements_"):
            raise RuntimeError(f"{type(model).__name__} is not fitted: call fit() first")
        descriptor = getattr(model, "descriptor", None) if descriptor is None else descriptor
        if descriptor is None:
            raise ValueError("the model has no descriptor: pass descriptor=...")
        is_soap = isinstance(descriptor, SOAP)
        if sparse is None:
            sparse = is_soap and not descriptor.normalize
        if sparse and not is_soap:
            raise ValueError("sparse=True needs a SOAP descriptor")
        self.model = model
        self.descriptor = descriptor
        self.forces = bool(forces)
        self._soap_options = {"sparse": bool(sparse)} if is_soap else {}
        self.implemented_properties = ["energy", "free_energy", "energies"]
        if self.forces:
            self.implemented_properties += ["forces", "stress"]
        self.n_descriptor_calls = 0

    def calculate(
        self,
        atoms: Atoms | None = None,
        properties: list[str] | tuple[str, ...] = ("energy",),
        system_changes: list[str] = all_changes,
    ) -> None:
        """Fill ``self.results`` with every available property of ``atoms``."""
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        periodic = bool(atoms.pbc.all()) and atoms.cell.rank == 3
        if "stress" in properties and not periodic:
            raise PropertyNotImplementedError("stress needs a 3-D periodic cell (pbc all True)")
        features = self._features(atoms, strain=self.forces and periodic)
        if isinstance(self.model, SparseGP):
            energy, forces, virial, energies = _sparse_gp_terms(self.model, atoms, features)
        else:
            energy, forces, virial, energies = _energy_model_terms(self.model, atoms, features)
        self.results = {"energy": energy, "free_energy": energy, "energies": energies}
        if forces is not None:
            self.results["forces"] = forces
        if virial is not None:
            sym = 0.5 * (virial + virial.T)
            self.results["stress"] = -full_3x3_to_voigt_6_stress(sym) / atoms.get_volume()

    def _features(self, atoms: Atoms, strain: bool) -> Features:
        self.n_descriptor_calls += 1
        if not self.forces:
            return self.descriptor.compute([atoms], gradients=False)
        if self._soap_options:
            return self.descriptor.compute(
                [atoms], gradients=True, strain=strain, **self._soap_options
            )
        features = self.descriptor.compute([atoms], gradients=True)
        if not strain:
            features.strain_gradients = None
        return features


# ------------------------------------------------------------------------ SparseGP
def _sparse_gp_terms(model: SparseGP, atoms: Atoms, features: Features):
    """Energy (eV), forces (n, 3) or None, virial (3, 3) or None, per-atom energies (n,)."""
    pred = model.predict([atoms], features=features, forces=features.gradients is not None)
    Xh, _ = unit_rows(dense(features.values, np.float64))
    spc = model._species_index([atoms])
    M = model.sparse_points_.shape[0]
    _, f0, _ = model._kernel_blocks(Xh, spc)
    energies = model.e0_[spc] + f0 @ model.coef_[:M]
    if model.baseline is not None:
        energies += _baseline_site_energies(model.baseline, atoms, model.elements_, model.coef_[M:])
    virial = None if pred.virial is None else pred.virial[0]
    return float(pred.energy[0]), pred.forces, virial, energies


def _baseline_site_energies(
    baseline: PairBaseline, atoms: Atoms, elements: np.ndarray, coef: np.ndarray
) -> np.ndarray:
    """(n_atoms,) ½ Σ_j φ(r_ij)·c of each atom i: its half of every pair energy, eV."""
    S = len(elements)
    slot = np.zeros((S, S), dtype=np.int64)
    iu = np.triu_indices(S)
    slot[iu] = np.arange(len(iu[0]))
    slot = np.maximum(slot, slot.T)
    nl = neighbour_list(atoms, baseline.r_cut)
    spc = np.searchsorted(elements, atoms.numbers)
    phi, _ = baseline._basis(nl.distances)
    c = coef.reshape(-1, baseline.n_basis)[slot[spc[nl.centres], spc[nl.neighbours]]]
    pair = 0.5 * np.einsum("pk,pk->p", phi, c)
    return np.bincount(nl.centres, weights=pair, minlength=len(atoms))


# --------------------------------------------------------------------- EnergyModel
def _energy_model_terms(model: EnergyModel, atoms: Atoms, features: Features):
    """Energy, forces, virial and per-atom energies of an ``EnergyModel``:
    E = b + Σ_i μ(s_i) + ε(x_i) (b: ``intercept_``, an equal share per atom),
    F = −Σ_i ∂ε/∂x_i · ∂x_i/∂r, W = −Σ_i ∂ε/∂x_i · ∂x_i/∂ε.
    A stack (``combine="stack"``) is the weighted sum of its members' terms."""
    if getattr(model, "stack_weights_", None) is not None:
        members = zip(model.stack_weights_, model.candidates_, strict=True)
        parts = [(w, _energy_model_terms(m, atoms, features)) for w, m in members if w > 0]
        return tuple(
            None if parts[0][1][i] is None else sum(w * p[i] for w, p in parts) for i in range(4)
        )
    X = dense(features.values, np.float64)
    if model.normalize_:
        Xh, norms = unit_rows(X)
    else:
        Xh, norms = X, np.ones(len(X))
    local, v = _energy_model_local(model, Xh)
    spc = np.searchsorted(model.elements_, atoms.numbers)
    if np.any(model.elements_[np.minimum(spc, len(model.elements_) - 1)] != atoms.numbers):
        unknown = sorted(set(atoms.numbers.tolist()) - set(model.elements_.tolist()))
        raise ValueError(f"atoms contain elements {unknown} not in the training data")
    energies = model.mu_[spc] + model.intercept_ / len(atoms) + local  # b shared by the atoms
    u = v
    if model.normalize_:  # ∂x̂/∂x = (1 − x̂x̂ᵀ)/|x|
        u = np.array(v, dtype=np.float64)
        project_rows(u, Xh, norms)
    forces = virial = None
    if features.gradients is not None:
        pairs = features.gradient_pairs
        dE = _row_dot(features.gradients, u[pairs[:, 0]])
        forces = -np.stack(
            [np.bincount(pairs[:, 1], weights=dE[:, c], minlength=len(atoms)) for c in range(3)],
            axis=1,
        )
    if features.strain_gradients is not None:
        virial = -_row_dot(features.strain_gradients, u).transpose(0, 2, 1).sum(axis=0)
    return float(energies.sum()), forces, virial, energies


def _energy_model_local(model: EnergyModel, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local energies ε(x_i) (n,) and their gradients ∂ε/∂x_i (n, d) for each solver."""
    if model.solver_ == "primal":
        w = np.asarray(model.weights_, dtype=np.float64)
        return X @ w, np.broadcast_to(w, X.shape)
    if model.solver_ == "exact":
        points = dense(model.X_train_)
        weights = model.beta_[model.s_train_]
    else:
        points = dense(model.sparse_points_)
        weights = model.weights_
    t = X @ points.T
    z = model.zeta_
    return t**z @ weights, (z * t ** (z - 1) * weights) @ points
