"""One calculator per registered compression and example option set (small N, L), shared by
the gradient, invariance, length and label tests: a compression added to the registry brings
its own cases through ``spec.example_options``."""

import numpy as np
from scipy.spatial.transform import Rotation
from structures import random_cluster

from slimsoap import SOAP, descriptor_length
from slimsoap.soap import compressions

SPECIES = ["H", "C", "O"]


def cases() -> list[tuple[str, dict]]:
    """(compression, SOAP keyword arguments) for every registered name and example."""
    return [
        (name, dict(options))
        for name in compressions.names()
        for options in compressions.get(name).example_options(SPECIES)
    ]


def ids(case_list) -> list[str]:
    return [f"{name}-{i}" for i, (name, _) in enumerate(case_list)]


CASES = cases()
IDS = ids(CASES)


def make(name, options, fit_frames=None, **kwargs):
    """Calculator for a case; one that needs fitting is fitted on ``fit_frames`` (if given)."""
    options = dict(options)
    n_max = options.pop("n_max", 3)
    soap = SOAP(SPECIES, 3.5, n_max, 2, sigma=0.5, compression=name, **options, **kwargs)
    if soap.capabilities.needs_fit and fit_frames is not None:
        soap.fit(fit_frames)
    return soap


def gradient_atoms():
    """The cluster of the finite-difference checks."""
    return random_cluster(["H", "C", "O", "C", "H", "O"], seed=2, box=2.6)


def invariance_atoms():
    """The cluster of the symmetry checks (three C atoms to permute)."""
    return random_cluster(["H", "C", "O", "C", "H", "O", "C"], seed=9, box=2.8)


def check_gradients(soap, atoms, h=1e-5):
    """Pair gradients of ``soap`` equal central finite differences (1e-6 of the largest
    value) for a neighbour-rich atom (0) and one of another species (3)."""
    F = soap.compute(atoms, gradients=True)
    scale = np.abs(F.values).max()
    n = len(atoms)
    dense = np.zeros((n, n, 3, soap.n_features))
    dense[F.gradient_pairs[:, 0], F.gradient_pairs[:, 1]] = F.gradients
    assert np.abs(dense).max() > 0
    for k in (0, 3):
        for d in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[k, d] += h
            minus.positions[k, d] -= h
            fd = (soap.compute(plus).values - soap.compute(minus).values) / (2 * h)
            np.testing.assert_allclose(dense[:, k, d], fd, rtol=0, atol=1e-6 * scale)


def check_invariance(soap, atoms):
    """Values unchanged (1e-10 of the largest) by a rotation with a translation, a mirror,
    and a permutation of the carbon atoms (rows permuted alike)."""
    x = soap.compute(atoms).values
    scale = np.abs(x).max()
    assert scale > 0
    rot = atoms.copy()
    rot.positions = Rotation.random(random_state=3).apply(atoms.positions) + [0.3, -1.0, 2.0]
    np.testing.assert_allclose(soap.compute(rot).values, x, rtol=0, atol=1e-10 * scale)
    mirror = atoms.copy()
    mirror.positions[:, 0] *= -1
    np.testing.assert_allclose(soap.compute(mirror).values, x, rtol=0, atol=1e-10 * scale)
    perm = np.arange(len(atoms))
    carbons = np.flatnonzero(atoms.numbers == 6)
    perm[carbons] = carbons[::-1]
    swapped = atoms[perm]
    np.testing.assert_allclose(soap.compute(swapped).values, x[perm], rtol=0, atol=1e-10 * scale)


def check_length_and_labels(soap):
    """n_features equals ``descriptor_length`` (same compression options) and the number
    of labels; labels are unique (l, channel, channel) triples, l ascending, each l present."""
    S = len(soap.species_z)
    length = descriptor_length(soap.compression, soap.n_max, soap.l_max, S, **soap.options)
    labels = soap.labels()
    assert soap.n_features == length == len(labels)
    assert len(set(labels)) == len(labels)
    ls = [lab[0] for lab in labels]
    assert ls == sorted(ls) and set(ls) == set(range(soap.l_max + 1))
    assert all(isinstance(a, str) and isinstance(b, str) for _, a, b in labels)
