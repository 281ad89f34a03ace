"""Run the selected sections with caching and write the report (``slimsoap reproduce``).

A section module may also define ``headline(numbers) -> list[dict]``: its main numbers
as table rows, built from the stored numbers (so reused sections get them too) and shown
in the report under the criterion.

A section's result is stored in ``DIR/<key>/section.json`` with the hash of its
parameters; a later run with the same parameters whose files all exist reuses it without
any work. Feature stores are cached separately (:meth:`Context.features`), so a section
interrupted half way recomputes only what it had not stored.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

from slimsoap.study.reproduce import SECTION_KEYS
from slimsoap.study.reproduce.context import Context, ReproduceConfig, Section, params_hash
from slimsoap.study.reproduce.report import write_report

#: Every section, in the paper's order: key → module with KEY, TITLE, params, run.
SECTIONS = {k: importlib.import_module(f"slimsoap.study.reproduce.{k}") for k in SECTION_KEYS}


def select(only: Sequence[str] | None) -> list[str]:
    """Keys of the sections to run (all, in order, when ``only`` is empty); ValueError
    naming the valid keys for an unknown one."""
    if not only:
        return list(SECTIONS)
    unknown = [k for k in only if k not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; valid: {list(SECTIONS)}")
    return [k for k in SECTIONS if k in only]


def run_section(ctx: Context, key: str) -> Section:
    """Section ``key`` from its cache when its parameters and files match, else computed."""
    module = SECTIONS[key]
    meta = ctx.section_dir(key) / "section.json"
    digest = params_hash(module.params(ctx.config))
    if meta.exists():
        stored = json.loads(meta.read_text())
        section = Section(**{**stored["section"], "cached": True})
        if stored["params_hash"] == digest and all((ctx.out / f).exists() for f in section.files):
            ctx.say(f"{key}: reused ({meta})")
            return section
    ctx.say(f"{key}: {module.TITLE} ...")
    t0, c0 = time.perf_counter(), time.process_time()
    section = module.run(ctx)
    section.seconds = time.perf_counter() - t0
    section.cpu_seconds = time.process_time() - c0
    ctx.recomputed.append(f"section/{key}")
    meta.write_text(json.dumps({"params_hash": digest, "section": section.to_dict()}, indent=1))
    verdict = "holds" if section.holds else "does not hold"
    ctx.say(f"{key}: {verdict} ({section.seconds:.1f} s, CPU {section.cpu_seconds:.1f} s)")
    return section


def run_reproduce(
    out: str | Path = "slimsoap-reproduce",
    config: ReproduceConfig | None = None,
    only: Sequence[str] | None = None,
    progress: bool = True,
) -> tuple[Path, Context]:
    """Run the sections ``only`` (default all) into ``out`` and write the report.

    Returns:
        The path of ``report.html`` and the run's :class:`Context` (``recomputed`` lists
        what was computed rather than reused).
    """
    keys = select(only)
    ctx = Context(Path(out), config or ReproduceConfig.full(), progress=progress)
    ctx.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sections = [run_section(ctx, key) for key in keys]
    headlines = {
        s.key: SECTIONS[s.key].headline(s.numbers)
        for s in sections
        if hasattr(SECTIONS[s.key], "headline")
    }
    elapsed = time.perf_counter() - t0
    path = write_report(ctx.out, sections, ctx.config.to_dict(), elapsed, headlines)
    return path, ctx
