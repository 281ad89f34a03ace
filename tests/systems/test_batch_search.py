"""The batched search of small frames equals the per-frame search bit for bit.

Pairs, their order, vectors, distances and offsets of every frame, for 1-, 2- and 4-atom
cells, triclinic and extreme-shear (Minkowski-reduced) cells, 2-D slabs, 1-D wires,
molecules and mixed batches; the descriptors computed from them; the errors of bad frames,
which name the frame the per-frame search names.
"""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111, molecule

import slimsoap
from slimsoap._runtime.limits import MemoryLimitError, set_memory_limit
from slimsoap.systems import periodic_batch
from slimsoap.systems.cells import rows_times, search_cells
from slimsoap.systems.frames import gather
from slimsoap.systems.neighbours import (
    batch_neighbour_list,
    frame_neighbour_lists,
    neighbour_list,
)

FIELDS = ("centres", "neighbours", "vectors", "distances", "offsets")
METALS = ["Ni", "Cu", "Pd", "Ag", "Pt"]


def _rattled(atoms, seed, scale=0.08):
    rng = np.random.default_rng(seed)
    atoms = atoms.copy()
    atoms.symbols = rng.choice(METALS, len(atoms))
    atoms.positions += rng.normal(scale=scale, size=atoms.positions.shape)
    return atoms


def _sheared(atoms, shear):
    a, b, c = atoms.cell.array
    out = atoms.copy()
    out.set_cell([a, b + shear * a, c - shear * b], scale_atoms=False)
    return out


def _kinds():
    """Small frames of every kind, by name (each a few rattled copies)."""
    hcp2 = bulk("Mg", "hcp", a=3.1, c=5.1)  # 2 atoms, skewed cell
    tri = Atoms(
        "CuAu",
        positions=[[0, 0, 0], [1.2, 0.3, 0.2]],
        cell=[[2.6, 0, 0], [1.0, 2.4, 0], [0.3, 0.2, 2.3]],
        pbc=True,
    )
    slab = fcc111("Cu", (2, 2, 3), vacuum=5.0)  # pbc (T, T, F), 12 atoms
    flat = Atoms("CuAu", positions=[[0, 0, 0], [1.1, 0.7, 0.4]], cell=[4, 4, 0], pbc=[1, 1, 0])
    wire = Atoms("Cu", positions=[[0.0, 0.0, 0.0]], cell=[2.5, 0, 0], pbc=[True, False, False])
    return {
        "1-atom": [bulk("Cu", "fcc", a=3.6)],
        "2-atom": [hcp2],
        "4-atom": [bulk("Cu", "fcc", a=3.7, cubic=True)],
        "64-atom": [bulk("Cu", "fcc", a=3.7, cubic=True).repeat((4, 2, 2))],  # a cell list
        "triclinic": [tri],
        "sheared": [_sheared(bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1)), 40)],
        "slab": [slab, flat],
        "wire": [wire],
        "molecule": [molecule("CH4"), molecule("H2O")],
    }


def _frames(names, copies=3):
    kinds = _kinds()
    out = []
    for c in range(copies):
        for name in names:
            out += [_rattled(a, 17 * c + len(out)) for a in kinds[name]]
    return out


def _assert_equal(nl, ref):
    for field in FIELDS:
        a, b = getattr(nl, field), getattr(ref, field)
        assert a.dtype == b.dtype and a.shape == b.shape, field
        assert np.array_equal(a, b), field


ALL = list(_kinds())


@pytest.mark.parametrize("names", [[k] for k in ALL] + [ALL], ids=ALL + ["mixed"])
@pytest.mark.parametrize("r_cut", [3.1, 5.0])
def test_frame_lists_equal_per_frame_search_bit_for_bit(names, r_cut):
    frames = _frames(names)
    for f, (nl, atoms) in enumerate(zip(frame_neighbour_lists(frames, r_cut), frames)):
        _assert_equal(nl, neighbour_list(atoms, r_cut, f))


def test_sheared_cells_are_reduced_in_the_batch():
    frames = _frames(["sheared", "4-atom"], copies=2)
    data = gather(frames)
    cells = search_cells(data.cells, data.pbc, 4.0)
    assert not np.array_equal(cells[0], data.cells[0])  # the extreme shear is reduced
    assert np.array_equal(cells[1], data.cells[1])  # the cubic cell is searched as given


