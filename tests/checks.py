"""Numerical checks shared by the descriptor tests."""

import numpy as np


def assert_strain_gradients(calc, atoms, h=1e-5, rtol=1e-6):
    """∂x/∂ε_ba by central finite strain (cell and positions deformed by 1 ± ε) equals
    ``calc.compute(atoms, gradients=True).strain_gradients[:, a, b]``."""
    F = calc.compute(atoms, gradients=True)
    scale = np.abs(F.strain_gradients).max()
    for a in range(3):
        for b in range(3):
            eps = np.zeros((3, 3))
            eps[b, a] = h
            plus, minus = atoms.copy(), atoms.copy()
            plus.set_cell(atoms.cell @ (np.eye(3) + eps).T, scale_atoms=True)
            minus.set_cell(atoms.cell @ (np.eye(3) - eps).T, scale_atoms=True)
            fd = (calc.compute(plus).values - calc.compute(minus).values) / (2 * h)
            np.testing.assert_allclose(F.strain_gradients[:, a, b], fd, atol=rtol * scale)
