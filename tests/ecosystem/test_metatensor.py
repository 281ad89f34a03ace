"""Features ↔ metatensor TensorMap: exact round trips, species sparsity as absent blocks."""

import numpy as np
import pytest
from ase.build import molecule

mts = pytest.importorskip("metatensor")

from structures import random_alloy, random_cluster  # noqa: E402

from slimsoap import ACSF, SOAP  # noqa: E402
from slimsoap.io import load_features  # noqa: E402
from slimsoap.io.metatensor import (  # noqa: E402
    from_tensormap,
    read_mts,
    to_tensormap,
    write_mts,
)


def dense(x):
    return x.toarray() if hasattr(x, "toarray") else np.asarray(x)


def assert_same(got, ref):
    np.testing.assert_array_equal(got.frame_index, ref.frame_index)
    np.testing.assert_array_equal(got.values, dense(ref.values))
    if ref.gradients is None:
        assert got.gradients is None
        return
    order = np.lexsort(ref.gradient_pairs.T[::-1])  # pairs come back sorted (row, atom)
    np.testing.assert_array_equal(got.gradient_pairs, ref.gradient_pairs[order])
    np.testing.assert_array_equal(got.gradients, dense(ref.gradients)[order])
    if ref.strain_gradients is None:
        assert got.strain_gradients is None
    else:
        np.testing.assert_array_equal(got.strain_gradients, dense(ref.strain_gradients))


FRAMES = [
    random_cluster(["H", "C", "O", "C", "H", "N"], seed=1),
    random_alloy(["Cu", "Ag"], repeat=1, seed=4),
    molecule("H2O"),
]
SPECIES = ["H", "C", "N", "O", "Cu", "Ag"]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(
    "compression, options",
    [("nu2", {}), ("nu1mu1", {}), ("mu2", {}), ("nu1muhat1", {}), ("random_sym", {"seed": 3})],
)
def test_round_trip_with_gradients(compression, options, sparse):
    soap = SOAP(SPECIES, r_cut=3.0, n_max=3, l_max=2, compression=compression, **options)
    ref = soap.compute(FRAMES, gradients=True, sparse=sparse)
    tm = to_tensormap(ref, soap, FRAMES)
    assert tm.keys.names[0] == "center_type"
    for block in tm.blocks():
        assert block.samples.names == ["system", "atom"]
        g = block.gradient("positions")
        assert g.samples.names == ["sample", "system", "atom"]
        assert [c.names for c in g.components] == [["xyz"]]
        assert [c.names for c in block.gradient("strain").components] == [["xyz_1"], ["xyz_2"]]
    assert_same(from_tensormap(tm), ref)


def test_round_trip_of_normalised_features():
    # normalisation spreads a neighbour's gradient over every block, its species' or not
    soap = SOAP(SPECIES, r_cut=3.0, n_max=2, l_max=2, normalize=True)
    ref = soap.compute(FRAMES, gradients=True)
    assert_same(from_tensormap(to_tensormap(ref, soap, FRAMES)), ref)


def test_keys_and_properties_follow_labels():
    soap = SOAP(["H", "C", "O"], r_cut=3.0, n_max=2, l_max=1, compression="nu2")
    atoms = molecule("CH3OH")
    tm = to_tensormap(soap.compute(atoms), soap, atoms)
    assert tm.keys.names == ["center_type", "neighbor_1_type", "neighbor_2_type"]
    # every (centre, a ≤ b) of H, C, O is present in methanol (all within 3 Å)
    expected = {(c, a, b) for c in (1, 6, 8) for a in (1, 6, 8) for b in (1, 6, 8) if a <= b}
    assert {tuple(int(v) for v in k.values) for k in tm.keys} == expected
    block = tm.block(center_type=6, neighbor_1_type=1, neighbor_2_type=8)
    assert block.properties.names == ["l", "n_1", "n_2"]
    labels = soap.labels()
    col = labels.index((1, "H:n0", "O:n1"))
    p = list(map(tuple, block.properties.values.tolist())).index((1, 0, 1))
    carbon = list(atoms.symbols).index("C")
    np.testing.assert_array_equal(block.samples.values, [[0, carbon]])
    np.testing.assert_array_equal(block.values[:, p], soap.compute(atoms).values[[carbon], col])
    mu = SOAP(["H", "C", "O"], r_cut=3.0, n_max=2, l_max=1, compression="nu1mu1")
    tm = to_tensormap(mu.compute(atoms), mu, atoms)
    assert tm.keys.names == ["center_type", "neighbor_1_type"]


