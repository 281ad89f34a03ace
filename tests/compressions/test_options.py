"""Bad options are refused with specific messages; seeds, save/load and sparse output."""

import numpy as np
import pytest
import scipy.sparse as sp
from structures import random_alloy, random_cluster

from slimsoap import SOAP
from slimsoap.io import load_calculator, save_calculator
from slimsoap.soap.compressions.random import random_matrix

SPECIES = ["H", "C", "O"]


def make(compression, **kwargs):
    kwargs.setdefault("n_max", 3)
    return SOAP(SPECIES, 3.5, l_max=2, compression=compression, **kwargs)


@pytest.mark.parametrize(
    "compression, options, match",
    [
        ("embed", {}, "needs the option 'embedding'"),
        ("embed", {"embedding": "mendeleev"}, "unknown embedding preset"),
        ("embed", {"embedding": np.ones((2, 2))}, r"shape \(n_species=3"),
        ("embed", {"embedding": [[1.0, np.nan]] * 3}, "NaN"),
        ("tensor_reduced", {"n_channels": 0}, "must be an integer ≥ 1"),
        ("tensor_reduced", {}, "needs the option 'n_channels'"),
        ("tensor_reduced", {"n_channels": 3, "coupling": "outer"}, "coupling must be"),
        ("optimal_radial", {"n_components": 0}, "must be an integer ≥ 1"),
        ("random", {"seed": -1}, "non-negative integer"),
        ("random", {"seed": 1.5}, "non-negative integer"),
        ("random", {"embedding": "atomic_number"}, "do not apply to compression 'random'"),
        ("nu2", {"seed": 3}, "do not apply to compression 'nu2'"),
        ("species_groups", {"groups": [["H"], ["C"]]}, r"species \['O'\] are in no group"),
        ("species_groups", {"groups": [["H", "C"], ["C", "O"]]}, "C is in two groups"),
        ("species_groups", {"groups": [["H", "C", "O", "N"]]}, "N is not one of"),
        ("nu1mustar1", {"mustar_basis": "element"}, r"needs n_max ≥ 2·l_max\+1 = 5"),
        ("nu1mustar1", {"mustar_basis": "other"}, "mustar_basis must be"),
        ("kernel_pca", {}, "unknown compression 'kernel_pca'"),
    ],
)
def test_bad_options_are_refused(compression, options, match):
    with pytest.raises(ValueError, match=match):
        make(compression, **options)


def test_projection_option_checked():
    with pytest.raises(ValueError, match="projection must be 'exact' or 'sum'"):
        make("nuhat2", projection="gap")


def test_nu1mustar1_basis_that_cannot_provide_2l_plus_1_functions():
    # GTO primitives at r_cut = 1.6 Å cannot be orthonormalised at 2·9+1 = 19 functions
    with pytest.raises(ValueError, match="nu1mustar1 needs the 'gto' basis to provide"):
        SOAP(SPECIES, 1.6, 2, 9, compression="nu1mustar1")


def test_optimal_radial_before_fit_is_refused():
    soap = make("optimal_radial", n_components=2)
    atoms = random_cluster(["H", "C", "O"], seed=1)
    with pytest.raises(ValueError, match=r"call soap.fit\(frames\) first"):
        soap.compute(atoms)
    with pytest.raises(ValueError, match="fit\\(\\) only applies to optimal_radial"):
        make("nu2").fit([atoms])


def test_random_seeds_give_different_features():
    atoms = random_cluster(["H", "C", "O", "C", "O"], seed=4)
    for name in ("random", "random_sym", "tensor_reduced"):
        extra = {"n_channels": 3} if name == "tensor_reduced" else {}
        a = make(name, seed=1, **extra).compute(atoms).values
        b = make(name, seed=2, **extra).compute(atoms).values
        c = make(name, seed=1, **extra).compute(atoms).values
        np.testing.assert_array_equal(a, c)
        assert np.abs(a - b).max() > 1e-3 * np.abs(a).max()


def test_random_matrix_is_built_from_raw_pcg64_output():
    """Stable definition: uniform on [-√3, √3) from the top 53 bits of PCG64(SeedSequence)."""
    raw = np.random.PCG64(np.random.SeedSequence([7, 1, 2])).random_raw(6)
    u = np.array([(int(v) >> 11) / 2**53 for v in raw])
    ref = ((2 * u - 1) * np.sqrt(3.0)).reshape(2, 3)
    np.testing.assert_array_equal(random_matrix(7, "random", 2, (2, 3)), ref)


