"""slimsoap's species-block position gradients are featomic's, entry for entry, when featomic
runs on slimsoap's radial integrals (``soap.to_featomic()``): the race of
``benchmarks/bench_gradients.py`` compares the same numbers."""

import numpy as np
import pytest
from ase.build import bulk, molecule

from slimsoap import SOAP
from slimsoap.io.translate import featomic_gradient_difference


def frames():
    rng = np.random.default_rng(8)
    cells = []
    for cubic in (True, False, True):
        atoms = bulk("Cu", "fcc", a=3.7, cubic=cubic)
        atoms.symbols = rng.choice(["Cu", "Ag"], len(atoms))
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        cells.append(atoms)
    return cells[:2] + [molecule("CH3CH2OH")] + cells[2:]


def test_sparse_position_gradients_are_featomic_s():
    featomic = pytest.importorskip("featomic")
    data = frames()
    soap = SOAP(["H", "C", "O", "Cu", "Ag"], r_cut=3.5, n_max=4, l_max=3, sigma=0.4,
                cutoff_width=0.6)  # fmt: skip
    F = soap.compute(data, gradients=True, sparse=True, strain=False)
    tm = featomic.SoapPowerSpectrum(**soap.to_featomic()).compute(data, gradients=["positions"])
    worst, top, seen = featomic_gradient_difference(soap, F, data, tm)
    assert top > 0.1 and worst <= 1e-8 * top, (worst, top)
    # every entry slimsoap stores with a non-zero is one featomic has
    dense = np.abs(np.asarray(F.gradients)).max(axis=(1, 2))
    assert set(np.flatnonzero(dense > 0).tolist()) <= seen
