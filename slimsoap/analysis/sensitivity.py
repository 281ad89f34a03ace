"""Sensitivity matrix Λ = JᵀJ of a descriptor (Parsaeifard et al. 2021; paper §IV.4).

For one environment, J is the Jacobian of the centre's descriptor x (n_features) with
respect to the Cartesian positions of the atoms of that environment (3·n_env columns, atom
by atom, x/y/z inner). A displacement ΔR changes the descriptor by |ΔX|² = ΔRᵀ Λ ΔR, so an
eigenvalue λ ≈ 0 marks a perturbation the descriptor cannot see. Every rotation-invariant
descriptor has 6 zero eigenvalues (3 translations, 3 rotations of the whole environment,
centre included); symmetric environments have more.

The environment is the centre plus every atom with a gradient pair for it (the atoms within
the cutoff): atoms outside the cutoff have zero columns and would only add 3 zero eigenvalues
each, so they are left out.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from ase import Atoms

from slimsoap._arrays import dense
from slimsoap._validation import check_bool, check_finite, check_int
from slimsoap.features import Features


class GradientDescriptor(Protocol):
    """Anything with ``compute(frames, gradients=True) -> Features`` (SOAP, ACSF, ...)."""

    def compute(self, frames: Atoms, gradients: bool = False) -> Features: ...


def jacobian_from_features(features: Features, center: int) -> tuple[np.ndarray, np.ndarray]:
    """Jacobian of row ``center`` of ``features`` with respect to its environment's atoms.

    Args:
        features: a :class:`Features` with gradients.
        center: row (global atom index) whose descriptor is differentiated.

    Returns:
        (J, atoms): J is (n_features, 3·n_env) in feature units per Å, columns
        [atom 0 x, y, z, atom 1 x, ...]; atoms is (n_env,) the global atom indices of the
        column triplets, ascending. Several pairs naming the same atom (periodic images) are
        summed.
    """
    if features.gradients is None or features.gradient_pairs is None:
        raise ValueError("features have no gradients: compute them with gradients=True")
    n_rows = features.values.shape[0]
    center = check_int("center (an atom index)", center, 0, n_rows - 1)
    pairs = np.flatnonzero(features.gradient_pairs[:, 0] == center)
    if pairs.size == 0:
        raise ValueError(f"features hold no gradient pairs for centre {center}")
    atoms, column = np.unique(features.gradient_pairs[pairs, 1], return_inverse=True)
    grads = np.asarray(features.gradients[pairs], dtype=np.float64)  # (p, 3, n_features)
    J = np.zeros((grads.shape[2], atoms.size, 3))
    np.add.at(J, (slice(None), column), np.transpose(grads, (2, 0, 1)))
    return J.reshape(grads.shape[2], 3 * atoms.size), atoms


def sensitivity_from_jacobian(
    jacobian: np.ndarray,
    values: np.ndarray | None = None,
    normalize: bool = False,
    scale: bool = True,
) -> np.ndarray:
    """Eigenvalues of Λ = JᵀJ, sorted descending (and divided by the largest if ``scale``).

    Args:
        jacobian: (n_features, n_coordinates) ∂x/∂R.
        values: (n_features,) descriptor x itself; needed with ``normalize``.
        normalize: give the eigenvalues of the normalised descriptor ``x/|x|`` instead: its
            Jacobian is ``(I − x̂x̂ᵀ) J / |x|``. Leave False when the descriptor was already
            normalised by its calculator (its gradients are then already projected).
        scale: divide by the largest eigenvalue (the paper's plots), else feature units²/Å².

    Returns:
        (n_coordinates,) eigenvalues, computed as the squared singular values of J (more
        accurate than diagonalising JᵀJ for the small ones); when n_features < n_coordinates
        the missing ones are exact zeros.
    """
    normalize, scale = check_bool("normalize", normalize), check_bool("scale", scale)
    J = np.asarray(jacobian, dtype=np.float64)
    if J.ndim != 2:
        raise ValueError(f"jacobian must be 2-D (n_features, n_coordinates), got {J.ndim}-D")
    check_finite("jacobian", J)
    if normalize:
        if values is None:
            raise ValueError("normalize=True needs the descriptor values x to project J")
        x = np.asarray(values, dtype=np.float64).ravel()
        if x.size != J.shape[0]:
            raise ValueError(f"values has {x.size} features, jacobian has {J.shape[0]} rows")
        norm = np.linalg.norm(x)
        if norm == 0:
            raise ValueError("cannot normalise a descriptor whose values are all zero")
        xhat = x / norm
        J = (J - np.outer(xhat, xhat @ J)) / norm
    eig = np.zeros(J.shape[1])
    s = np.linalg.svd(J, compute_uv=False)
    eig[: s.size] = s**2
    if scale:
        if eig[0] == 0:
            raise ValueError("the descriptor does not change with any displacement (J = 0)")
        eig /= eig[0]
    return eig


def sensitivity_eigenvalues(
    descriptor: GradientDescriptor,
    atoms: Atoms,
    center: int,
    normalize: bool = False,
    scale: bool = True,
) -> np.ndarray:
    """Sorted eigenvalues of the sensitivity matrix of atom ``center``'s environment.

    Args:
        descriptor: any object with ``compute(atoms, gradients=True) -> Features``.
        atoms: the structure (one ``ase.Atoms``).
        center: index of the central atom in ``atoms``.
        normalize: eigenvalues of ``x/|x|`` from the gradients of the raw x (see
            :func:`sensitivity_from_jacobian`).
        scale: divide by the largest eigenvalue.

    Returns:
        (3·n_env,) eigenvalues, descending; n_env counts the centre and the atoms within the
        cutoff (those with a gradient pair). Six are zero for an asymmetric environment.
    """
    if not callable(getattr(descriptor, "compute", None)):
        raise ValueError(
            f"descriptor must be a calculator with compute(atoms, gradients=True) (e.g. "
            f"slimsoap.SOAP(...)), got {type(descriptor).__name__} {descriptor!r:.40}"
        )
    features = descriptor.compute(atoms, gradients=True)
    J, _ = jacobian_from_features(features, center)
    row = features.values[center : center + 1]
    return sensitivity_from_jacobian(J, dense(row), normalize=normalize, scale=scale)
