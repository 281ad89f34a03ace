"""``slimsoap reproduce --only fig_s1``: the Fig. S1 colouring claims, checked on their own
terms (colourings of A, B, B', C; ν=2 kept exactly when B and B' share an element)."""

import csv
import itertools
import json

import pytest

from slimsoap.study.reproduce.context import ReproduceConfig
from slimsoap.study.reproduce.runner import run_reproduce

ELEMENTS = ("Cu", "Au")


@pytest.fixture(scope="module")
def section(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce_s1")
    _, ctx = run_reproduce(out, ReproduceConfig.quick(), ["fig_s1"], progress=False)
    assert ctx.recomputed == ["section/fig_s1"]
    _, again = run_reproduce(out, ReproduceConfig.quick(), ["fig_s1"], progress=False)
    assert again.recomputed == []  # cached
    return out, json.loads((out / "fig_s1" / "section.json").read_text())["section"]


def test_claims_hold(section):
    out, s = section
    assert s["holds"]
    for f in s["files"]:
        assert (out / f).exists()
    html = (out / "report.html").read_text()
    assert 'id="fig_s1"' in html


def test_kept_colourings_are_those_with_b_and_bprime_alike(section):
    _, s = section
    colourings = [" ".join(c) for c in itertools.product(ELEMENTS, repeat=4)]
    alike = {c for c in colourings if c.split()[1] == c.split()[2]}
    n = s["numbers"]
    assert set(n["kept_nu2"]) == alike
    assert set(n["broken_nu2_and_nu1mu1"]) == set(colourings) - alike
    assert n["broken_nu2_not_nu1mu1"] == [] and n["unclear"] == []
    # the element-blind 3-body compressions never separate; every other keeps exactly those
    assert set(n["never_separate"]) == {"mu2", "mu1muhat1", "muhat2"}
    assert n["kept_exactly_when_B_and_Bprime_alike"]
    # every body-order-4 compression separates every colouring; no 3-body one does
    assert n["separate_every_colouring"] and all(
        k.startswith("bisp:") for k in n["separate_every_colouring"]
    )


def test_table_rows(section):
    out, s = section
    with open(out / "fig_s1" / "fig_s1.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 16
    for r in rows:
        # the element-blind compressions keep every colouring
        assert max(float(r[k]) for k in ("mu2", "mu1muhat1", "muhat2")) < 1e-12
    text = (out / "fig_s1" / "fig_s1.txt").read_text()
    assert sum(1 for line in text.splitlines() if line[:2] in ("Cu", "Au")) == 16
