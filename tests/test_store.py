"""Feature store: exact round trips (dense, sparse, gradients), batches, lazy reads, errors."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from structures import random_alloy, random_cluster

from slimsoap import ACSF, SOAP
from slimsoap.features import Features
from slimsoap.io import calculator_from_dict, load_features
from slimsoap.io.store import FeatureStore, write_part, write_store


@pytest.fixture(scope="module")
def frames():
    out = [random_alloy(["Cu", "Ag", "Au"], repeat=1, seed=s) for s in range(3)]
    out += [random_cluster(["Cu", "Au", "Cu", "Ag", "Au"], seed=7, box=4.0, min_dist=2.0)]
    for i, atoms in enumerate(out):
        atoms.info["energy"] = -1.5 * i
    return out


@pytest.fixture(scope="module")
def soap():
    return SOAP(["Cu", "Ag", "Au"], 4.0, 3, 2, 0.5, compression="random", seed=3)


def _numbers(frames):
    return np.concatenate([a.numbers for a in frames])


def _append_in_batches(store, calc, frames, sizes, **kw):
    start = 0
    for size in sizes:
        batch = frames[start : start + size]
        energy = [a.info["energy"] for a in batch]
        store.append(
            calc.compute(batch, **kw), _numbers(batch), energy, len(batch), calculator=calc
        )
        start += size


def test_dense_with_gradients_in_batches_equals_one_computation(tmp_path, soap, frames):
    ref = soap.compute(frames, gradients=True)
    store = FeatureStore.create(tmp_path / "f.zarr", soap, gradients=True, chunk_rows=5)
    _append_in_batches(store, soap, frames, [1, 2, 1], gradients=True)
    got = FeatureStore.open(tmp_path / "f.zarr").read()
    # batch-local frame and atom indices were shifted to the global ones of one computation
    np.testing.assert_array_equal(got.values, ref.values)
    np.testing.assert_array_equal(got.frame_index, ref.frame_index)
    np.testing.assert_array_equal(got.gradient_pairs, ref.gradient_pairs)
    np.testing.assert_array_equal(got.gradients, ref.gradients)
    np.testing.assert_array_equal(got.strain_gradients, ref.strain_gradients)
    assert got.values.dtype == ref.values.dtype
    # a batch without strain gradients does not fit a store that has them
    with pytest.raises(ValueError, match="with strain gradients"):
        FeatureStore.open(tmp_path / "f.zarr", mode="a").append(
            soap.compute(frames[:1], gradients=True, strain=False),
            _numbers(frames[:1]),
            calculator=soap,
        )


@pytest.mark.parametrize("compression", ["nu2", "nu1mu1"])
def test_sparse_gradients_in_batches_equal_one_computation(tmp_path, frames, compression):
    """Species-block gradient rows survive batches (patterns, starts and rows shifted) and a
    reopen for append; frames hold different species, so batches have their own patterns."""
    soap = SOAP(["Cu", "Ag", "Au", "Ni"], 4.0, 3, 2, 0.5, compression=compression)
    ref = soap.compute(frames, gradients=True)
    path = tmp_path / "g.zarr"
    store = FeatureStore.create(path, soap, sparse=True, gradients=True, chunk_rows=5)
    _append_in_batches(store, soap, frames[:3], [1, 2], gradients=True, sparse=True)
    _append_in_batches(
        FeatureStore.open(path, mode="a"), soap, frames[3:], [1], gradients=True, sparse=True
    )
    got = FeatureStore.open(path).read()
    np.testing.assert_allclose(got.values.toarray(), ref.values, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(got.gradient_pairs, ref.gradient_pairs)
    np.testing.assert_allclose(np.asarray(got.gradients), ref.gradients, rtol=0, atol=1e-15)
    np.testing.assert_allclose(got.strain_gradients[:], ref.strain_gradients, rtol=0, atol=1e-14)
    assert got.gradients.nbytes <= ref.gradients.nbytes


def test_metadata_numbers_energy_and_calculator(tmp_path, soap, frames):
    store = FeatureStore.create(tmp_path / "f.zarr", soap)
    _append_in_batches(store, soap, frames, [2, 2])
    back = FeatureStore.open(tmp_path / "f.zarr")
    assert (back.n_rows, back.n_frames, back.n_features) == (
        sum(map(len, frames)),
        4,
        soap.n_features,
    )
    np.testing.assert_array_equal(back.numbers, _numbers(frames))
    np.testing.assert_array_equal(back.energy, [0.0, -1.5, -3.0, -4.5])
    assert back.calculator_dict == soap.to_dict()
    again = back.calculator()
    assert again.seed == 3
    np.testing.assert_array_equal(again.compute(frames).values, soap.compute(frames).values)


def test_sparse_round_trip_and_row_slices(tmp_path, frames):
    calc = SOAP(["Cu", "Ag", "Au", "Pt"], 4.0, 3, 2, 0.5)  # Pt absent: zero columns
    ref = calc.compute(frames, sparse=True).values
    store = FeatureStore.create(tmp_path / "s.zarr", calc, sparse=True, chunk_rows=4)
    _append_in_batches(store, calc, frames, [3, 1], sparse=True)
    back = FeatureStore.open(tmp_path / "s.zarr")
    x = back.values()
    assert sp.issparse(x) and x.shape == ref.shape
    np.testing.assert_array_equal(x.indptr, ref.indptr)
    np.testing.assert_array_equal(x.indices, ref.indices)
    np.testing.assert_array_equal(x.data, ref.data)
    dense = ref.toarray()
    for start, stop in [(0, 1), (5, 17), (12, 16), (9, 9), (30, 40)]:
        np.testing.assert_array_equal(back.values(start, stop).toarray(), dense[start:stop])
    blocks = [block.toarray() for _, block in back.iter_rows(block=7)]
    np.testing.assert_array_equal(np.vstack(blocks), dense)
    with pytest.raises(ValueError, match="dense store"):
        back.dask_values()


def test_dask_values_are_lazy_and_equal(tmp_path, soap, frames):
    ref = soap.compute(frames).values
    write_store(tmp_path / "d.zarr", soap.compute(frames), _numbers(frames), soap)
    lazy = FeatureStore.open(tmp_path / "d.zarr").dask_values()
    assert lazy.shape == ref.shape
    np.testing.assert_array_equal(lazy.compute(), ref)
    np.testing.assert_array_equal(lazy[3:9, 2].compute(), ref[3:9, 2])


def test_write_and_read_store_helpers(tmp_path, soap, frames):
    feats = soap.compute(frames)
    write_store(tmp_path / "w.zarr", feats, _numbers(frames), soap)
    got, calc = load_features(tmp_path / "w.zarr")
    np.testing.assert_array_equal(got.values, feats.values)
    assert calc.to_dict() == soap.to_dict()
    assert np.isnan(FeatureStore.open(tmp_path / "w.zarr").energy).all()  # none given


def test_half_written_batch_is_invisible_and_trimmed(tmp_path, soap, frames):
    path = tmp_path / "h.zarr"
    store = FeatureStore.create(path, soap)
    _append_in_batches(store, soap, frames, [2])
    # a crash after part 1 and half of part 2 were written, and part 1's sizes were added to
    # the index, but before the commit:
    target = store.target()
    write_part(target, 1, soap.compute(frames[2:3]), _numbers(frames[2:3]))
    (path / "parts" / "000002.0123abcd.partial" / "values").mkdir(parents=True)
    store._group["index"].append(np.ones((1, 8), dtype=np.int64), axis=0)
    assert FeatureStore.open(path).n_rows == sum(len(a) for a in frames[:2])
    reopened = FeatureStore.open(path, mode="a")
    assert sorted(p.name for p in (path / "parts").iterdir()) == ["000000", "zarr.json"]
    _append_in_batches(reopened, soap, frames[2:], [2])
    np.testing.assert_array_equal(FeatureStore.open(path).values(), soap.compute(frames).values)


def test_parts_written_out_of_order_and_twice(tmp_path, soap, frames):
    """Parts are independent: written in any order (as Dask workers finish them), a part
    written twice keeps the first copy, and only committed parts are read."""
    path = tmp_path / "o.zarr"
    store = FeatureStore.create(path, soap, gradients=True, chunk_rows=3)
    target = store.target()
    batches = [frames[0:1], frames[1:3], frames[3:4]]
    for k in (2, 0, 1):
        batch = batches[k]
        energy = [a.info["energy"] for a in batch]
        write_part(target, k, soap.compute(batch, gradients=True), _numbers(batch), energy)
    before = sorted(p.relative_to(path) for p in path.rglob("*"))
    write_part(target, 1, soap.compute(batches[1], gradients=True), _numbers(batches[1]))
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before
    store.commit(2)
    assert FeatureStore.open(path).n_frames == 3
    store.commit(1, progress={"note": "done"})
    got, ref = FeatureStore.open(path), soap.compute(frames, gradients=True)
    np.testing.assert_array_equal(got.read().values, ref.values)
    np.testing.assert_array_equal(got.read().gradient_pairs, ref.gradient_pairs)
    np.testing.assert_array_equal(got.read().strain_gradients, ref.strain_gradients)
    np.testing.assert_array_equal(got.values(3, 9), ref.values[3:9])
    np.testing.assert_array_equal(got.energy, [a.info["energy"] for a in frames])
    assert got.n_parts == 3 and got.progress == {"note": "done"}
    with pytest.raises(ValueError, match="part 3 is not written"):
        store.commit(1)


def test_a_format_3_store_is_read_not_appended(tmp_path, soap, frames):
    """Stores of the previous layout (one set of arrays, global indices) still load."""
    import zarr

    feats = soap.compute(frames)
    path = tmp_path / "v3.zarr"
    group = zarr.open_group(path, mode="w")
    n, f = feats.values.shape
    attrs = {
        "slimsoap_store": 3,
        "calculator": json.loads(json.dumps(soap.to_dict())),
        "sparse": False,
        "gradients": False,
        "chunk_rows": None,
        "n_features": f,
        "dtype": "float64",
        "strain": False,
        "n_rows": n,
        "n_frames": len(frames),
    }
    attrs.update(dict.fromkeys(["nnz", "n_pairs", "n_gdata", "n_patterns", "n_pcols"], 0))
    group.update_attributes({**attrs, "n_sdata": 0})
    for name, data in [
        ("values", feats.values),
        ("frame_index", feats.frame_index),
        ("numbers", _numbers(frames)),
        ("energy", np.arange(len(frames)) * 1.0),
    ]:
        group.create_array(name, data=data, chunks=(5, *data.shape[1:]))  # fmt: skip
    got, calc = load_features(path)
    np.testing.assert_array_equal(got.values, feats.values)
    np.testing.assert_array_equal(got.frame_index, feats.frame_index)
    assert calc.to_dict() == soap.to_dict()
    np.testing.assert_array_equal(FeatureStore.open(path).energy, np.arange(len(frames)))
    np.testing.assert_array_equal(FeatureStore.open(path).values(4, 11), feats.values[4:11])
    with pytest.raises(ValueError, match="found 3.*can be read, not appended to"):
        FeatureStore.open(path, mode="a")


def test_acsf_calculator_round_trip(frames):
    g2 = [[0.5, 0.0], [1.0, 2.0]]
    g4 = [[0.1, 1.0, 1.0], [0.1, 2.0, -1.0]]
    acsf = ACSF(
        ["Au", "Cu", "Ag"], 4.0, g2, g4, compression="weighted", weights=[3.0, 1.0, 2.0], g1=True
    )
    again = calculator_from_dict(json.loads(json.dumps(acsf.to_dict())))
    np.testing.assert_array_equal(again.compute(frames).values, acsf.compute(frames).values)
    assert again.labels() == acsf.labels()


def test_errors(tmp_path, soap, frames):
    path = tmp_path / "e.zarr"
    store = FeatureStore.create(path, soap)
    with pytest.raises(FileExistsError, match="overwrite"):
        FeatureStore.create(path, soap)
    sparse_grads = FeatureStore.create(tmp_path / "x.zarr", soap, sparse=True, gradients=True)
    dense_rows = soap.compute(frames[:1], gradients=True)
    dense_rows.values = sp.csr_matrix(dense_rows.values)
    with pytest.raises(ValueError, match="species-block gradients"):
        sparse_grads.append(dense_rows, _numbers(frames[:1]), calculator=soap)
    with pytest.raises(FileNotFoundError, match="no feature store"):
        FeatureStore.open(tmp_path / "missing.zarr")
    feats = soap.compute(frames[:1])
    with pytest.raises(ValueError, match="numbers must have shape"):
        store.append(feats, [29], calculator=soap)
    with pytest.raises(ValueError, match="dense values"):
        store.append(soap.compute(frames[:1], sparse=True), _numbers(frames[:1]), calculator=soap)
    with pytest.raises(ValueError, match="without gradients"):
        store.append(
            soap.compute(frames[:1], gradients=True), _numbers(frames[:1]), calculator=soap
        )
    store.append(feats, _numbers(frames[:1]), calculator=soap)
    wrong = Features(np.zeros((2, 5)), np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="5 features, the store"):
        store.append(wrong, [29, 29], calculator=soap)
    with pytest.raises(PermissionError, match="read-only"):
        FeatureStore.open(path).append(feats, _numbers(frames[:1]), calculator=soap)
    with pytest.raises(ValueError, match="'MACE', not a registered slimsoap calculator"):
        calculator_from_dict({"class": "MACE", "format": 1, "params": {}})
    with pytest.raises(ValueError, match="not a zarr feature store"):
        FeatureStore.open(tmp_path)  # a directory, but no store
