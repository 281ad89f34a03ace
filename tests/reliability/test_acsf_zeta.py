"""ACSF angular terms at large ζ: 2^(1-ζ) underflowed (zeros from ζ ≈ 1100, NaN from 2000)."""

import numpy as np
import pytest
from ase import Atoms

from slimsoap import ACSF


def _triplet(cos):
    """Centre 0 with one neighbour pair at angle arccos(cos); atoms 1.5 Å from the centre."""
    th = np.arccos(cos)
    return Atoms("H3", positions=[[0, 0, 0], [1.5, 0, 0], [1.5 * np.cos(th), 1.5 * np.sin(th), 0]])


@pytest.mark.parametrize("kind", ["g4", "g5"])
@pytest.mark.parametrize("zeta", [2.0, 999.0, 1000.0, 1001.0, 1100.0, 2000.0, 5000.0, 1e5, 2500.5])
def test_large_zeta_matches_the_log_space_value(kind, zeta):
    """G(ζ) / G(1) = ((1 + cosθ)/2)^(ζ-1) for a centre with a single neighbour pair."""
    cos = 0.99999
    atoms = _triplet(cos)

    def g(z):
        acsf = ACSF(["H"], 4.0, **{f"{kind}_params": [[0.05, z, 1.0]]})
        return acsf.compute(atoms).values[0, 0]

    expected = g(1.0) * np.exp((zeta - 1.0) * np.log((1.0 + cos) / 2.0))
    got = g(zeta)
    assert np.isfinite(got) and got > 0
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("zeta", [1e4, 1e6])
def test_large_zeta_gives_zero_not_nan_where_the_value_underflows(zeta):
    x = ACSF(["H"], 4.0, g4_params=[[0.0, zeta, 1.0]]).compute(_triplet(0.0))
    assert np.all(x.values == 0.0)
    x = ACSF(["H"], 4.0, g4_params=[[0.0, zeta, -1.0]]).compute(_triplet(0.0), gradients=True)
    assert np.all(np.isfinite(x.values)) and np.all(np.isfinite(x.gradients))


@pytest.mark.parametrize("zeta", [4.0, 1500.0])
def test_large_zeta_gradients_match_finite_differences(zeta):
    atoms = _triplet(0.9995)
    acsf = ACSF(["H"], 4.0, g4_params=[[0.05, zeta, 1.0]])
    f = acsf.compute(atoms, gradients=True)
    h, scale = 1e-5, np.abs(f.gradients).max()
    for p, (row, atom) in enumerate(f.gradient_pairs):
        for c in range(3):
            up, down = atoms.copy(), atoms.copy()
            up.positions[atom, c] += h
            down.positions[atom, c] -= h
            fd = (acsf.compute(up).values[row] - acsf.compute(down).values[row]) / (2 * h)
            np.testing.assert_allclose(f.gradients[p, c], fd, rtol=1e-6, atol=1e-7 * scale)
