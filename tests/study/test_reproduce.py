"""``slimsoap reproduce`` on a tiny configuration: report, files, verdicts and the cache."""

import json
from html.parser import HTMLParser

import pytest

from slimsoap.cli.main import main
from slimsoap.study.reproduce import SECTION_KEYS
from slimsoap.study.reproduce.context import ReproduceConfig
from slimsoap.study.reproduce.runner import SECTIONS, run_reproduce, select

ONLY = ["table1", "fig2"]
_QUICK = ReproduceConfig.quick  # the real one, before any monkeypatch


def tiny(**overrides) -> ReproduceConfig:
    return _QUICK(**{"alloy_n": 40, "n_max": 3, "l_max": 2, "max_environments": 60, **overrides})


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.rows = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag == "tr":
            self.rows += 1


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    path, ctx = run_reproduce(out, tiny(), ONLY, progress=False)
    return out, path, ctx


def test_registry_matches_the_keys():
    assert list(SECTIONS) == list(SECTION_KEYS)
    assert select(["fig4", "table1"]) == ["table1", "fig4"]
    with pytest.raises(ValueError, match="unknown section"):
        select(["fig99"])


def test_report_files_and_verdicts(first_run):
    out, path, ctx = first_run
    assert path == out / "report.html"
    report = json.loads((out / "report.json").read_text())
    assert [c["key"] for c in report["claims"]] == ONLY
    for section in report["sections"]:
        assert isinstance(section["holds"], bool)
        assert section["claim"] and section["criterion"] and section["numbers"]
        kinds = {f.rsplit(".", 1)[1] for f in section["files"]}
        assert {"png", "csv"} <= kinds
        for f in section["files"]:
            assert (out / f).stat().st_size > 0
    parser = _Images()
    parser.feed(path.read_text())
    # the claims table (header + one row per section) and table1's headline (header + 7)
    assert parser.rows == 1 + len(ONLY) + 1 + 7
    assert [r["slimsoap_length"] for r in report["headlines"]["table1"]] == [
        11760,
        5760,
        4800,
        480,
        780,
        3000,
        4800,
    ]
    assert "<td>11760</td><td>11760</td>" in path.read_text()
    assert "fig2" not in report["headlines"]  # fig2 has no headline table
    assert len(parser.images) == len(ONLY)
    assert all((out / src).exists() for src in parser.images)
    assert ctx.recomputed.count("section/fig2") == 1
    fig2 = next(s for s in report["sections"] if s["key"] == "fig2")
    assert fig2["seconds"] > 0.1 and fig2["cpu_seconds"] > 0.1  # fig2 fits bases: real work
    assert f"{fig2['seconds']:.0f} / {fig2['cpu_seconds']:.0f}" in path.read_text()


def test_table_html_formats_floats_and_leaves_missing_cells_empty():
    from slimsoap.study.reproduce.report import table_html

    text = table_html([{"a": 1.23456789, "b": "x<y"}, {"a": 2}])
    assert "<th>a</th><th>b</th>" in text
    assert "<td>1.235</td><td>x&lt;y</td>" in text
    assert "<tr><td>2</td><td></td></tr>" in text
    assert table_html([]) == ""


def test_table1_lengths_are_the_papers(first_run):
    out, _, _ = first_run
    table = json.loads((out / "table1" / "section.json").read_text())["section"]
    rows = {r["compression"]: r["slimsoap_length"] for r in table["numbers"]["rows"]}
    assert rows == {"nu2": 11760, "nu1mu1": 5760, "nu1mustar1": 4800, "nu1muhat1": 480,
                    "mu2": 780, "embed": 3000, "random": 4800}  # fmt: skip


def test_mirror_pair_is_told_apart_only_by_nu2(first_run):
    out, _, _ = first_run
    fig2 = json.loads((out / "fig2" / "section.json").read_text())["section"]
    by = {r["compression"]: r["relative_distance"] for r in fig2["numbers"]["mirror_pair"]}
    assert by["nu2"] > 1e-2
    assert by["nu1mu1"] < 1e-12


def test_second_run_reuses_everything(first_run):
    out, _, _ = first_run
    _, ctx = run_reproduce(out, tiny(), ONLY, progress=False)
    assert ctx.recomputed == []
    report = json.loads((out / "report.json").read_text())
    assert all(s["cached"] for s in report["sections"])


def test_interrupted_section_recomputes_only_itself(first_run):
    out, _, _ = first_run
    (out / "fig2" / "section.json").unlink()
    _, ctx = run_reproduce(out, tiny(), ONLY, progress=False)
    assert ctx.recomputed == ["section/fig2"]  # its feature stores were reused


def test_changed_parameters_recompute(first_run):
    out, _, _ = first_run
    _, ctx = run_reproduce(out, tiny(n_max=4), ["fig2"], progress=False)
    assert ctx.recomputed == ["section/fig2"]  # recovery uses n_max = 2 l_max + 1: same stores
    _, ctx = run_reproduce(out, tiny(sigma=0.4), ["fig2"], progress=False)
    assert ctx.recomputed[-1] == "section/fig2"
    assert sum(k.startswith("features/liquid/") for k in ctx.recomputed) == 2


def test_cli_runs_and_refuses_unknown_sections(tmp_path, monkeypatch, capsys):
    assert main(["reproduce", "--only", "fig99", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown section(s) fig99" in err[0]
    monkeypatch.setattr(ReproduceConfig, "quick", classmethod(lambda cls: tiny()))
    code = main(["reproduce", "--quick", "--only", "table1", "--out", str(tmp_path),
                 "--no-progress"])  # fmt: skip
    assert code == 0
    assert (tmp_path / "report.html").exists()
    assert f"report: {tmp_path / 'report.html'}" in capsys.readouterr().out
