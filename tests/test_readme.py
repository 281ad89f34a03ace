"""The README's usage example runs and its claims hold."""

from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs():
    code = README.read_text().split("```python")[1].split("```")[0]
    ns: dict = {}
    exec(code, ns)  # noqa: S102 - the README's own example
    slimsoap, atoms = ns["slimsoap"], ns["atoms"]
    assert ns["soap"].n_features == 8 * 8 * 2 * 7
    full = slimsoap.SOAP(["Ni", "Cu"], 5.0, 8, 6).compute(atoms).values
    assert np.abs(ns["full"] - full).max() <= 1e-8 * np.abs(full).max()
    assert ns["X"].shape == (len(atoms), slimsoap.descriptor_length("nu1mu1", 8, 6, 39))


def test_readme_commands_are_the_ci_commands():
    head = README.read_text().splitlines()[:6]
    ci = (README.parent / ".ci" / "run").read_text()
    assert any('pip install -e ".[test]" && python -m pytest -q' in line for line in head)
    assert 'pip install -e ".[test]" && python -m pytest -q' in ci