@pytest.mark.parametrize(
    "compression, options",
    [
        ("random", {"seed": 12}),
        ("random_sym", {"seed": 3}),
        ("embed", {"embedding": [[1.0, 0.5], [2.0, -1.0], [0.0, 3.0]]}),
        ("species_groups", {"groups": [["H"], ["C", "O"]]}),
        ("tensor_reduced", {"n_channels": 2, "mix": "radial", "sym_mix": False}),
        ("optimal_radial", {"n_components": 3}),
        ("nuhat2", {"projection": "sum"}),
    ],
)
def test_save_load_bit_for_bit(tmp_path, compression, options):
    atoms = random_cluster(["H", "C", "O", "C", "O", "H"], seed=6)
    soap = make(compression, normalize=True, **options)
    if compression == "optimal_radial":
        soap.fit([atoms])
    x = soap.compute(atoms).values
    save_calculator(tmp_path / "soap.npz", soap)
    back = load_calculator(tmp_path / "soap.npz")
    assert back.to_dict() == soap.to_dict()
    np.testing.assert_array_equal(back.compute(atoms).values, x)


#: Compressions checked in sparse form: identity, total, projected, random and embedded maps.
SPARSE_CASES = [
    ("nu2", {}),
    ("nu1mu1", {}),
    ("nuhat1mu1", {}),
    ("nu1nuhat1", {}),
    ("random", {"seed": 1}),
    ("random_sym", {"seed": 1}),
    ("species_diagonal", {}),
    ("embed", {"embedding": "atomic_number"}),
    ("nu1mustar1", {}),
]


@pytest.mark.parametrize("compression, options", SPARSE_CASES)
def test_sparse_equals_dense(compression, options):
    species = ["H", "C", "N", "O", "F", "S"]
    frames = [
        random_cluster(["H", "C", "O", "H"], seed=1, box=4.0),  # isolated atoms too
        random_cluster(["N", "F", "S", "N", "F"], seed=2),
    ]
    soap = SOAP(species, 3.0, 3, 2, compression=compression, normalize=True, **options)
    dense = soap.compute(frames).values
    x = soap.compute(frames, sparse=True).values
    assert sp.isspmatrix_csr(x) or isinstance(x, sp.csr_array)
    np.testing.assert_allclose(x.toarray(), dense, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="normalize=True spreads every gradient"):
        soap.compute(frames, gradients=True, sparse=True)


