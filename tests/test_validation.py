"""The shared checks of slimsoap._validation refuse what they name, and nothing else."""

import numpy as np
import pytest

from slimsoap._validation import (
    check_bool,
    check_finite,
    check_int,
    species_index,
    species_to_numbers,
)


@pytest.mark.parametrize("value", [3, np.int32(3), 3.0, np.float64(3.0)])
def test_check_int_accepts_integral_numbers(value):
    out = check_int("n", value, 1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 2.5, float("nan"), float("inf")])
def test_check_int_refuses_non_integers(value):
    with pytest.raises(ValueError, match=r"^n must be an integer, got "):
        check_int("n", value, 0)


@pytest.mark.parametrize("value", ["3", None, [3]])
def test_check_int_refuses_non_numbers_with_a_type_error(value):
    with pytest.raises(TypeError, match=r"^n must be an integer, got "):
        check_int("n", value, 0)


def test_check_int_bounds():
    assert check_int("k", 2, 2, 5) == 2 and check_int("k", 5, 2, 5) == 5
    with pytest.raises(ValueError, match=r"k must be >= 1, got 0"):
        check_int("k", 0, 1)
    with pytest.raises(ValueError, match=r"k must be an integer in \[2, 5\], got 6"):
        check_int("k", 6, 2, 5)


@pytest.mark.parametrize("value", ["no", "False", 1, 0, None, 1.0])
def test_check_bool_refuses_non_booleans(value):
    with pytest.raises(TypeError, match="flag must be True or False"):
        check_bool("flag", value)


def test_check_bool_accepts_booleans():
    assert check_bool("flag", np.bool_(False)) is False and check_bool("flag", True) is True


def test_check_finite_names_the_bad_entries():
    ok = np.arange(4.0)
    assert check_finite("x", ok) is ok
    message = r"x contains NaN or inf \(2 entries, first at flat index 1\)"
    with pytest.raises(ValueError, match=message):
        check_finite("x", np.array([[0.0, np.nan], [np.inf, 1.0]]))


@pytest.mark.parametrize("species", [True, [True, "Cu"], [np.bool_(True)]])
def test_species_refuse_booleans(species):
    with pytest.raises(TypeError, match="species must be chemical symbols or atomic numbers"):
        species_to_numbers(species)


def test_species_index_maps_and_names_the_unknown():
    known = species_to_numbers(["O", "H", 6])
    np.testing.assert_array_equal(known, [1, 6, 8])
    np.testing.assert_array_equal(species_index(np.array([8, 1, 1, 6]), known), [2, 0, 0, 1])
    message = r"frame 3 contains species \['Fe'\] not in the model \['H', 'C', 'O'\]"
    with pytest.raises(ValueError, match=message):
        species_index(np.array([1, 26]), known, 3, "the model")
    with pytest.raises(ValueError, match=r"^the frames contain species \['Fe'\]"):
        species_index(np.array([26]), known)
