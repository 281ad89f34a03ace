"""slimsoap's species-block position gradients are featomic's, entry for entry, when featomic
runs on slimsoap's radial integrals (``soap.to_featomic()``): the race of
``benchmarks/bench_gradients.py`` compares the same numbers."""

import numpy as np
import pytest
from ase.build import bulk, molecule

from slimsoap import SOAP
from slimsoap.io.translate import featomic_columns


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
    entry = {(int(r), int(a)): k for k, (r, a) in enumerate(F.gradient_pairs)}
    offsets = np.cumsum([0] + [len(a) for a in data])
    tm = featomic.SoapPowerSpectrum(**soap.to_featomic()).compute(data, gradients=["positions"])
    seen, worst, top = set(), 0.0, 0.0
    for key, block in tm.items():
        _, a, b = (int(v) for v in key.values)
        cols, scale = featomic_columns(soap, (a, b), block.properties.values)
        g = block.gradient("positions")
        samples = block.samples.values[g.samples.values[:, 0]]
        rows = offsets[samples[:, 0]] + samples[:, 1]
        atoms = offsets[g.samples.values[:, 1]] + g.samples.values[:, 2]
        index = np.array([entry[(int(r), int(j))] for r, j in zip(rows, atoms)])
        seen.update(index.tolist())
        ours = F.gradients[index][:, :, cols] * scale
        worst = max(worst, np.abs(ours - g.values).max())
        top = max(top, np.abs(g.values).max())
    assert top > 0.1 and worst <= 1e-8 * top, (worst, top)
    # every entry slimsoap stores with a non-zero is one featomic has
    dense = np.abs(np.asarray(F.gradients)).max(axis=(1, 2))
    assert set(np.flatnonzero(dense > 0).tolist()) <= seen
