"""Species-sparse output, normalisation and small-frame batching of the bispectrum."""

import numpy as np
import pytest
import scipy.sparse as sp
from ase.build import molecule
from checks import assert_strain_gradients
from structures import random_alloy, random_cluster

from slimsoap.bispectrum.calculator import Bispectrum
from slimsoap.features import SparseGradients
from slimsoap.systems.batching import small_frame_runs

SPECIES = ["H", "C", "N", "O"]
NAMES = ["nu3", "nu2mu1", "nu1mu2", "nu1mu1muhat1", "nuhat3", "mu3", "random"]
H = 1e-5


def _frames():
    """Frames whose environments hold different subsets of the species: a cluster with
    an isolated atom, a periodic cell, molecules."""
    cluster = random_cluster(["H", "C", "O", "C", "H", "O"], seed=2, box=2.6)
    cluster += random_cluster(["N"], seed=0)
    cluster.positions[-1] += [8.0, 0.0, 0.0]  # alone: its density holds N only
    return [cluster, random_alloy(["C", "O"], repeat=1, seed=4, a=2.9), molecule("CH3OH")]


def _calc(name, **kw):
    return Bispectrum(SPECIES, 3.0, 2, 2, compression=name, parity="all", **kw)


def _dense_gradients(F, n):
    g = np.asarray(F.gradients)
    out = np.zeros((len(F.frame_index), n, 3, g.shape[-1]), dtype=g.dtype)
    out[F.gradient_pairs[:, 0], F.gradient_pairs[:, 1]] = g
    return out


@pytest.mark.parametrize("name", NAMES)
def test_sparse_values_equal_dense(name):
    frames = _frames()
    calc = _calc(name)
    dense = calc.compute(frames).values
    x = calc.compute(frames, sparse=True).values
    assert sp.issparse(x) and x.shape == dense.shape
    np.testing.assert_array_equal(x.toarray(), dense)
    # only columns of species present are stored: the lone N atom's row holds none of C, H, O
    lone = len(frames[0]) - 1
    stored = x[lone].indices
    labels = calc.labels()
    assert all(not any(ch.startswith(("H:", "C:", "O:")) for ch in labels[k][3:]) for k in stored)


