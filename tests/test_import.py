"""``import slimsoap`` stays light; the lazy public names resolve to what they name."""

import importlib
import importlib.util
import subprocess
import sys
import types

import pytest

import slimsoap

HEAVY = ("numba", "scipy.stats", "dask", "zarr", "matplotlib")
LAZY_PACKAGES = ("slimsoap", "slimsoap.analysis", "slimsoap.models", "slimsoap.data")


def _imported_by(statement: str) -> set[str]:
    """Modules a fresh interpreter imports to run ``statement`` (from ``-X importtime``)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        line.split("|")[-1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and not line.rstrip().endswith("imported package")
    }


def test_import_slimsoap_loads_no_heavy_dependency():
    modules = _imported_by("import slimsoap")
    assert "slimsoap" in modules  # the parse saw the import at all
    heavy = sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []


def test_first_use_loads_the_calculator():
    modules = _imported_by("import slimsoap; slimsoap.SOAP")
    assert {"numba", "slimsoap.soap.contraction"} <= modules


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_public_name_resolves_and_is_listed(name):
    package = importlib.import_module(name)
    assert package.__all__ == sorted(package.__all__)
    for attr in package.__all__:
        if importlib.util.find_spec(f"{name}.{attr}") is not None:
            importlib.import_module(f"{name}.{attr}")  # a submodule of the same name
        value = getattr(package, attr)
        assert not isinstance(value, types.ModuleType), f"{name}.{attr} is a module"
        assert attr in dir(package)


def test_subpackages_are_attributes_and_unknown_names_raise():
    assert slimsoap.models.SparseGP.__name__ == "SparseGP"
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        slimsoap.nonexistent  # noqa: B018