def test_batch_list_periodic_frames_bit_for_bit_and_molecules_same_pairs():
    """batch_neighbour_list (values path): periodic frames as the per-frame search, to the
    bit and in order; molecules by brute force, the same pairs and vectors."""
    big = _rattled(bulk("Cu", "fcc", a=3.7, cubic=True).repeat(3), 5)  # 108 atoms: alone
    frames = _frames(ALL, copies=2)
    frames.insert(4, big)
    nl = batch_neighbour_list(frames, 4.5)
    starts = gather(frames).starts
    for f, atoms in enumerate(frames):
        ref = neighbour_list(atoms, 4.5, f)
        p0, p1 = nl.offsets[starts[f]], nl.offsets[starts[f + 1]]
        got = (nl.centres[p0:p1] - starts[f], nl.neighbours[p0:p1] - starts[f])
        vec, dist = nl.vectors[p0:p1], nl.distances[p0:p1]
        if atoms.pbc.any() or len(atoms) > 64:
            assert np.array_equal(got[0], ref.centres) and np.array_equal(got[1], ref.neighbours)
            assert np.array_equal(vec, ref.vectors) and np.array_equal(dist, ref.distances)
        else:
            key = np.lexsort((got[1], got[0]))
            key_ref = np.lexsort((ref.neighbours, ref.centres))
            assert np.array_equal(got[1][key], ref.neighbours[key_ref])
            assert np.array_equal(vec[key], ref.vectors[key_ref])
            np.testing.assert_allclose(dist[key], ref.distances[key_ref], rtol=1e-15)


def test_chunks_and_distinct_cells_give_the_same_pairs(monkeypatch):
    """Many distinct cells (one matrix product each) and chunks of a few frames."""
    frames = []
    for k in range(12):
        atoms = _rattled(bulk("Cu", "fcc", a=3.5 + 0.02 * k, cubic=k % 2 == 0), k)
        frames.append(atoms)
    whole = frame_neighbour_lists(frames, 4.0)
    monkeypatch.setattr(periodic_batch, "_CHUNK_CANDIDATES", 300)
    chunked = frame_neighbour_lists(frames, 4.0)
    for f, atoms in enumerate(frames):
        ref = neighbour_list(atoms, 4.0, f)
        _assert_equal(whole[f], ref)
        _assert_equal(chunked[f], ref)


def test_output_that_outgrows_its_first_size_keeps_every_pair():
    """The batched kernel starts with room for 16 pairs per atom and doubles it when a frame
    does not fit (the frame is redone): 1-atom cells at r_cut 6 have ~80 pairs each, so it
    grows several times, mid-batch and mid-frame."""
    frames = [_rattled(bulk("Cu", "fcc", a=3.6), k) for k in range(9)]
    lists = frame_neighbour_lists(frames, 6.0)
    assert sum(len(nl.neighbours) for nl in lists) > 4 * 16 * len(frames)  # ≥ 2 doublings
    for f, atoms in enumerate(frames):
        _assert_equal(lists[f], neighbour_list(atoms, 6.0, f))


@pytest.mark.parametrize("compression", ["nu2", "nu1mu1"])
def test_batched_values_equal_one_by_one_bit_for_bit(monkeypatch, compression):
    """Rows of periodic frames to the bit; molecules (brute-force pair order within a
    centre, as before) to rounding."""
    frames = _frames(ALL, copies=2)
    soap = slimsoap.SOAP(METALS + ["H", "C", "O", "Mg", "Au"], 4.0, 4, 3, compression=compression)
    batched = soap.compute(frames)
    monkeypatch.setattr("slimsoap.systems.batching.SMALL_FRAME", 0)
    single = soap.compute(frames).values
    periodic = np.array([a.pbc.any() for a in frames])[batched.frame_index]
    assert periodic.sum() > 40 and (~periodic).sum() > 10
    assert np.array_equal(batched.values[periodic], single[periodic])
    np.testing.assert_allclose(batched.values, single, rtol=1e-13, atol=1e-15)


def test_coincident_atoms_name_the_frame_and_atoms():
    frames = _frames(["4-atom", "1-atom"], copies=3)
    bad = frames[2].copy()  # a 4-atom cell; frame 4 is bad too, frame 2 is named
    bad.positions[2] = bad.positions[1]
    frames[2] = bad
    frames[4] = frames[4].copy()
    frames[4].positions[1] = frames[4].positions[0] + 1e-8
    message = "frame 2: atoms 1 and 2 are at the same position"
    with pytest.raises(ValueError, match=message):
        neighbour_list(bad, 4.0, 2)
    with pytest.raises(ValueError, match=message):
        batch_neighbour_list(frames, 4.0)
    with pytest.raises(ValueError, match=message):
        frame_neighbour_lists(frames, 4.0)
    with pytest.raises(ValueError, match=message):
        slimsoap.SOAP(METALS, 4.0, 3, 2).compute(frames)


