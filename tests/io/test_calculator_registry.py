"""Every calculator kind survives ``calculator_from_dict(to_dict())`` bit for bit; the
registry builds only registered classes from validated parameters."""

import json

import numpy as np
import pytest
from structures import random_alloy, random_cluster

from slimsoap import ACSF, SOAP
from slimsoap.calculator import Calculator, CalculatorBase
from slimsoap.features import Features
from slimsoap.io import calculator_from_dict, register_calculator

SPECIES = ["H", "C", "O"]
FRAMES = [random_cluster(["H", "C", "O", "C", "O", "H"], seed=s) for s in range(2)]


def _soap(compression, **options):
    return SOAP(SPECIES, 3.5, 3, 2, 0.4, compression=compression, **options)


SOAP_CASES = {
    "nu2": lambda: _soap("nu2"),
    "nu1mu1-float32-normalized": lambda: _soap("nu1mu1", dtype=np.float32, normalize=True),
    "nuhat2-sum": lambda: _soap("nuhat2", projection="sum"),
    "random-seeded": lambda: _soap("random", seed=12),
    "random_sym-seeded": lambda: _soap("random_sym", seed=5),
    "embed-matrix": lambda: _soap("embed", embedding=[[1.0, 0.5], [2.0, -1.0], [0.1, 3.0]]),
    "species_groups": lambda: _soap("species_groups", groups=[["H"], ["C", "O"]]),
    "tensor_reduced": lambda: _soap("tensor_reduced", n_channels=2, mix="radial", seed=4),
    "nu1mustar1-gaussian": lambda: SOAP(
        SPECIES, 3.5, 3, 1, 0.4, radial_basis="gaussian", compression="nu1mustar1"
    ),
    "optimal_radial-fitted": lambda: _soap("optimal_radial", n_components=3).fit(FRAMES),
    "acsf-nu2-g1": lambda: ACSF(SPECIES, 3.5, [[0.5, 0.0], [1.0, 1.5]], [[0.1, 1.0, 1.0]], g1=True),
    "acsf-weighted": lambda: ACSF(
        ["O", "H", "C"],
        3.5,
        [[0.5, 0.0]],
        None,
        [[0.2, 2.0, -1.0]],
        compression="weighted",
        weights=[8.0, 1.5, 6.0],
    ),  # fmt: skip
    "acsf-mu2-float32": lambda: ACSF.preset(
        "behler", SPECIES, 3.5, compression="mu2", dtype=np.float32
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(SOAP_CASES))
def test_round_trip_is_bit_identical(case):
    calc = SOAP_CASES[case]()
    assert isinstance(calc, Calculator)
    text = json.dumps(calc.to_dict())  # JSON all the way, no NumPy objects left
    arrays = {k: np.array(v) for k, v in calc.fitted_arrays().items()}
    again = calculator_from_dict(json.loads(text), arrays)
    assert type(again) is type(calc)
    assert again.to_dict() == calc.to_dict()
    assert again.labels() == calc.labels() and again.n_features == calc.n_features
    a, b = calc.compute(FRAMES, gradients=True), again.compute(FRAMES, gradients=True)
    assert a.values.dtype == b.values.dtype
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.gradients, b.gradients)
    np.testing.assert_array_equal(a.strain_gradients, b.strain_gradients)


def test_get_params_are_the_constructor_arguments():
    soap = _soap("random", seed=7)
    params = soap.get_params()
    assert params["species"] == SPECIES and params["seed"] == 7 and params["dtype"] == "float64"
    assert SOAP(**params).to_dict() == soap.to_dict()
    acsf = SOAP_CASES["acsf-weighted"]()
    params = acsf.get_params()
    assert params["species"] == ["H", "C", "O"]  # sorted by Z, weights reordered with them
    assert params["weights"] == [1.5, 6.0, 8.0]
    assert params["g4_params"] == [] and params["g5_params"] == [[0.2, 2.0, -1.0]]
    assert acsf.to_dict()["class"] == "ACSF" and acsf.to_dict()["format"] == 1


def test_seed_travels_with_the_calculator():
    a = calculator_from_dict(json.loads(json.dumps(_soap("random", seed=3).to_dict())))
    b = _soap("random", seed=4)
    assert a.seed == 3
    assert not np.array_equal(a.compute(FRAMES).values, b.compute(FRAMES).values)


