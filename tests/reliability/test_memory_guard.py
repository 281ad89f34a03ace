"""The memory guard: inputs that would allocate gigabytes are refused fast, before allocating."""

import time
import tracemalloc

import numpy as np
import pytest
from ase import Atoms

import slimsoap
from slimsoap import ACSF, SOAP, MemoryLimitError
from slimsoap._runtime.limits import DEFAULT_MAX_MEMORY, ENV_VAR, memory_limit


@pytest.fixture(autouse=True)
def _default_limit(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    slimsoap.set_memory_limit(None)
    yield
    slimsoap.set_memory_limit(None)


def _refused_fast(fn, match):
    """Run ``fn``, expecting MemoryLimitError; return (seconds, peak traced bytes)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(MemoryLimitError, match=match):
        fn()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak


THIN = Atoms("Cu", positions=[[0, 0, 0]], cell=[3.0, 3.0, 1e-7], pbc=True)


@pytest.mark.parametrize(
    "calc",
    [SOAP(["Cu"], 5.0, 8, 6), ACSF(["Cu"], 5.0, g2_params=[[1.0, 0.0]])],
    ids=["SOAP", "ACSF"],
)
@pytest.mark.parametrize("gradients", [False, True])
def test_thin_cell_is_refused_in_well_under_a_second(calc, gradients):
    """c = 1e-7 Å used to ask for 15 GB and be killed by the OOM killer."""
    calc.compute(Atoms("Cu", cell=[3.6] * 3, pbc=True))  # compile outside the timing
    seconds, peak = _refused_fast(
        lambda: calc.compute(THIN, gradients=gradients),
        r"frame 0: the periodic images within the cutoff would need about .* GiB .*"
        r"lattice planes 1e-07 Å apart.*set_memory_limit",
    )
    assert seconds < 1.0 and peak < 50 * 2**20


def test_dense_periodic_cell_is_refused_for_its_pairs():
    """Many atoms in a small (not thin) cell: the pair count, not the images, is too large."""
    rng = np.random.default_rng(0)
    atoms = Atoms("Cu" * 20000, positions=rng.uniform(0, 10, (20000, 3)), cell=[10] * 3, pbc=True)
    seconds, peak = _refused_fast(
        lambda: slimsoap.systems.neighbours.neighbour_list(atoms, 6.0),
        r"frame 0: the neighbour pairs would need about .* neighbours per atom within r_cut = 6 Å,"
        r" for 20000 atoms",
    )
    assert seconds < 1.0 and peak < 100 * 2**20


@pytest.mark.parametrize("pbc", [[True, True, False], False])
def test_a_flat_layer_is_not_mistaken_for_a_dense_one(pbc):
    """A single layer (zero thickness, zero or no non-periodic cell vector) is searched."""
    xy = np.stack(np.meshgrid(np.arange(20), np.arange(20)), -1).reshape(-1, 2) * 2.5
    atoms = Atoms("C" * len(xy), positions=np.column_stack([xy, np.zeros(len(xy))]))
    atoms.cell, atoms.pbc = [50.0, 50.0, 0.0], pbc
    nl = slimsoap.systems.neighbours.neighbour_list(atoms, 3.0)
    assert len(nl.distances) == (4 * len(xy) if pbc else 4 * len(xy) - 4 * 20)


@pytest.mark.parametrize("sigma", [1e-4, 1e-5])
@pytest.mark.parametrize("basis", ["gto", "gaussian"])
def test_tiny_sigma_is_refused_before_the_spline_table(sigma, basis):
    """σ = 1e-4 Å made a 3.8 GB spline table, 1e-5 Å more than 6 GB."""
    seconds, peak = _refused_fast(
        lambda: SOAP(["Cu", "Ni"], 5.0, 8, 6, sigma=sigma, radial_basis=basis),
        rf"the radial spline table would need about .* sigma = {sigma:g} Å is tiny",
    )
    assert seconds < 1.0 and peak < 50 * 2**20


def test_the_estimate_is_close_to_the_measured_peak():
    """The table estimate is within 30% of what building the table really allocates."""
    soap = SOAP(["Cu"], 5.0, 8, 6, sigma=0.01)
    tracemalloc.start()
    soap.basis.integrals(np.array([1.0]))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert 0.7 < soap.basis.table_bytes() / peak < 1.3


def test_the_limit_can_be_raised_and_lowered():
    slimsoap.set_memory_limit(2**20)
    with pytest.raises(MemoryLimitError, match=r"limit 0.000977 GiB"):
        SOAP(["Cu"], 5.0, 8, 6, sigma=0.05)
    slimsoap.set_memory_limit(64 * 2**30)
    assert memory_limit() == 64 * 2**30
    SOAP(["Cu"], 5.0, 8, 6, sigma=1e-4)  # 10.7 GiB estimated: now allowed (table built lazily)
    slimsoap.set_memory_limit(None)
    assert memory_limit() == DEFAULT_MAX_MEMORY


@pytest.mark.parametrize(
    "text, expected",
    [("1048576", 2**20), ("512M", 512 * 2**20), ("32G", 32 * 2**30), ("1.5g", 3 * 2**29),
     ("2TB", 2 * 2**40), (" 64k ", 64 * 2**10)],
)  # fmt: skip
def test_environment_variable(monkeypatch, text, expected):
    monkeypatch.setenv(ENV_VAR, text)
    assert memory_limit() == expected


@pytest.mark.parametrize("text", ["lots", "-1G", "0", "G", "nan", "inf"])
def test_bad_environment_variable_is_named(monkeypatch, text):
    monkeypatch.setenv(ENV_VAR, text)
    with pytest.raises(ValueError, match=ENV_VAR):
        memory_limit()


@pytest.mark.parametrize("value", [0, -5, float("nan"), float("inf"), "8G", True])
def test_bad_set_memory_limit(value):
    with pytest.raises(ValueError, match="memory limit must be"):
        slimsoap.set_memory_limit(value)