@pytest.mark.parametrize("name", ["nu3", "nu2mu1", "nu1mu1muhat1", "random"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_gradients_equal_dense(name, dtype):
    frames = _frames()
    calc = _calc(name, dtype=dtype)
    dense = calc.compute(frames, gradients=True)
    sparse = calc.compute(frames, gradients=True, sparse=True)
    assert isinstance(sparse.gradients, SparseGradients)
    assert isinstance(sparse.strain_gradients, SparseGradients)
    np.testing.assert_array_equal(sparse.gradient_pairs, dense.gradient_pairs)
    np.testing.assert_array_equal(sparse.values.toarray(), dense.values)
    np.testing.assert_array_equal(np.asarray(sparse.gradients), dense.gradients)
    np.testing.assert_array_equal(np.asarray(sparse.strain_gradients), dense.strain_gradients)
    assert sparse.gradients.dtype == sparse.values.dtype == dtype
    if name == "nu3":  # element maps keep species apart: most of every block is not stored
        assert sparse.gradients.nbytes < 0.5 * dense.gradients.nbytes
    none = calc.compute(frames, gradients=True, sparse=True, strain=False)
    assert none.strain_gradients is None
    np.testing.assert_array_equal(np.asarray(none.gradients), dense.gradients)


def test_center_weight_zero_isolated_atom_is_an_empty_row():
    calc = Bispectrum(SPECIES, 3.0, 2, 2, compression="nu3", center_weight=0.0)
    frames = _frames()
    dense = calc.compute(frames, gradients=True)
    sparse = calc.compute(frames, gradients=True, sparse=True)
    lone = len(frames[0]) - 1
    assert sparse.values[lone].nnz == 0 and not dense.values[lone].any()
    np.testing.assert_array_equal(np.asarray(sparse.gradients), dense.gradients)
    np.testing.assert_array_equal(np.asarray(sparse.strain_gradients), dense.strain_gradients)


@pytest.mark.parametrize("name", ["nu3", "nu1mu1muhat1"])
def test_normalize_values_and_finite_difference_gradients(name):
    atoms = _frames()[0]
    calc, raw = _calc(name, normalize=True), _calc(name)
    F = calc.compute(atoms, gradients=True)
    x = raw.compute(atoms).values
    np.testing.assert_allclose(F.values, x / np.linalg.norm(x, axis=1)[:, None], rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(F.values, axis=1), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(calc.compute(atoms).values, F.values)
    dense = _dense_gradients(F, len(atoms))
    scale = np.abs(F.gradients).max()
    for k in (0, 3):
        for d in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[k, d] += H
            minus.positions[k, d] -= H
            fd = (calc.compute(plus).values - calc.compute(minus).values) / (2 * H)
            np.testing.assert_allclose(dense[:, k, d], fd, atol=1e-6 * scale)
    assert_strain_gradients(calc, random_alloy(["C", "O"], repeat=1, seed=4, a=2.9))


def test_normalize_sparse_values_and_refused_sparse_gradients():
    frames = _frames()
    calc = _calc("nu2mu1", normalize=True)
    dense = calc.compute(frames).values
    np.testing.assert_allclose(calc.compute(frames, sparse=True).values.toarray(), dense,
                               rtol=1e-14, atol=1e-16)  # fmt: skip
    with pytest.raises(ValueError, match="sparse gradients would be dense"):
        calc.compute(frames, gradients=True, sparse=True)
    with pytest.raises(TypeError, match="normalize must be True or False, got 'yes'"):
        _calc("nu3", normalize="yes")
    with pytest.raises(TypeError, match="sparse must be True or False"):
        calc.compute(frames, sparse=1)
    again = Bispectrum(**calc.get_params())
    np.testing.assert_array_equal(again.compute(frames).values, dense)


def _molecules():
    out = [molecule(m) for m in ("CH4", "H2O", "HCN", "CH3OH", "CO2", "NH3", "C6H6")]
    out.insert(3, random_alloy(["C", "O"], repeat=1, seed=4, a=2.9))  # a periodic cell between
    return out


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("gradients", [False, True])
def test_small_frames_batched_equal_one_by_one_bit_for_bit(monkeypatch, gradients, sparse):
    import slimsoap.bispectrum.calculator as module

    frames = _molecules()
    calc = _calc("nu2mu1")
    calls = []
    expand = module.expand
    monkeypatch.setattr(module, "expand", lambda *a, **k: calls.append(1) or expand(*a, **k))
    batched = calc.compute(frames, gradients=gradients, sparse=sparse)
    runs = small_frame_runs(frames, module._BATCH_ATOMS)
    assert len(calls) == len(runs) < len(frames) - 2  # one expansion per run of small frames
    alone = [calc.compute(a, gradients=gradients, sparse=sparse) for a in frames]

    def stack(x):
        return sp.vstack(x).toarray() if sparse else np.concatenate(x)

    np.testing.assert_array_equal(_dense(batched.values), stack([F.values for F in alone]))
    if gradients:
        first = np.cumsum([0] + [len(a) for a in frames])
        pairs = np.concatenate([F.gradient_pairs + f0 for F, f0 in zip(alone, first)])
        np.testing.assert_array_equal(batched.gradient_pairs, pairs)
        for field in ("gradients", "strain_gradients"):
            np.testing.assert_array_equal(
                np.asarray(getattr(batched, field)),
                np.concatenate([np.asarray(getattr(F, field)) for F in alone]),
            )
    # the general neighbour list (no batching) orders pairs differently: the last bits only
    monkeypatch.setattr("slimsoap.systems.batching.SMALL_FRAME", 0)
    general = calc.compute(frames, gradients=gradients, sparse=sparse)
    x = _dense(batched.values)
    np.testing.assert_allclose(_dense(general.values), x, rtol=0, atol=1e-14 * np.abs(x).max())
    if gradients:
        g = np.asarray(batched.gradients)
        np.testing.assert_allclose(np.asarray(general.gradients), g, atol=1e-14 * np.abs(g).max())


def _dense(x):
    return x.toarray() if sp.issparse(x) else x


@pytest.mark.parametrize("sparse", [False, True])
def test_gradient_outputs_over_the_memory_limit_are_refused(sparse):
    from slimsoap import MemoryLimitError, set_memory_limit

    calc = _calc("nu3")
    set_memory_limit(100_000)
    try:
        with pytest.raises(MemoryLimitError, match="the bispectrum gradients of 17 atoms"):
            calc.compute(_frames(), gradients=True, sparse=sparse)
    finally:
        set_memory_limit(None)