def test_fitted_arrays_are_required_and_checked():
    fitted = SOAP_CASES["optimal_radial-fitted"]()
    d, arrays = fitted.to_dict(), fitted.fitted_arrays()
    unfitted = calculator_from_dict(d)  # parameters only: a calculator that must be fitted
    with pytest.raises(ValueError, match="call soap.fit"):
        unfitted.compute(FRAMES)
    partial = {k: v for k, v in arrays.items() if k != "components.l1"}
    with pytest.raises(ValueError, match="components.l1"):
        calculator_from_dict(d, partial)
    with pytest.raises(ValueError, match="fitted arrays .* do not match"):
        calculator_from_dict(d, {**arrays, "components.l9": arrays["components.l0"]})
    with pytest.raises(ValueError, match="ACSF has no fitted state"):
        calculator_from_dict(SOAP_CASES["acsf-nu2-g1"]().to_dict(), arrays)


def _good():
    return _soap("random", seed=1).to_dict()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update({"class": "os:system"}), "'os:system', not a registered"),
        (lambda d: d.update({"class": "CalculatorBase"}), "not a registered slimsoap calc"),
        (lambda d: d.pop("class"), "field 'class' is None"),
        (lambda d: d.update({"format": 2}), "field 'format' is 2; this slimsoap reads SOAP "),
        (lambda d: d.update({"format": True}), "field 'format' is True"),
        (lambda d: d.update({"code": "x"}), r"unknown calculator field\(s\) \['code'\]"),
        (lambda d: d.update({"params": [1, 2]}), "field 'params' must be an object"),
        (lambda d: d["params"].pop("r_cut"), r"SOAP parameter\(s\) \['r_cut'\] missing"),
        (lambda d: d["params"].update({"r_cut": "5"}), "parameter 'r_cut' must be of JSON"),
        (lambda d: d["params"].update({"n_max": 3.0}), "parameter 'n_max' must be of JSON"),
        (lambda d: d["params"].update({"n_max": True}), "parameter 'n_max' must be of JSON"),
        (lambda d: d["params"].update({"species": "HCO"}), "parameter 'species' must be"),
        (lambda d: d["params"].update({"dtype": 8}), "parameter 'dtype' must be of JSON"),
        (lambda d: d["params"].update({"dtype": "object"}), "dtype must be float32 or"),
        (lambda d: d["params"].update({"embedding": "x"}), r"option\(s\) \['embedding'\]"),
        (lambda d: d["params"].update({"r_cut": -1.0}), "cannot rebuild SOAP .*r_cut"),
    ],
)
def test_invalid_dicts_are_refused_naming_the_field(edit, message):
    d = _good()
    edit(d)
    with pytest.raises(ValueError, match=message):
        calculator_from_dict(d, source="f.npz")
    with pytest.raises(ValueError, match="^f.npz"):
        calculator_from_dict(d, source="f.npz")


def test_unknown_acsf_parameter_is_refused():
    d = SOAP_CASES["acsf-nu2-g1"]().to_dict()
    d["params"]["seed"] = 1  # ACSF takes no **options
    with pytest.raises(ValueError, match=r"unknown ACSF parameter\(s\) \['seed'\]"):
        calculator_from_dict(d)


class Histogram(CalculatorBase):
    """A toy calculator registered by a test: counts of each species within r_cut."""

    def __init__(self, species: list[int], r_cut: float = 3.0):
        self.species, self.r_cut = species, r_cut

    @property
    def n_features(self) -> int:
        return len(self.species)

    def labels(self) -> list[str]:
        return [f"count:{z}" for z in self.species]

    def compute(self, frames, gradients=False) -> Features:
        frames = [frames] if not isinstance(frames, list) else frames
        rows = []
        for atoms in frames:
            d = atoms.get_all_distances(mic=True)
            near = (d < self.r_cut) & (d > 0)
            rows.append([[(near[i] & (atoms.numbers == z)).sum() for z in self.species]
                         for i in range(len(atoms))])  # fmt: skip
        values = np.concatenate(rows).astype(float)
        return Features(values, np.repeat(np.arange(len(frames)), [len(a) for a in frames]))


def test_a_registered_class_is_saved_and_rebuilt_like_the_built_ins():
    with pytest.raises(TypeError, match="not a registered slimsoap calculator"):
        Histogram([1, 8]).to_dict()
    register_calculator(Histogram, name="test.Histogram")
    calc = Histogram([29, 79], r_cut=3.2)
    assert isinstance(calc, Calculator)
    d = json.loads(json.dumps(calc.to_dict()))
    assert d == {"class": "test.Histogram", "format": 1, "params": {"species": [29, 79],
                                                                    "r_cut": 3.2}}  # fmt: skip
    frames = [random_alloy(["Cu", "Au"], repeat=1, seed=2)]
    np.testing.assert_array_equal(
        calculator_from_dict(d).compute(frames).values, calc.compute(frames).values
    )
    with pytest.raises(ValueError, match="'species' must be of JSON type"):
        calculator_from_dict({**d, "params": {"species": 29, "r_cut": 3.2}})
    with pytest.raises(ValueError, match="already registered"):
        register_calculator(SOAP, name="test.Histogram")
