"""Bad input to every public entry point → a specific error naming the problem (issue 13).

Classes of input: NaN, inf, negative, zero, empty, wrong type, huge. Each row is
(id, call, exception class, pattern of the message).
"""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

import slimsoap
from slimsoap import ACSF, SOAP, MemoryLimitError
from slimsoap.data.readers import read_frames
from slimsoap.models import EnergyModel, SparseGP
from slimsoap.study.featurize import featurize
from slimsoap.study.run import StudyConfig

NAN, INF = float("nan"), float("inf")
CU = bulk("Cu", "fcc", a=3.6, cubic=True)
X = np.random.default_rng(0).normal(size=(20, 4))
IDX, E2, CU4 = np.array([0, 0, 1, 1]), np.array([1.0, 2.0]), ["Cu"] * 4


def soap(**kw):
    return SOAP(**{"species": ["Cu"], "r_cut": 4.0, "n_max": 3, "l_max": 2, **kw})


def acsf(**kw):
    return ACSF(**{"species": ["Cu"], "r_cut": 4.0, "g2_params": [[1.0, 0.0]], **kw})


def cu(pos=None):
    atoms = CU.copy()
    if pos is not None:
        atoms.positions[0] = pos
    return atoms


def _random_soap():
    return soap(compression="random", seed=0)


def _zeros(fill=0.0):
    """(2, 15) features of the width of ``_random_soap()``, filled with ``fill``."""
    return np.full((2, _random_soap().n_features), fill)


