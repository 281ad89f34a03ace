"""Finite-difference checks of the options' gradients, shared by tests/options."""

import numpy as np


def dense_pair_gradients(features, n_atoms):
    """(n_rows, n_atoms, 3, F) ∂x_row/∂r_atom from ``gradient_pairs``/``gradients``."""
    G = np.zeros((features.values.shape[0], n_atoms, 3, features.values.shape[1]))
    for (row, atom), g in zip(features.gradient_pairs, np.asarray(features.gradients)):
        G[row, atom] += g
    return G


def assert_position_gradients(soap, atoms, h=1e-5, rtol=1e-6, **options):
    """Central differences of ``soap.compute(atoms, **options).values`` in every atom's
    coordinates equal the analytic gradients (dense, from gradient_pairs)."""
    F = soap.compute(atoms, gradients=True, **options)
    G = dense_pair_gradients(F, len(atoms))
    scale = np.abs(G).max()
    assert scale > 0
    for a in range(len(atoms)):
        for x in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[a, x] += h
            minus.positions[a, x] -= h
            fd = soap.compute(plus, **options).values - soap.compute(minus, **options).values
            np.testing.assert_allclose(G[:, a, x], fd / (2 * h), atol=rtol * scale)
    return F


def assert_strain_gradients(soap, atoms, h=1e-5, rtol=1e-6, **options):
    """∂x/∂ε_ba by central finite strain equals ``strain_gradients[:, a, b]``."""
    F = soap.compute(atoms, gradients=True, **options)
    scale = np.abs(F.strain_gradients).max()
    for a in range(3):
        for b in range(3):
            eps = np.zeros((3, 3))
            eps[b, a] = h
            plus, minus = atoms.copy(), atoms.copy()
            plus.set_cell(atoms.cell @ (np.eye(3) + eps).T, scale_atoms=True)
            minus.set_cell(atoms.cell @ (np.eye(3) - eps).T, scale_atoms=True)
            fd = soap.compute(plus, **options).values - soap.compute(minus, **options).values
            np.testing.assert_allclose(F.strain_gradients[:, a, b], fd / (2 * h), atol=rtol * scale)