def test_39_species_map_holds_only_present_blocks():
    from ase.data import chemical_symbols

    species = chemical_symbols[1:40]
    soap = SOAP(species, r_cut=3.0, n_max=2, l_max=1, compression="nu2")
    atoms = random_cluster(["Fe", "O", "Fe", "O", "H"], seed=2, box=2.5)
    ref = soap.compute(atoms, gradients=True, sparse=True)
    tm = to_tensormap(ref, soap, atoms)
    present = {1, 8, 26}
    keys = {tuple(int(v) for v in k.values) for k in tm.keys}
    assert keys and all(set(k) <= present for k in keys)
    assert len(keys) == 3 * 6  # every centre type × every pair a ≤ b of the 3 species
    assert_same(from_tensormap(tm), ref)


def test_acsf_gets_feature_properties(tmp_path):
    acsf = ACSF(["H", "C", "O"], r_cut=3.0, g2_params=[(1.0, 0.0)], g4_params=[(0.5, 1.0, 1.0)])
    atoms = molecule("CH3OH")
    ref = acsf.compute(atoms, gradients=True)
    tm = to_tensormap(ref, acsf, atoms)
    assert tm.keys.names == ["center_type"]
    assert tm.block(0).properties.names == ["feature"]
    assert_same(from_tensormap(tm), ref)


def test_mts_file_round_trip(tmp_path):
    soap = SOAP(["H", "C", "O"], r_cut=3.0, n_max=2, l_max=2, compression="nu1nuhat1")
    frames = [molecule("CH3OH"), molecule("H2O")]
    ref = soap.compute(frames, gradients=True, strain=False)
    write_mts(tmp_path / "f.mts", ref, soap, frames)
    got, calculator = read_mts(tmp_path / "f.mts")
    assert_same(got, ref)
    assert calculator == soap.to_dict()
    assert_same(from_tensormap(ref.to_tensormap(soap, frames)), ref)  # the Features method
    loaded, calc = load_features(tmp_path / "f.mts")  # the one IO layer reads .mts too
    assert_same(loaded, ref)
    assert calc.to_dict() == soap.to_dict()


def test_values_only_round_trip_and_sparse_values():
    soap = SOAP(SPECIES, r_cut=3.0, n_max=2, l_max=2)
    for sparse in (False, True):
        ref = soap.compute(FRAMES, sparse=sparse)
        assert_same(from_tensormap(to_tensormap(ref, soap, FRAMES)), ref)


def test_wrong_frames_or_calculator_are_refused():
    soap = SOAP(["H", "C", "O"], r_cut=3.0, n_max=2, l_max=1)
    atoms = molecule("CH3OH")
    feats = soap.compute(atoms)
    with pytest.raises(ValueError, match="frames hold 3 atoms"):
        to_tensormap(feats, soap, molecule("H2O"))
    other = SOAP(["H", "C", "O"], r_cut=3.0, n_max=3, l_max=1)
    with pytest.raises(ValueError, match="pass the calculator"):
        to_tensormap(feats, other, atoms)
    tm = to_tensormap(feats, soap, atoms)
    bare = mts.TensorMap(tm.keys, [b.copy() for b in tm.blocks()])
    with pytest.raises(ValueError, match="only TensorMaps written by"):
        from_tensormap(bare)