@pytest.mark.parametrize("compression, options", SPARSE_CASES)
def test_sparse_gradients_equal_dense(compression, options, monkeypatch):
    """Species-block sparse gradients hold the dense numbers, in less memory where the map
    keeps species apart; frames with different species sets get their own patterns."""
    species = ["H", "C", "N", "O", "F", "S"]
    frames = [
        random_cluster(["H", "C", "O", "H", "C"], seed=1, box=4.0),
        random_cluster(["N", "F", "S", "N", "F", "H"], seed=2),
        random_alloy(["C", "O"], repeat=1, seed=3, a=2.7),  # images of one atom merged
    ]
    soap = SOAP(species, 3.0, 3, 2, compression=compression, **options)
    dense = soap.compute(frames, gradients=True)
    sparse = soap.compute(frames, gradients=True, sparse=True)
    np.testing.assert_array_equal(sparse.gradient_pairs, dense.gradient_pairs)
    np.testing.assert_allclose(sparse.values.toarray(), dense.values, rtol=1e-13, atol=1e-14)
    scale = np.abs(dense.gradients).max()
    g = sparse.gradients
    assert g.shape == dense.gradients.shape and len(g) == len(dense.gradients)
    np.testing.assert_allclose(np.asarray(g), dense.gradients, rtol=0, atol=1e-12 * scale)
    s = sparse.strain_gradients
    np.testing.assert_allclose(s[:], dense.strain_gradients, rtol=0, atol=1e-12 * scale)
    # indexing, products and CSR agree with the dense array (read in chunks of 5 entries)
    monkeypatch.setattr("slimsoap.features._GROUP_ENTRIES", 5)
    pick = np.array([5, 0, len(g) - 1, 7])
    np.testing.assert_allclose(g[pick], dense.gradients[pick], rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(g[3], dense.gradients[3], rtol=0, atol=1e-12 * scale)
    v = np.random.default_rng(0).normal(size=(len(g), soap.n_features))
    np.testing.assert_allclose(
        g.dot(v), np.einsum("pcf,pf->pc", dense.gradients, v), rtol=1e-10, atol=1e-12 * scale
    )
    csr = g.tocsr()
    np.testing.assert_allclose(
        csr.toarray(), dense.gradients.reshape(-1, soap.n_features), rtol=0, atol=1e-12 * scale
    )
    # the nonzeros of the dense gradients all lie in the stored columns
    assert np.count_nonzero(dense.gradients) <= csr.nnz
    if compression in ("nu2", "nu1mu1", "species_diagonal", "nu1mustar1"):
        assert g.nbytes < 0.8 * dense.gradients.nbytes


def test_sparse_39_elements_full_spectrum():
    """Elpasolite-like: 39 species, 4 per environment; ν=2 at N=8, L=6 has 341,796 columns."""
    # the main-group elements up to Bi (noble gases included), as in the elpasolite set
    species = [z for z in range(1, 84) if not (21 <= z <= 30 or 39 <= z <= 48 or 57 <= z <= 80)]
    assert len(species) == 39
    atoms = random_alloy(["Na", "K", "Al", "F"], repeat=2, seed=3, a=5.0)
    soap = SOAP(species, 4.0, 8, 6, compression="nu2")
    assert soap.n_features == 341_796
    x = soap.compute(atoms, sparse=True).values
    assert x.shape == (len(atoms), 341_796)
    # only the 4 present species' blocks can be stored: ½·32·33·7 = 3696 entries per row
    sub = SOAP(["F", "Na", "Al", "K"], 4.0, 8, 6)
    index = {lab: k for k, lab in enumerate(soap.labels())}
    cols = np.array([index[lab] for lab in sub.labels()])
    assert x.getnnz(axis=1).max() <= len(cols)
    assert set(x.indices) <= set(cols)
    ref = sub.compute(atoms).values
    np.testing.assert_allclose(x[:, cols].toarray(), ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_sparse_gradients_39_elements():
    """With 39 species and 4 present, each sparse gradient row holds only the present species'
    entries, and they equal those of a calculator over the 4 species."""
    species = [z for z in range(1, 84) if not (21 <= z <= 30 or 39 <= z <= 48 or 57 <= z <= 80)]
    atoms = random_alloy(["Na", "K", "Al", "F"], repeat=1, seed=3, a=5.0)
    soap = SOAP(species, 4.0, 3, 2, compression="nu2")
    sub = SOAP(["F", "Na", "Al", "K"], 4.0, 3, 2)
    got = soap.compute(atoms, gradients=True, sparse=True)
    ref = sub.compute(atoms, gradients=True)
    index = {lab: k for k, lab in enumerate(soap.labels())}
    cols = np.array([index[lab] for lab in sub.labels()])
    assert all(set(c) <= set(cols) for c in got.gradients.columns)
    assert got.gradients.nbytes < 0.01 * len(got.gradients) * 3 * soap.n_features * 8
    dense = got.gradients[:][:, :, cols]
    scale = np.abs(ref.gradients).max()
    np.testing.assert_allclose(dense, ref.gradients, rtol=0, atol=1e-12 * scale)


def test_sparse_gradients_options():
    """strain=False skips strain gradients only; float32 output; a pair whose neighbour is an
    image of the centre lands in the centre's entry (all columns)."""
    frames = [random_alloy(["C", "O"], repeat=1, seed=4, a=2.7)]
    soap = SOAP(["C", "O", "N"], 3.0, 3, 2)
    ref = soap.compute(frames, gradients=True)
    no_strain = soap.compute(frames, gradients=True, sparse=True, strain=False)
    assert no_strain.strain_gradients is None
    np.testing.assert_allclose(np.asarray(no_strain.gradients), ref.gradients, atol=1e-12)
    single = SOAP(["C", "O", "N"], 3.0, 3, 2, dtype=np.float32)
    s32 = single.compute(frames, gradients=True, sparse=True)
    assert s32.gradients.dtype == np.float32 and s32.values.dtype == np.float32
    scale = np.abs(ref.gradients).max()
    np.testing.assert_allclose(s32.gradients[:], ref.gradients, atol=1e-5 * scale)
    # species absent from the frame (N) take no columns at all
    assert all(len(c) < soap.n_features for c in no_strain.gradients.columns)
