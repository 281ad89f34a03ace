"""nu1mu1, mu2 and species_diagonal against DScribe's mu1nu1, mu2 and crossover modes (gto).

Conventions (fixed, not fitted), as for the full spectrum (tests/peers/test_dscribe_soap.py):
DScribe reports p = π √(8 / (2l+1)) · Σ_m c c' and stores no √2, while slimsoap's symmetric
blocks carry √2 on off-diagonal entries. Orders:
- ``mu1nu1``: species α, then l, then n, then n' (all n, n') — our (l, "α:n", "total:n'");
- ``mu2``: l, then n ≤ n' — our (l, "total:n", "total:n'");
- ``crossover`` (only α = β blocks): species α, then l, then n ≤ n' — our species_diagonal.
"""

import numpy as np
import pytest
from ase.build import molecule

dscribe = pytest.importorskip("dscribe.descriptors")

from structures import random_cluster  # noqa: E402

from slimsoap import SOAP  # noqa: E402

R_CUT = 7.0


def order_and_scale(soap, mode):
    index = {lab: k for k, lab in enumerate(soap.labels())}
    sp, N, L = soap.species, soap.n_max, soap.l_max
    cols, scale = [], []

    def add(l, a, b, symmetric_offdiag):
        cols.append(index[(l, a, b)])
        scale.append(
            np.pi * np.sqrt(8.0 / (2 * l + 1)) / (np.sqrt(2.0) if symmetric_offdiag else 1)
        )

    if mode == "mu1nu1":
        for s in sp:
            for l in range(L + 1):
                for n in range(N):
                    for m in range(N):
                        add(l, f"{s}:n{n}", f"total:n{m}", False)
    elif mode == "mu2":
        for l in range(L + 1):
            for n in range(N):
                for m in range(n, N):
                    add(l, f"total:n{n}", f"total:n{m}", n != m)
    else:
        for s in sp:
            for l in range(L + 1):
                for n in range(N):
                    for m in range(n, N):
                        add(l, f"{s}:n{n}", f"{s}:n{m}", n != m)
    return np.array(cols), np.array(scale)


STRUCTURES = [
    (molecule("CH3CH2OH"), ["H", "C", "O"], 4, 5),
    (
        random_cluster(["H", "C", "N", "O", "C", "N", "O", "H"], seed=11, box=3.0),
        ["H", "C", "N", "O"],
        3,
        6,
    ),
]


@pytest.mark.parametrize(
    "ours, mode", [("nu1mu1", "mu1nu1"), ("mu2", "mu2"), ("species_diagonal", "crossover")]
)
@pytest.mark.parametrize("atoms, species, n_max, l_max", STRUCTURES)
def test_matches_dscribe_mode(atoms, species, n_max, l_max, ours, mode):
    assert atoms.get_all_distances().max() < R_CUT - 1.0
    ref = dscribe.SOAP(
        species=species,
        r_cut=R_CUT,
        n_max=n_max,
        l_max=l_max,
        sigma=0.5,
        rbf="gto",
        periodic=False,
        compression={"mode": mode},
    ).create(atoms)
    soap = SOAP(species, r_cut=R_CUT, n_max=n_max, l_max=l_max, sigma=0.5, compression=ours)
    cols, scale = order_and_scale(soap, mode)
    assert len(cols) == soap.n_features == ref.shape[1]
    got = soap.compute(atoms).values[:, cols] * scale
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-8 * np.abs(ref).max())
