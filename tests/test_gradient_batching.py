"""Gradients of many frames: small frames of one plan are differentiated in one kernel call,
and images of a centre are left out of its own entry (they cancel exactly)."""

import numpy as np
import pytest
from ase.build import bulk, molecule
from checks import assert_strain_gradients
from structures import random_alloy

from slimsoap import SOAP
from slimsoap.soap.gradients import compute

SPECIES = ["H", "C", "N", "O", "Cu", "Ag", "Au"]


def mixed_frames():
    """Molecules, 1- and 4-atom cells of varying species (plans repeat, not in a row) and
    one 32-atom cell, in an order that interleaves the groups."""
    rng = np.random.default_rng(4)
    frames = []
    for k in range(12):
        cubic = k % 3 == 0
        atoms = bulk("Cu", "fcc", a=3.7, cubic=cubic)
        atoms.symbols = rng.choice(["Cu", "Ag", "Au"], len(atoms))
        atoms.positions += rng.normal(scale=0.08, size=atoms.positions.shape)
        frames.append(atoms)
        if k % 4 == 1:
            frames.append(molecule(["CH4", "H2O", "NH3"][k % 3]))
    frames.insert(5, random_alloy(["Cu", "Ag"], repeat=2, seed=3))
    return frames


def assert_same(batched, alone, sparse):
    """Every array of the batched result equals the frame-by-frame results."""
    pairs = np.concatenate([r.gradient_pairs for r in alone])
    offsets = np.cumsum([0] + [len(r.frame_index) for r in alone[:-1]])
    shifted = np.concatenate([r.gradient_pairs + o for r, o in zip(alone, offsets)])
    assert len(pairs) == len(batched.gradient_pairs)
    np.testing.assert_array_equal(batched.gradient_pairs, shifted)
    values = [r.values.toarray() if sparse else r.values for r in alone]
    got = batched.values.toarray() if sparse else batched.values
    np.testing.assert_array_equal(got, np.concatenate(values))
    for name in ("gradients", "strain_gradients"):
        want = np.concatenate([np.asarray(getattr(r, name)) for r in alone])
        np.testing.assert_array_equal(np.asarray(getattr(batched, name)), want)


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("compression", ["nu2", "nu1mu1", "random"])
def test_batched_frames_equal_frames_alone(monkeypatch, sparse, compression):
    frames = mixed_frames()
    options = {"seed": 1} if compression == "random" else {}
    soap = SOAP(SPECIES, 3.5, 3, 2, compression=compression, **options)
    monkeypatch.setattr(compute, "GROUP_ATOMS", 9)  # several groups of one plan, too
    calls = []
    kernel = compute.pair_gradients
    monkeypatch.setattr(compute, "pair_gradients", lambda *a: calls.append(1) or kernel(*a))
    batched = soap.compute(frames, gradients=True, sparse=sparse)
    n_batched_calls = len(calls)
    alone = [soap.compute(a, gradients=True, sparse=sparse) for a in frames]
    assert n_batched_calls < len(frames)  # the small frames did share kernel calls
    assert_same(batched, alone, sparse)


def test_groups_keep_plans_apart_and_bound_their_atoms():
    sizes = [1, 4, 1, 100, 1, 4, 1]
    keys = [(0,), (0, 1), (0,), (0, 1), (1,), (0, 1), (0,)]
    groups = [g.tolist() for g in compute._groups(sizes, keys, True)]
    assert sorted(f for g in groups for f in g) == list(range(len(sizes)))
    assert [3] in groups  # a big frame alone
    for g in groups:
        assert len({keys[f] for f in g}) == 1
        assert g == sorted(g)
    assert [g.tolist() for g in compute._groups(sizes, keys, False)] == [[f] for f in range(7)]


def test_one_atom_cell_has_zero_position_gradients_and_exact_strain():
    """Every neighbour of a 1-atom cell is an image of the centre: moving the atom moves
    them all, so ∂x/∂r = 0 exactly; the strain gradient is non-zero (finite strain)."""
    atoms = bulk("Cu", "fcc", a=3.6)
    atoms.positions += 0.05
    atoms.set_cell(atoms.cell @ np.array([[1.0, 0.05, 0.0], [0.0, 1.0, 0.0], [0.02, 0.0, 1.0]]))
    for compression in ("nu2", "nu1mu1", "random"):
        options = {"seed": 2} if compression == "random" else {}
        soap = SOAP(["Cu", "Ag"], 4.5, 4, 3, compression=compression, **options)
        for sparse in (False, True):
            F = soap.compute(atoms, gradients=True, sparse=sparse)
            assert np.all(np.asarray(F.gradients) == 0.0)
            assert np.abs(np.asarray(F.strain_gradients)).max() > 1e-3
        assert_strain_gradients(soap, atoms)


def test_species_block_runs_start_where_the_layout_puts_them():
    soap = SOAP(["H", "C", "O"], 3.0, 3, 3)
    plan = soap._contraction.gradient_plan((0, 1, 2), True)
    ptr, idx = plan.arrays.touch_ptr, plan.arrays.touch_idx
    local, first = plan.tables.local, plan.tables.first
    for b in range(plan.n_slots):
        for l in range(ptr.shape[0]):
            t = np.arange(ptr[l, b], ptr[l, b + 1])
            np.testing.assert_array_equal(local[b, idx[t]], first[l, b] + np.arange(len(t)))
    dense = soap._contraction.gradient_plan((0, 1, 2), False)
    assert dense.tables.first.shape == (0, 0)
