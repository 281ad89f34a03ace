"""``slimsoap --help`` stays quick: building the parser imports no heavy library (issue 19).

Each command module imports what its handler needs inside the handler, so ``slimsoap --help``
and ``slimsoap <command> --help`` load neither the kernels (numba) nor plotting, Dask, zarr,
SciPy or ASE's readers and builders.
"""

import json
import subprocess
import sys

import pytest

HEAVY = ["matplotlib", "dask", "distributed", "numba", "scipy", "zarr", "ase.io", "ase.build"]

_PROBE = """
import json, sys
import slimsoap.cli.main as m
m.build_parser()
print(json.dumps(sorted({name for name in sys.modules for heavy in HEAVY
                         if name == heavy or name.startswith(heavy + ".")})))
"""


def test_building_the_parser_imports_no_heavy_library():
    probe = f"HEAVY = {HEAVY!r}\n{_PROBE}"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize("argv", [["--help"], ["featurize", "--help"], ["data", "--help"]])
def test_help_runs(argv):
    done = subprocess.run(
        [sys.executable, "-m", "slimsoap.cli.main", *argv], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: slimsoap")
