"""The registry and its specs: consistency checks, capabilities that depend on options,
and fitted state kept out of the hyper-parameters."""

import json

import numpy as np
import pytest
from structures import random_cluster

from slimsoap import SOAP
from slimsoap.io import calculator_from_dict
from slimsoap.soap import compressions
from slimsoap.soap.compressions.densities import element
from slimsoap.soap.compressions.maps import ChannelMap
from slimsoap.soap.compressions.paired import paired
from slimsoap.soap.compressions.spec import CompressionSpec, NoOptions, Recovery, SeedOptions

SPECIES = ["H", "C", "O"]


def test_unknown_names_and_bad_registrations():
    with pytest.raises(ValueError, match=r"unknown compression 'nu3'; valid: \[.*'nu2'"):
        compressions.get("nu3")
    with pytest.raises(TypeError, match="takes a CompressionSpec"):
        compressions.register({"name": "x"})
    with pytest.raises(ValueError, match="already registered"):
        compressions.register(compressions.get("nu2"))
    with pytest.raises(ValueError, match="unknown compression 'nope'"):
        compressions.unregister("nope")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"recoverable": True}, "give a Recovery exactly when recoverable"),
        ({"recovery": Recovery("projected", True)}, "give a Recovery exactly when recoverable"),
        ({"needs_fit": True}, "give a fit function exactly when needs_fit"),
        ({"seeded": True}, "seeded=True needs an option named 'seed'"),
    ],
)
def test_inconsistent_specs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CompressionSpec("bad", paired(element, element), NoOptions, "bad", **kwargs)


def test_options_must_be_a_compression_options_dataclass():
    with pytest.raises(TypeError, match="options must be a CompressionOptions dataclass"):
        CompressionSpec("bad", paired(element, element), dict, "bad")


def test_builder_disagreeing_with_extra_basis_flag_is_caught():
    def lying(ctx):  # claims a second basis in its flags, builds none
        return ChannelMap(paired(element, element)(ctx).blocks, ctx.n_max)

    spec = CompressionSpec("liar", lying, SeedOptions, "liar", extra_basis=True, seeded=True)
    compressions.register(spec)
    try:
        with pytest.raises(RuntimeError, match="disagree with its extra_basis flag"):
            SOAP(SPECIES, 3.5, 3, 2, compression="liar")
    finally:
        compressions.unregister("liar")


def test_nu1mustar1_capabilities_follow_mustar_basis():
    sep = SOAP(SPECIES, 3.5, 3, 2, compression="nu1mustar1")
    assert sep.capabilities.extra_basis and not sep.capabilities.recoverable
    assert "separate μ* basis is not recoverable" in sep.capabilities.reasons["recoverable"]
    elem = SOAP(SPECIES, 3.5, 5, 2, compression="nu1mustar1", mustar_basis="element")
    assert elem.capabilities.recoverable and not elem.capabilities.extra_basis
    assert elem.extra_basis is None and sep.extra_basis is not None
    assert compressions.get("nu1mustar1").recoverable  # the spec: recoverable in general


@pytest.mark.parametrize(
    "compression, options, match",
    [
        ("tensor_reduced", {"n_channels": 2, "mix": "atoms"}, "tensor_reduced: mix must be one"),
        ("tensor_reduced", {"n_channels": 2.5}, "tensor_reduced: n_channels must be an integer"),
        ("tensor_reduced", {"n_channels": 2, "seed": "a"}, "tensor_reduced: seed must be"),
        ("species_groups", {"groups": "HCO"}, "species_groups: groups must be a non-empty list"),
        ("species_groups", {"groups": [["H", "C", "O"]], "groups2": ["H"]}, "each group of"),
        ("embed", {"embedding": [1.0, 2.0]}, r"embed: embedding matrix must have shape"),
        ("embed", {"embedding": object()}, "embed: embedding must be a preset name or"),
        ("optimal_radial", {"n_components": True}, "optimal_radial: n_components must be"),
        ("random_sym", {"seed": None}, "random_sym: seed must be a non-negative integer"),
    ],
)
def test_option_errors_name_the_compression_and_option(compression, options, match):
    with pytest.raises(ValueError, match=match):
        SOAP(SPECIES, 3.5, 3, 2, compression=compression, **options)


@pytest.fixture(scope="module")
def fitted():
    atoms = random_cluster(["H", "C", "O", "C", "O", "H"], seed=6)
    soap = SOAP(SPECIES, 3.5, 3, 2, compression="optimal_radial", n_components=4).fit([atoms])
    return soap, atoms


def test_fitted_state_is_not_a_hyper_parameter(fitted):
    soap, _ = fitted
    assert soap.options == {"n_components": 4}
    unfitted = SOAP(SPECIES, 3.5, 3, 2, compression="optimal_radial", n_components=4)
    assert soap.to_dict() == unfitted.to_dict()  # no fitted array in the hyper-parameters
    arrays = soap.fitted_arrays()
    assert list(arrays) == ["components.l0", "components.l1", "components.l2"]
    assert all(w.shape == (9, 4) for w in arrays.values())


def test_restore_fitted_gives_identical_values(fitted):
    soap, atoms = fitted
    fresh = SOAP(SPECIES, 3.5, 3, 2, compression="optimal_radial", n_components=4)
    fresh.restore_fitted(soap.fitted_arrays())
    np.testing.assert_array_equal(fresh.compute(atoms).values, soap.compute(atoms).values)
    back = calculator_from_dict(json.loads(json.dumps(soap.to_dict())), soap.fitted_arrays())
    np.testing.assert_array_equal(back.compute(atoms).values, soap.compute(atoms).values)


def test_restore_fitted_refuses_wrong_arrays(fitted):
    soap, atoms = fitted
    fresh = SOAP(SPECIES, 3.5, 3, 2, compression="optimal_radial", n_components=4)
    arrays = soap.fitted_arrays()
    with pytest.raises(ValueError, match=r"components.l1 must have shape \(S·N=9, 4\)"):
        fresh.restore_fitted({**arrays, "components.l1": np.zeros((9, 3))})
    with pytest.raises(ValueError, match="fitted arrays must be"):
        fresh.restore_fitted({"components.l0": arrays["components.l0"]})
    assert fresh.fitted_arrays() == {}  # left unfitted
    with pytest.raises(ValueError, match=r"call soap.fit\(frames\) first"):
        fresh.compute(atoms)
    fresh.restore_fitted({})  # nothing to restore: unchanged
    assert fresh.fitted_arrays() == {}
    with pytest.raises(ValueError, match="nu2 learns nothing from data"):
        SOAP(SPECIES, 3.5, 3, 2).restore_fitted(arrays)
