"""Values computed range by range (CoefficientStream): the same numbers, bit for bit, for
any range size and thread count, dense and sparse, and bounded temporaries."""

import numpy as np
import pytest
from ase.build import bulk, molecule

import slimsoap
from slimsoap.soap import expansion
from slimsoap.soap.expansion import CoefficientStream

SPECIES = ["H", "C", "O", "Ni", "Cu", "Pd"]


def _frames():
    rng = np.random.default_rng(3)
    cell = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((3, 2, 2))
    cell.symbols = rng.choice(["Ni", "Cu", "Pd"], len(cell))
    cell.positions += rng.normal(scale=0.08, size=cell.positions.shape)
    pure = bulk("Ni", "fcc", a=3.5, cubic=True).repeat(2)
    return [cell, pure, molecule("CH3OH"), molecule("H2O")]


CASES = [
    ("nu2", {}),
    ("nu1mu1", {}),
    ("nu1mustar1", {}),
    ("random", {"seed": 2}),
    ("species_diagonal", {}),
]


def _compute(soap, frames, sparse):
    x = soap.compute(frames, sparse=sparse).values
    return (x.indptr, x.indices, x.data) if sparse else (x,)


def _same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.dtype == v.dtype and u.shape == v.shape
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name,options", CASES)
def test_ranges_and_threads_give_the_same_bits(monkeypatch, name, options, sparse):
    soap = slimsoap.SOAP(SPECIES, 4.0, 3, 3, compression=name, **options)
    frames = _frames()
    before = slimsoap.get_num_threads()
    try:
        slimsoap.set_num_threads(1)
        reference = _compute(soap, frames, sparse)
        # ranges of a few centres: every frame is split, in many pieces
        monkeypatch.setattr(expansion, "STREAM_BYTES", 20_000)
        stream = soap._coefficient_stream(
            np.zeros(len(frames[0]), dtype=np.int64), _neighbours(soap, frames[0]), False
        )[0]
        assert len(stream.ranges()) > 6
        _same(_compute(soap, frames, sparse), reference)
        slimsoap.set_num_threads(2)
        _same(_compute(soap, frames, sparse), reference)
        monkeypatch.setattr(expansion, "STREAM_BYTES", 16 * 2**20)
        _same(_compute(soap, frames, sparse), reference)
    finally:
        slimsoap.set_num_threads(before)
    if sparse:  # and the CSR values are the dense ones (BLAS products there: last bits)
        dense = soap.compute(frames).values
        csr = soap.compute(frames, sparse=True).values.toarray()
        np.testing.assert_allclose(csr, dense, rtol=1e-12, atol=1e-15 * np.abs(dense).max())


def _neighbours(soap, atoms):
    from slimsoap.systems.neighbours import neighbour_list

    return neighbour_list(atoms, soap.r_cut, 0)


def test_stream_coefficients_are_the_expansion_ones():
    soap = slimsoap.SOAP(SPECIES, 4.0, 3, 3, compression="nu1mustar1")
    atoms = _frames()[0]
    whole = soap.expand(atoms).coefficients
    species = np.searchsorted(soap.species_z, atoms.numbers)
    stream, _ = soap._coefficient_stream(species, _neighbours(soap, atoms), False)
    parts = [stream.coefficients(a, b) for a, b in [(0, 5), (5, 6), (6, len(atoms))]]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    # present() is a superset of the non-zero blocks
    nonzero = np.any(whole != 0, axis=(2, 3))
    assert np.all(stream.present()[nonzero])


def test_ranges_bound_the_temporaries_and_cover_the_centres(monkeypatch):
    soap = slimsoap.SOAP(SPECIES, 4.0, 3, 3)
    atoms = _frames()[0]
    species = np.searchsorted(soap.species_z, atoms.numbers)
    nl = _neighbours(soap, atoms)
    stream = CoefficientStream(species, 6, [soap.basis], 0.5, 1.0, nl)
    monkeypatch.setattr(expansion, "STREAM_BYTES", 50_000)
    bounds = stream.ranges()
    assert bounds[0] == 0 and bounds[-1] == len(atoms) and np.all(np.diff(bounds) > 0)
    per_centre = 8 * 6 * 3 * 16
    per_pair = 8 * 4 * 3
    cost = [
        (b - a) * per_centre + (nl.offsets[b] - nl.offsets[a]) * per_pair
        for a, b in zip(bounds[:-1], bounds[1:])
    ]
    biggest = per_centre + np.diff(nl.offsets).max() * per_pair
    assert max(cost) <= 50_000 + biggest


def test_blocks_found_zero_are_trimmed_from_the_csr(monkeypatch):
    """When present() over-estimates (a block that could be non-zero is zero), the CSR
    arrays sized from it are compacted in place: same matrix as the exact path."""
    soap = slimsoap.SOAP(SPECIES, 4.0, 3, 3, compression="nu1mu1")
    frames = [_frames()[0]]
    reference = _compute(soap, frames, True)
    monkeypatch.setattr(
        CoefficientStream, "present", lambda self: np.ones((len(self), self.n_species), bool)
    )
    monkeypatch.setattr(expansion, "STREAM_BYTES", 20_000)
    _same(_compute(soap, frames, True), reference)


@pytest.mark.parametrize("name,options", [("random", {"seed": 2}), ("random", {"seed": 5})])
def test_csr_rows_do_not_depend_on_the_frames_beside_them(monkeypatch, name, options):
    """A frame's CSR rows are the same bits in any batch of frames, over ranges of a few
    centres (the restricted products once rounded an environment with the number of
    environments in its range's species group)."""
    soap = slimsoap.SOAP(SPECIES, 4.0, 3, 3, compression=name, **options)
    frames = _frames()
    monkeypatch.setattr(expansion, "STREAM_BYTES", 20_000)
    every = soap.compute(frames, sparse=True).values
    for part in (frames[:1], frames[:2], frames[1:]):
        first = 0 if part[0] is frames[0] else len(frames[0])
        got = soap.compute(part, sparse=True).values
        want = every[first : first + got.shape[0]]
        _same((got.indptr, got.indices, got.data), (want.indptr, want.indices, want.data))
