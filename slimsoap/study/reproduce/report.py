"""``report.html`` (self-contained: inline CSS, images referenced relatively) and
``report.json`` of a reproduction run."""

from __future__ import annotations

import html
import json
from pathlib import Path

from slimsoap.study.reproduce.context import Section

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f3f3f3}
.holds{color:#0a6e0a;font-weight:bold}.fails{color:#b00020;font-weight:bold}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}
pre{background:#f7f7f7;padding:0.5em;overflow-x:auto;font-size:85%}
section{border-top:2px solid #888;margin-top:2em}
"""


def _verdict(section: Section) -> str:
    if section.holds:
        return '<span class="holds">holds</span>'
    return '<span class="fails">does not hold</span>'


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def table_html(rows: list[dict]) -> str:
    """An HTML table of ``rows`` (columns: the union of keys, in first-seen order; floats
    to 4 significant digits; empty cells where a row lacks a column)."""
    if not rows:
        return ""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{_cell(r[k]) if k in r else ''}</td>" for k in keys) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>\n{body}</table>"


def _section_html(s: Section, headline: list[dict]) -> str:
    e = html.escape
    parts = [
        f'<section id="{e(s.key)}"><h2>{e(s.title)}</h2>',
        f"<p><b>Paper:</b> {e(s.claim)}</p>",
        f"<p><b>Criterion:</b> {e(s.criterion)} &rarr; {_verdict(s)}</p>",
        table_html(headline),
    ]
    if s.notes:
        parts.append(f"<p><b>Notes:</b> {e(s.notes)}</p>")
    for f in s.files:
        if f.endswith(".png"):
            parts.append(f'<img src="{e(f)}" alt="{e(f)}">')
    links = ", ".join(f'<a href="{e(f)}">{e(f)}</a>' for f in s.files)
    parts.append(f"<p><b>Files:</b> {links}</p>")
    numbers = json.dumps(s.numbers, indent=1, default=float)
    parts.append(f"<details><summary>numbers</summary><pre>{e(numbers)}</pre></details>")
    cached = " (reused from the cache)" if s.cached else ""
    parts.append(
        f"<p><small>{s.seconds:.1f} s wall, {s.cpu_seconds:.1f} s CPU{cached}</small></p></section>"
    )
    return "\n".join(parts)


def write_report(
    out: Path,
    sections: list[Section],
    config: dict,
    seconds: float,
    headlines: dict[str, list[dict]] | None = None,
) -> Path:
    """Write ``out/report.json`` and ``out/report.html``; return the HTML path.

    ``headlines``: {section key: rows of slimsoap's main numbers}, shown as a table under
    the section's criterion (and in ``report.json``).
    """
    headlines = headlines or {}
    e = html.escape
    claims = [
        {"key": s.key, "title": s.title, "holds": s.holds, "criterion": s.criterion}
        for s in sections
    ]
    payload = {
        "config": config,
        "seconds": seconds,
        "claims": claims,
        "headlines": headlines,
        "sections": [s.to_dict() for s in sections],
    }
    (out / "report.json").write_text(json.dumps(payload, indent=1, default=float))
    rows = "\n".join(
        f'<tr><td><a href="#{e(s.key)}">{e(s.title)}</a></td><td>{_verdict(s)}</td>'
        f"<td>{e(s.criterion)}</td><td>{s.seconds:.0f} / {s.cpu_seconds:.0f}</td></tr>"
        for s in sections
    )
    wall = sum(s.seconds for s in sections)
    cpu = sum(s.cpu_seconds for s in sections)
    text = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>slimsoap reproduce: Darby, Kermode, Csányi</title><style>{_CSS}</style></head>
<body><h1>Compressing local atomic neighbourhood descriptors: reproduced with slimsoap</h1>
<p>Each section states the paper's claim, slimsoap's numbers and whether the claim holds
by the stated criterion. This run took {seconds:.0f} s; the sections' own runs (reused ones
included) took {wall:.0f} s wall and {cpu:.0f} s CPU in all. Settings:
<code>{e(json.dumps(config))}</code></p>
<h2>Claims</h2>
<table><tr><th>Figure / table</th><th>Verdict</th><th>Criterion</th><th>Wall / CPU (s)</th></tr>
{rows}
</table>
{"".join(_section_html(s, headlines.get(s.key, [])) for s in sections)}
</body></html>
"""
    path = out / "report.html"
    path.write_text(text)
    return path
