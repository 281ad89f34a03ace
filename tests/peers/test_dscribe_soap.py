"""The full power spectrum against DScribe's (gto, compression off).

Conventions (fixed, not fitted): DScribe orders species pairs (Z_i ≤ Z_j), then l, then
(n ≤ n' when Z_i = Z_j, all n, n' otherwise), and reports
    p_DScribe = π √(8 / (2l+1)) · Σ_m c^{Z_i}_{nlm} c^{Z_j}_{n'lm},
while slimsoap stores the same sum with a √2 on off-diagonal entries of the symmetric block.
Molecules are well inside the cutoff, so DScribe's cutoff padding does not matter.
"""

import numpy as np
import pytest
from ase.build import molecule

dscribe = pytest.importorskip("dscribe.descriptors")

from structures import random_cluster  # noqa: E402

from slimsoap import SOAP  # noqa: E402


def dscribe_order_and_scale(soap):
    """Column of slimsoap and scale factor for each DScribe column."""
    index = {lab: k for k, lab in enumerate(soap.labels())}
    cols, scale = [], []
    sp, N = soap.species, soap.n_max
    for a in range(len(sp)):
        for b in range(a, len(sp)):
            for l in range(soap.l_max + 1):
                for n in range(N):
                    for m in range(n if a == b else 0, N):
                        cols.append(index[(l, f"{sp[a]}:n{n}", f"{sp[b]}:n{m}")])
                        packed = np.sqrt(2.0) if (a, n) != (b, m) else 1.0
                        scale.append(np.pi * np.sqrt(8.0 / (2 * l + 1)) / packed)
    return np.array(cols), np.array(scale)


@pytest.mark.parametrize(
    "atoms, species, n_max, l_max",
    [
        (molecule("CH3CH2OH"), ["H", "C", "O"], 4, 6),
        (
            random_cluster(["H", "C", "N", "O", "C", "N", "O", "H"], seed=11, box=3.0),
            ["H", "C", "N", "O"],
            5,
            8,
        ),
    ],
)
def test_full_spectrum_matches_dscribe(atoms, species, n_max, l_max):
    r_cut = 7.0
    assert atoms.get_all_distances().max() < r_cut - 1.0
    ref = dscribe.SOAP(
        species=species,
        r_cut=r_cut,
        n_max=n_max,
        l_max=l_max,
        sigma=0.5,
        rbf="gto",
        periodic=False,
        compression={"mode": "off"},
    ).create(atoms)
    soap = SOAP(species, r_cut=r_cut, n_max=n_max, l_max=l_max, sigma=0.5, cutoff_width=0.5)
    cols, scale = dscribe_order_and_scale(soap)
    ours = soap.compute(atoms).values[:, cols] * scale
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-8 * np.abs(ref).max())