def test_memory_limit_names_the_thin_frame():
    """A thin 1-atom cell among ordinary ones: refused for its images, naming it."""
    frames = _frames(["1-atom"], copies=4)
    frames[2] = Atoms("Cu", cell=[3.6, 3.6, 1e-3], pbc=True)
    set_memory_limit(2**20)
    try:
        with pytest.raises(MemoryLimitError, match="frame 2: the periodic images"):
            neighbour_list(frames[2], 5.0, 2)
        with pytest.raises(MemoryLimitError, match="frame 2: the periodic images"):
            batch_neighbour_list(frames, 5.0)
        with pytest.raises(MemoryLimitError, match="frame 2: the periodic images"):
            slimsoap.SOAP(METALS, 5.0, 3, 2).compute(frames)
    finally:
        set_memory_limit(None)


def test_memory_limit_names_the_dense_frame():
    """Pairs too many for the limit in a small dense periodic frame (not its images)."""
    rng = np.random.default_rng(1)
    frames = _frames(["4-atom"], copies=3)
    frames[1] = Atoms("Cu" * 64, positions=rng.uniform(0, 3, (64, 3)), cell=[3] * 3, pbc=True)
    set_memory_limit(2**20)  # the images (0.6 MB) fit, the pairs (~4 MB) do not
    try:
        with pytest.raises(MemoryLimitError, match="frame 1: the neighbour pairs"):
            neighbour_list(frames[1], 4.0, 1)
        with pytest.raises(MemoryLimitError, match="frame 1: the neighbour pairs"):
            batch_neighbour_list(frames, 4.0)
    finally:
        set_memory_limit(None)


def test_bad_frames_are_named_by_the_batched_checks():
    soap = slimsoap.SOAP(METALS, 4.0, 3, 2)
    frames = _frames(["4-atom"], copies=6)
    nan = frames[2].copy()
    nan.positions[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"frame 2: positions of atoms \[1\] are NaN or inf"):
        soap.compute(frames[:2] + [nan] + frames[2:])
    singular = frames[4].copy()
    singular.cell = [[3.7, 0, 0], [3.7, 0, 0], [0, 0, 3.7]]
    with pytest.raises(ValueError, match="frame 4 is periodic but its cell is singular"):
        soap.compute(frames[:4] + [singular])
    zero = frames[1].copy()
    zero.cell = [3.7, 3.7, 0]
    with pytest.raises(ValueError, match="frame 1 is periodic along axis 2 but the cell"):
        soap.compute([frames[0], zero])
    # a bad geometry before a non-Atoms frame is named first, as frame by frame
    with pytest.raises(ValueError, match="frame 2: positions"):
        soap.compute(frames[:2] + [nan, "not a frame"])
    with pytest.raises(TypeError, match="frame 2 is a str"):
        soap.compute(frames[:2] + ["not a frame", nan])
    gold = frames[3].copy()
    gold.symbols[0] = "Au"
    with pytest.raises(ValueError, match=r"frame 3 contains species \['Au'\]"):
        soap.compute(frames[:3] + [gold] + frames[3:])


def test_unchecked_frames_are_checked_by_the_batched_search():
    frames = _frames(["1-atom", "molecule"], copies=2)
    bad = frames[4].copy()
    bad.positions[0, 2] = np.inf
    frames[4] = bad
    for search in (batch_neighbour_list, frame_neighbour_lists):
        with pytest.raises(ValueError, match=r"frame 7: positions of atoms \[0\] are NaN or inf"):
            search(frames, 4.0, first_frame=3)


def test_sparse_values_from_the_batched_search_bit_for_bit(monkeypatch):
    frames = _frames(ALL, copies=2)
    soap = slimsoap.SOAP(METALS + ["H", "C", "O", "Mg", "Au"], 4.0, 3, 2)
    batched = soap.compute(frames, sparse=True).values
    monkeypatch.setattr("slimsoap.systems.batching.SMALL_FRAME", 0)
    single = soap.compute(frames, sparse=True).values
    for field in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(batched, field), getattr(single, field))


def test_row_products_do_not_depend_on_the_number_of_rows():
    """A row's product with a cell is the same bits alone, in a stack, or with one matrix per
    row (BLAS ``x @ m`` is not: one row goes through gemv, several through gemm)."""
    rng = np.random.default_rng(4)
    x, mats = rng.normal(size=(50, 3)), rng.normal(size=(4, 3, 3))
    which = rng.integers(0, 4, 50)
    stacked = rows_times(x, mats, which)
    for k in (0, 7, 49):
        assert np.array_equal(rows_times(x[k : k + 1], mats[which[k]])[0], stacked[k])
        assert np.array_equal(rows_times(x[k : k + 1], mats, which[k : k + 1])[0], stacked[k])
    # both within the rounding bound of a 3-term dot product, 3 eps sum_i |x_i m_ij|, of it
    bound = 6 * np.finfo(float).eps * np.einsum("ki,kij->kj", np.abs(x), np.abs(mats[which]))
    assert np.all(np.abs(stacked - np.einsum("ki,kij->kj", x, mats[which])) <= bound)
    assert rows_times(np.empty((0, 3)), mats, np.empty(0, dtype=np.int64)).shape == (0, 3)
