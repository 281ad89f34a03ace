"""Cells that crashed or gave silent wrong numbers, and cells that took seconds (issue 13)."""

import time

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from slimsoap import ACSF, SOAP
from slimsoap.systems.neighbours import neighbour_list, search_cell

NAN, INF = float("nan"), float("inf")


def _calculators():
    return [
        SOAP(["Cu", "Ag"], 4.0, 3, 2),
        ACSF(["Cu", "Ag"], 4.0, g2_params=[[1.0, 0.0]], g4_params=[[0.1, 2.0, 1.0]]),
    ]


def _slab(bad_row):
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.symbols[1] = "Ag"
    cell = atoms.cell.array.copy()
    cell[2] = bad_row
    atoms.set_cell(cell, scale_atoms=False)
    atoms.pbc = [True, True, False]
    return atoms


@pytest.mark.parametrize("gradients", [False, True])
@pytest.mark.parametrize("calc", _calculators(), ids=["SOAP", "ACSF"])
@pytest.mark.parametrize("row", [[0, 0, NAN], [INF, 0, 0], [0, -INF, 3.6]], ids=str)
def test_nan_or_inf_in_the_non_periodic_cell_vector_is_refused(calc, row, gradients):
    """Used to be a segmentation fault: only the periodic rows were checked."""
    frames = [bulk("Cu", "fcc", a=3.6, cubic=True), _slab(row)]
    with pytest.raises(ValueError, match=r"frame 1: cell vectors \[2\] are NaN or inf"):
        calc.compute(frames, gradients=gradients)


@pytest.mark.parametrize("calc", _calculators(), ids=["SOAP", "ACSF"])
@pytest.mark.parametrize(
    "pbc, cell, axis",
    [
        (True, None, 0),
        ([True, False, False], None, 0),
        (True, [[3.6, 0, 0], [0, 3.6, 0], [0, 0, 0]], 2),
        ([False, True, False], [[3.6, 0, 0], [0, 0, 0], [0, 0, 3.6]], 1),
    ],
)
def test_a_periodic_axis_without_a_cell_vector_is_refused(calc, pbc, cell, axis):
    """ASE completes a missing vector with a 1 Å lattice: max |x| 371 instead of an error."""
    atoms = Atoms("CuAg", positions=[[0, 0, 0], [1.3, 1.3, 0.4]], cell=cell, pbc=pbc)
    with pytest.raises(ValueError, match=f"periodic along axis {axis} but the cell vector is zero"):
        calc.compute(atoms)


def test_a_zero_cell_vector_along_a_non_periodic_axis_is_fine():
    atoms = Atoms("Cu2", positions=[[0, 0, 0], [1.8, 1.8, 0]], cell=[3.6, 3.6, 0], pbc=[1, 1, 0])
    assert np.isfinite(SOAP(["Cu"], 4.0, 3, 2).compute(atoms).values).all()


@pytest.mark.parametrize("calc", _calculators(), ids=["SOAP", "ACSF"])
def test_singular_periodic_cell_is_refused(calc):
    atoms = Atoms("Cu", cell=[[3.6, 0, 0], [7.2, 0, 0], [0, 0, 3.6]], pbc=True)
    with pytest.raises(ValueError, match="frame 0 is periodic but its cell is singular"):
        calc.compute(atoms)


def test_coordinates_too_far_for_float64_precision_are_refused():
    atoms = Atoms("Cu2", positions=[[0, 0, 0], [1e9, 0, 0]])
    with pytest.raises(ValueError, match=r"frame 0: atoms \[1\] are more than 1e\+08 Å"):
        SOAP(["Cu"], 4.0, 3, 2).compute(atoms)


def _sheared(atoms, shear):
    """The same lattice and atoms in a basis with b -> b + shear·a (and c -> c - shear·b)."""
    a, b, c = atoms.cell.array
    out = atoms.copy()
    out.set_cell([a, b + shear * a, c - shear * b], scale_atoms=False)
    return out


def _alloy():
    rng = np.random.default_rng(4)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
    atoms.symbols = rng.choice(["Cu", "Ag"], len(atoms))
    atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
    return atoms


@pytest.mark.parametrize("shear", [3, 40, 400])
def test_sheared_cell_gives_the_pairs_of_the_plain_cell(shear):
    plain, sheared = _alloy(), _sheared(_alloy(), shear)
    a, b = neighbour_list(plain, 4.0), neighbour_list(sheared, 4.0)
    np.testing.assert_array_equal(a.offsets, b.offsets)

    def keyed(nl):
        keys = np.column_stack([nl.centres, nl.neighbours, np.round(nl.vectors, 9)])
        return keys[np.lexsort(keys.T[::-1])]

    np.testing.assert_allclose(keyed(a), keyed(b), rtol=0, atol=1e-9)


@pytest.mark.parametrize("pbc", [True, [True, True, False]], ids=["3D", "2D"])
def test_sheared_cell_gives_the_descriptors_of_the_plain_cell(pbc):
    plain = _alloy()
    plain.pbc = pbc
    sheared = _sheared(plain, 400)
    if pbc is not True:  # keep the non-periodic c axis as it is
        sheared.set_cell([*sheared.cell.array[:2], plain.cell.array[2]], scale_atoms=False)
    soap = SOAP(["Cu", "Ag"], 4.0, 3, 2)
    ref = soap.compute(plain, gradients=True)
    t0 = time.perf_counter()
    got = soap.compute(sheared, gradients=True)
    seconds = time.perf_counter() - t0
    np.testing.assert_allclose(got.values, ref.values, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got.gradient_pairs, ref.gradient_pairs)
    np.testing.assert_allclose(got.gradients, ref.gradients, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.strain_gradients, ref.strain_gradients, rtol=0, atol=1e-11)
    assert seconds < 2.0  # ~9 s before the search used the reduced cell
    acsf = _calculators()[1]
    np.testing.assert_allclose(
        acsf.compute(sheared).values, acsf.compute(plain).values, rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(
    "cell",
    [
        np.diag([3.6, 3.6, 3.6]),
        bulk("Cu", "fcc", a=3.6).cell.array,
        bulk("Mg", "hcp", a=3.2).cell.array,
        np.array([[5.0, 0, 0], [2.0, 5.0, 0], [1.0, 1.5, 6.0]]),
    ],
    ids=["cubic", "fcc-primitive", "hcp", "triclinic"],
)
def test_ordinary_cells_are_searched_as_given(cell):
    """Reduction only when it saves image cells, so ordinary cells keep their numbers."""
    assert search_cell(cell, np.ones(3, bool), 5.0) is cell