CASES = [
    # SOAP(...)
    ("SOAP r_cut nan", lambda: soap(r_cut=NAN), ValueError, r"r_cut must be > 0, got nan"),
    ("SOAP r_cut inf", lambda: soap(r_cut=INF), ValueError, r"r_cut must be > 0, got inf"),
    ("SOAP r_cut negative", lambda: soap(r_cut=-1), ValueError, r"r_cut must be > 0"),
    ("SOAP r_cut zero", lambda: soap(r_cut=0), ValueError, r"r_cut must be > 0"),
    ("SOAP r_cut str", lambda: soap(r_cut="5"), TypeError, r"r_cut must be a number, got '5'"),
    ("SOAP r_cut None", lambda: soap(r_cut=None), TypeError, r"r_cut must be a number"),
    ("SOAP r_cut huge", lambda: soap(r_cut=1e6), MemoryLimitError, r"radial spline table"),
    ("SOAP n_max zero", lambda: soap(n_max=0), ValueError, r"n_max must be >= 1, got 0"),
    ("SOAP n_max negative", lambda: soap(n_max=-1), ValueError, r"n_max must be >= 1"),
    ("SOAP n_max float", lambda: soap(n_max=2.5), ValueError, r"n_max must be an integer"),
    ("SOAP n_max nan", lambda: soap(n_max=NAN), ValueError, r"n_max must be an integer"),
    ("SOAP n_max str", lambda: soap(n_max="3"), TypeError, r"n_max must be an integer"),
    ("SOAP n_max huge", lambda: soap(n_max=10**6), MemoryLimitError, r"radial spline table"),
    ("SOAP l_max negative", lambda: soap(l_max=-1), ValueError, r"l_max must be >= 0"),
    ("SOAP l_max None", lambda: soap(l_max=None), TypeError, r"l_max must be an integer"),
    ("SOAP l_max huge", lambda: soap(l_max=10**4), ValueError, r"cannot be orthonormalised"),
    ("SOAP sigma zero", lambda: soap(sigma=0), ValueError, r"sigma must be > 0"),
    ("SOAP sigma nan", lambda: soap(sigma=NAN), ValueError, r"sigma must be > 0"),
    ("SOAP sigma negative", lambda: soap(sigma=-1), ValueError, r"sigma must be > 0"),
    ("SOAP sigma inf", lambda: soap(sigma=INF), ValueError, r"sigma must be > 0"),
    ("SOAP sigma tiny", lambda: soap(sigma=1e-5), MemoryLimitError, r"sigma = 1e-05 Å is tiny"),
    ("SOAP species empty", lambda: soap(species=[]), ValueError, r"at least one element"),
    ("SOAP species [True]", lambda: soap(species=[True]), TypeError, r"got True"),
    ("SOAP species unknown", lambda: soap(species=["Xx"]), ValueError, r"unknown .* 'Xx'"),
    ("SOAP species zero", lambda: soap(species=[0]), ValueError, r"unknown atomic number 0"),
    ("SOAP species huge", lambda: soap(species=[999]), ValueError, r"unknown atomic number 999"),
    ("SOAP species None", lambda: soap(species=None), TypeError, r"species must list"),
    ("SOAP species float", lambda: soap(species=[1.5]), ValueError, r"unknown chemical species"),
    ("SOAP species twice", lambda: soap(species=["Cu", "Cu"]), ValueError, r"element twice"),
    ("SOAP normalize 'no'", lambda: soap(normalize="no"), TypeError, r"normalize must be True"),
    ("SOAP normalize 1", lambda: soap(normalize=1), TypeError, r"normalize must be True"),
    ("SOAP cutoff_width negative", lambda: soap(cutoff_width=-1), ValueError, r">= 0"),
    ("SOAP cutoff_width nan", lambda: soap(cutoff_width=NAN), ValueError, r"cutoff_width"),
    ("SOAP cutoff_width > r_cut", lambda: soap(cutoff_width=5), ValueError, r"smaller than r_cut"),
    ("SOAP center_weight nan", lambda: soap(center_weight=NAN), ValueError, r"must be finite"),
    ("SOAP center_weight inf", lambda: soap(center_weight=INF), ValueError, r"must be finite"),
    ("SOAP compression unknown", lambda: soap(compression="x"), ValueError, r"unknown compr"),
    ("SOAP compression None", lambda: soap(compression=None), ValueError, r"unknown compr"),
    ("SOAP dtype int", lambda: soap(dtype=int), ValueError, r"float32 or float64"),
    ("SOAP projection", lambda: soap(projection="x"), ValueError, r"'exact' or 'sum'"),
    ("SOAP radial_basis", lambda: soap(radial_basis="x"), ValueError, r"unknown radial_basis"),
    ("SOAP unknown option", lambda: soap(foo=1), ValueError, r"\['foo'\] do not apply"),
    ("SOAP seed negative", lambda: soap(compression="random", seed=-1), ValueError, r"seed"),
    ("SOAP seed nan", lambda: soap(compression="random", seed=NAN), ValueError, r"seed"),
    # SOAP.compute
    ("compute empty list", lambda: soap().compute([]), ValueError, r"empty frame list"),
    ("compute None", lambda: soap().compute(None), TypeError, r"got NoneType"),
    ("compute str", lambda: soap().compute("x.xyz"), TypeError, r"read_frames"),
    ("compute int frame", lambda: soap().compute([1]), TypeError, r"frame 0 is a int"),
    ("compute empty Atoms", lambda: soap().compute(Atoms()), ValueError, r"frame 0 has no atoms"),
    ("compute position nan", lambda: soap().compute([CU, cu([NAN, 0, 0])]), ValueError,
     r"frame 1: positions of atoms \[0\] are NaN or inf"),
    ("compute position inf", lambda: soap().compute(cu([0, INF, 0])), ValueError, r"NaN or inf"),
    ("compute position huge", lambda: soap().compute(cu([1e300, 0, 0])), ValueError,
     r"more than 1e\+08 Å from the origin"),
    ("compute unknown species", lambda: soap().compute(Atoms("H")), ValueError,
     r"frame 0 contains species \['H'\]"),
    ("compute coincident", lambda: soap().compute(Atoms("Cu2")), ValueError, r"same position"),
    ("compute gradients 'yes'", lambda: soap().compute(CU, gradients="yes"), TypeError,
     r"gradients must be True or False"),
    ("compute sparse 1", lambda: soap().compute(CU, sparse=1), TypeError, r"sparse must be"),
    ("compute strain None", lambda: soap().compute(CU, gradients=True, strain=None), TypeError,
     r"strain must be"),
    # ACSF(...)
    ("ACSF r_cut nan", lambda: acsf(r_cut=NAN), ValueError, r"r_cut must be > 0"),
    ("ACSF r_cut zero", lambda: acsf(r_cut=0), ValueError, r"r_cut must be > 0"),
    ("ACSF r_cut negative", lambda: acsf(r_cut=-1), ValueError, r"r_cut must be > 0"),
    ("ACSF r_cut str", lambda: acsf(r_cut="4"), TypeError, r"r_cut must be a number"),
    ("ACSF g2 nan", lambda: acsf(g2_params=[[NAN, 0]]), ValueError, r"NaN or inf"),
    ("ACSF g2 inf", lambda: acsf(g2_params=[[1, INF]]), ValueError, r"NaN or inf"),
    ("ACSF g2 eta negative", lambda: acsf(g2_params=[[-1, 0]]), ValueError, r"eta must be > 0"),
    ("ACSF g2 eta zero", lambda: acsf(g2_params=[[0, 0]]), ValueError, r"eta must be > 0"),
    ("ACSF g2 shape", lambda: acsf(g2_params=[1, 2, 3]), ValueError, r"got shape \(3,\)"),
    ("ACSF g2 str", lambda: acsf(g2_params="x"), ValueError, r"non-numeric"),
    ("ACSF g4 zeta < 1", lambda: acsf(g4_params=[[0, 0.5, 1]]), ValueError, r"zeta must be >= 1"),
    ("ACSF g4 lambda", lambda: acsf(g4_params=[[0, 1, 2]]), ValueError, r"lambda must be"),
    ("ACSF g4 zeta inf", lambda: acsf(g4_params=[[0, INF, 1]]), ValueError, r"NaN or inf"),
    ("ACSF g5 eta negative", lambda: acsf(g5_params=[[-1, 1, 1]]), ValueError, r"eta must be"),
    ("ACSF no function", lambda: acsf(g2_params=None), ValueError, r"at least one function"),
    ("ACSF species empty", lambda: acsf(species=[]), ValueError, r"at least one element"),
    ("ACSF species [True]", lambda: acsf(species=[True]), TypeError, r"got True"),
    ("ACSF compression", lambda: acsf(compression="x"), ValueError, r"unknown ACSF compression"),
    ("ACSF g1 'no'", lambda: acsf(g1="no"), TypeError, r"g1 must be True or False"),
    ("ACSF dtype int", lambda: acsf(dtype=int), ValueError, r"floating type"),
    ("ACSF weights length", lambda: acsf(compression="weighted", weights=[1, 2]), ValueError,
     r"one per species"),
    ("ACSF weights nan", lambda: acsf(compression="weighted", weights=[NAN]), ValueError,
     r"finite numbers"),
    # ACSF.compute
    ("ACSF compute empty", lambda: acsf().compute([]), ValueError, r"empty frame list"),
    ("ACSF compute None", lambda: acsf().compute(None), TypeError, r"got NoneType"),
    ("ACSF compute nan", lambda: acsf().compute(cu([NAN, 0, 0])), ValueError, r"NaN or inf"),
    ("ACSF compute huge", lambda: acsf().compute(cu([-1e12, 0, 0])), ValueError, r"1e\+08 Å"),
    ("ACSF compute unknown", lambda: acsf().compute(Atoms("H")), ValueError, r"species \['H'\]"),
    ("ACSF compute gradients str", lambda: acsf().compute(CU, gradients="no"), TypeError,
     r"gradients must be True or False"),
    # acsf_length
    ("acsf_length n_species -2", lambda: slimsoap.acsf_length("nu2", -2, 1, 1), ValueError,
     r"n_species must be >= 1, got -2"),
    ("acsf_length n_species 0", lambda: slimsoap.acsf_length("nu2", 0, 1, 1), ValueError,
     r"n_species must be >= 1"),
    ("acsf_length n_g2 negative", lambda: slimsoap.acsf_length("nu2", 2, -1, 1), ValueError,
     r"n_g2 must be >= 0"),
    ("acsf_length float", lambda: slimsoap.acsf_length("nu2", 2.5, 1, 1), ValueError,
     r"n_species must be an integer"),
    ("acsf_length nan", lambda: slimsoap.acsf_length("nu2", 2, NAN, 1), ValueError,
     r"n_g2 must be an integer"),
    ("acsf_length compression", lambda: slimsoap.acsf_length(-2, 1, 1, 1), ValueError,
     r"unknown ACSF compression -2"),
    ("acsf_length g1 str", lambda: slimsoap.acsf_length("nu2", 1, 1, 1, g1="yes"), TypeError,
     r"g1 must be True or False"),
    # information_imbalance
    ("II nan", lambda: slimsoap.information_imbalance(np.full((10, 3), NAN), X[:10]), ValueError,
     r"A contains NaN or inf"),
    ("II inf", lambda: slimsoap.information_imbalance(X, np.where(X > 1, INF, X)), ValueError,
     r"B contains NaN or inf"),
    ("II empty", lambda: slimsoap.information_imbalance(np.zeros((0, 3)), np.zeros((0, 3))),
     ValueError, r"at least 2 environments"),
    ("II one row", lambda: slimsoap.information_imbalance(X[:1], X[:1]), ValueError,
     r"at least 2 environments"),
    ("II rows differ", lambda: slimsoap.information_imbalance(X, X[:5]), ValueError,
     r"same environments: 20 vs 5"),
    ("II k zero", lambda: slimsoap.information_imbalance(X, X, k=0), ValueError, r"k must be"),
    ("II k negative", lambda: slimsoap.information_imbalance(X, X, k=-1), ValueError, r"k must"),
    ("II k float", lambda: slimsoap.information_imbalance(X, X, k=1.5), ValueError, r"k must"),
    ("II k huge", lambda: slimsoap.information_imbalance(X, X, k=10**6), ValueError,
     r"needs at least k \+ 1"),
    ("II 1-D", lambda: slimsoap.information_imbalance(X[:, 0], X[:, 0]), ValueError, r"2-D"),
    ("II str", lambda: slimsoap.information_imbalance("a", "b"), ValueError, r"float"),
    ("II block zero", lambda: slimsoap.information_imbalance(X, X, block_size=0), ValueError,
     r"block_size must be"),
    # distance_correlation
    ("DC nan", lambda: slimsoap.distance_correlation(np.full((10, 3), NAN), X[:10]), ValueError,
     r"NaN or inf"),
    ("DC empty", lambda: slimsoap.distance_correlation(np.zeros((0, 3)), np.zeros((0, 3))),
     ValueError, r"at least 2 environments"),
    ("DC rows differ", lambda: slimsoap.distance_correlation(X, X[:5]), ValueError, r"20 vs 5"),
    ("DC bins zero", lambda: slimsoap.distance_correlation(X, X, bins=0), ValueError, r"bins"),
    ("DC bins negative", lambda: slimsoap.distance_correlation(X, X, bins=-1), ValueError,
     r"bins must be >= 1, got -1"),
    ("DC pairs zero", lambda: slimsoap.distance_correlation(X, X, spearman_pairs=0), ValueError,
     r"spearman_pairs must be"),
    ("DC str", lambda: slimsoap.distance_correlation("a", "b"), ValueError, r"float"),
    # sensitivity_eigenvalues
    ("SE centre negative", lambda: slimsoap.sensitivity_eigenvalues(soap(), CU, -1), ValueError,
     r"center \(an atom index\) must be an integer in \[0, 3\], got -1"),
    ("SE centre huge", lambda: slimsoap.sensitivity_eigenvalues(soap(), CU, 99), ValueError,
     r"got 99"),
    ("SE centre float", lambda: slimsoap.sensitivity_eigenvalues(soap(), CU, 1.5), ValueError,
     r"got 1.5"),
    ("SE atoms nan", lambda: slimsoap.sensitivity_eigenvalues(soap(), cu([NAN, 0, 0]), 0),
     ValueError, r"NaN or inf"),
    # recover
    ("recover width", lambda: slimsoap.recover(np.zeros((2, 7)), _random_soap()), ValueError,
     r"features have shape \(2, 7\); 'random' gives 15 columns"),
    ("recover lossy", lambda: slimsoap.recover(np.zeros((2, soap().n_features)), soap()),
     ValueError, r"needs a lossless compression"),
    ("recover chunk 0", lambda: slimsoap.recover(_zeros(), _random_soap(), chunk=0), ValueError,
     r"chunk must be >= 1, got 0"),
    ("recover chunk -1", lambda: slimsoap.recover(_zeros(), _random_soap(), chunk=-1),
     ValueError, r"chunk must be >= 1, got -1"),
    ("recover chunk float", lambda: slimsoap.recover(_zeros(), _random_soap(), chunk=2.5),
     ValueError, r"chunk must be an integer"),
    ("recover rtol -1", lambda: slimsoap.recover(_zeros(), _random_soap(), rtol=-1), ValueError,
     r"rtol must be > 0, got -1"),
    ("recover rtol zero", lambda: slimsoap.recover(_zeros(), _random_soap(), rtol=0), ValueError,
     r"rtol must be > 0, got 0"),
    ("recover rtol nan", lambda: slimsoap.recover(_zeros(), _random_soap(), rtol=NAN),
     ValueError, r"rtol must be > 0, got nan"),
    ("recover rtol inf", lambda: slimsoap.recover(_zeros(), _random_soap(), rtol=INF),
     ValueError, r"rtol must be > 0, got inf"),
    ("recover rtol 1", lambda: slimsoap.recover(_zeros(), _random_soap(), rtol=1.0), ValueError,
     r"rtol must be < 1"),
    ("recover rtol str", lambda: slimsoap.recover(_zeros(), _random_soap(), rtol="1e-9"),
     TypeError, r"rtol must be a number"),
    ("recover features nan", lambda: slimsoap.recover(_zeros(NAN), _random_soap()), ValueError,
     r"features contains NaN or inf \(30 entries"),
    ("recover features inf", lambda: slimsoap.recover(_zeros(INF), _random_soap()), ValueError,
     r"features contains NaN or inf"),
    ("recover features empty", lambda: slimsoap.recover(np.zeros((0, 15)), _random_soap()),
     ValueError, r"no environments"),
    # study and featurize settings
    ("StudyConfig batch_size 0", lambda: StudyConfig(batch_size=0), ValueError,
     r"batch_size must be >= 1, got 0"),
    ("StudyConfig n_repeats float", lambda: StudyConfig(n_repeats=2.5), ValueError,
     r"n_repeats must be an integer"),
    ("StudyConfig max_environments None", lambda: StudyConfig(max_environments=None),
     TypeError, r"max_environments must be an integer"),
    ("StudyConfig train_sizes 0", lambda: StudyConfig(train_sizes=(5, 0)), ValueError,
     r"train_sizes must be >= 1, got 0"),
    ("featurize batch_size True", lambda: featurize([CU], soap(), "never.zarr", batch_size=True),
     ValueError, r"batch_size must be an integer, got True"),
    ("featurize max_pending 0", lambda: featurize([CU], soap(), "never.zarr", max_pending=0),
     ValueError, r"max_pending must be >= 1"),
    ("featurize chunk_rows -1", lambda: featurize([CU], soap(), "never.zarr", chunk_rows=-1),
     ValueError, r"chunk_rows must be >= 1"),
    ("featurize gradients 'no'", lambda: featurize([CU], soap(), "never.zarr", gradients="no"),
     TypeError, r"gradients must be True or False"),
    # EnergyModel.fit
    ("EM X nan", lambda: EnergyModel().fit(np.full((4, 3), NAN), IDX, E2, CU4), ValueError,
     r"features contains NaN or inf"),
    ("EM energies nan", lambda: EnergyModel().fit(X[:4], IDX, np.array([NAN, 2.0]), CU4),
     ValueError, r"energies contains NaN or inf"),
    ("EM index length", lambda: EnergyModel().fit(X[:4], IDX[:3], E2, CU4), ValueError,
     r"structure_index must have shape \(4,\)"),
    ("EM energies length", lambda: EnergyModel().fit(X[:4], IDX, E2[:1], CU4), ValueError,
     r"energies must have shape \(2,\)"),
    ("EM empty", lambda: EnergyModel().fit(np.zeros((0, 3)), np.zeros(0, int), np.zeros(0), []),
     ValueError, r"no atoms given"),
    ("EM zeta zero", lambda: EnergyModel(zeta=0).fit(X[:4], IDX, E2, CU4), ValueError,
     r"zeta must be >= 1"),
    ("EM sigma negative", lambda: EnergyModel(sigma=-1).fit(X[:4], IDX, E2, CU4), ValueError,
     r"sigma must be > 0"),
    ("EM n_folds zero", lambda: EnergyModel(n_folds=0).fit(X[:4], IDX, E2, CU4), ValueError,
     r"n_folds must be >= 2"),
    ("EM species unknown", lambda: EnergyModel().fit(X[:4], IDX, E2, ["Xx"] * 4), ValueError,
     r"unknown chemical species 'Xx'"),
    ("EM index negative", lambda: EnergyModel().fit(X[:4], -IDX - 1, E2, CU4), ValueError,
     r"structure_index must be >= 0"),
    # SparseGP.fit
    ("GP frames empty", lambda: SparseGP(descriptor=soap()).fit([]), ValueError,
     r"empty frame list"),
    ("GP sigma_energy zero", lambda: SparseGP(descriptor=soap(), sigma_energy=0).fit([CU]),
     ValueError, r"sigma_energy must be > 0"),
    ("GP sigma_energy nan", lambda: SparseGP(descriptor=soap(), sigma_energy=NAN).fit([CU]),
     ValueError, r"sigma_energy must be > 0"),
    ("GP kernel", lambda: SparseGP(descriptor=soap(), kernel="x").fit([CU]), ValueError,
     r"unknown kernel 'x'"),
    ("GP zeta negative", lambda: SparseGP(descriptor=soap(), zeta=-1).fit([CU]), ValueError,
     r"zeta must be >= 1"),
    ("GP no energies", lambda: SparseGP(descriptor=soap()).fit([CU]), ValueError,
     r"no training energies"),
    # readers
    ("read missing", lambda: read_frames("/nonexistent/x.xyz"), FileNotFoundError,
     r"does not exist"),
    ("read format", lambda: read_frames(__file__, format="pdb"), ValueError, r"unknown format"),
    ("read suffix", lambda: read_frames(__file__), ValueError, r"cannot tell the format"),
    # descriptor_length, sensitivity_eigenvalues' descriptor
    ("descriptor_length n_species 0", lambda: slimsoap.descriptor_length("nu2", 3, 2, 0),
     ValueError, r"n_species must be >= 1"),
    ("descriptor_length n_species -1", lambda: slimsoap.descriptor_length("nu2", 3, 2, -1),
     ValueError, r"n_species must be >= 1"),
    ("descriptor_length n_max 0", lambda: slimsoap.descriptor_length("nu2", 0, 2, 2), ValueError,
     r"n_max must be >= 1"),
    ("descriptor_length l_max -1", lambda: slimsoap.descriptor_length("nu2", 3, -1, 2), ValueError,
     r"l_max must be >= 0"),
    ("descriptor_length n_max str", lambda: slimsoap.descriptor_length("nu2", "3", 2, 2), TypeError,
     r"n_max must be an integer"),
    ("SE descriptor str", lambda: slimsoap.sensitivity_eigenvalues("soap", CU, 0), ValueError,
     r"descriptor"),
]  # fmt: skip


@pytest.mark.parametrize("call, error, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_specific_message(call, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        call()
    assert type(info.value) is error  # not a subclass from deep inside NumPy or ASE


@pytest.fixture
def data_files(tmp_path):
    (tmp_path / "empty.xyz").write_text("")
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "nan.xyz").write_text("2\nProperties=species:S:1:pos:R:3\nH 0 0 0\nH nan 0 0\n")
    return tmp_path


@pytest.mark.parametrize("name", ["empty.xyz", "emptydir"])
def test_empty_input_is_refused_when_read(data_files, name):
    with pytest.raises(ValueError, match=f"{name}' holds no structures"):
        read_frames(data_files / name)


def test_nan_in_a_file_is_refused_by_the_calculator(data_files):
    frames = list(read_frames(data_files / "nan.xyz"))
    with pytest.raises(ValueError, match=r"frame 0: positions of atoms \[1\] are NaN or inf"):
        SOAP(["H"], 3.0, 2, 1).compute(frames)
