"""Generated benchmark sets, built once from a seed and cached as extxyz.

``generate("alloy", n=2000, seed=0)`` returns the path of the cached file, building it only
if it is missing. Files live in ``cache_dir`` if given, else ``$SLIMSOAP_CACHE``, else
``~/.cache/slimsoap``. Next to each ``<name>.extxyz`` a ``<name>.json`` records the
arguments, the generator's counts (e.g. SCF failures) and the versions of the codes that
computed the labels. Files are written to a temporary name and renamed, so an interrupted
build never leaves a partial file behind.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from slimsoap._validation import check_int
from slimsoap.data.readers import write_extxyz


def _imported_when_called(module: str, name: str):
    """``module.name``, imported at its first call: the generators' ASE builders and
    calculators take longer to import than ``slimsoap --help`` may."""

    def generator(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    generator.__name__ = generator.__qualname__ = name
    return generator


generate_alloy = _imported_when_called("slimsoap.data.gen_alloy", "generate_alloy")
generate_amino = _imported_when_called("slimsoap.data.gen_amino", "generate_amino")
generate_elpasolite = _imported_when_called("slimsoap.data.gen_elpasolite", "generate_elpasolite")

#: Generator name → (function, packages whose versions determine the labels).
GENERATORS = {
    "alloy": (generate_alloy, ("ase", "numpy", "scipy")),
    "amino": (generate_amino, ("ase", "numpy", "rdkit", "tblite")),
    "elpasolite": (generate_elpasolite, ("ase", "numpy", "tblite")),
}
#: Default number of configurations of each generator.
DEFAULT_N = {"alloy": 2000, "amino": 1000, "elpasolite": 2000}
#: Per generator: bump when its output changes for the same arguments (elpasolite 3: proxy
#: energies above MAX_BINDING are rejected too). Cached sets of another version are made anew.
FORMAT_VERSION = {"alloy": 2, "amino": 2, "elpasolite": 3}


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The cache directory: ``path``, else ``$SLIMSOAP_CACHE``, else ``~/.cache/slimsoap``."""
    if path is None:
        path = os.environ.get("SLIMSOAP_CACHE") or Path.home() / ".cache" / "slimsoap"
    return Path(path).expanduser()


def _versions(packages: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _file_name(kind: str, n: int, seed: int, options: dict) -> str:
    key = json.dumps({"options": options, "version": FORMAT_VERSION[kind]}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{kind}_n{n}_seed{seed}_{digest}"


def generate(
    kind: str,
    n: int | None = None,
    seed: int = 0,
    cache: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    **options,
) -> Path:
    """Build (or find in the cache) a generated data set and return its extxyz path.

    Args:
        kind: ``"alloy"``, ``"amino"`` or ``"elpasolite"``.
        n: number of configurations; ``None`` uses the generator's default.
        seed: non-negative integer seed; same arguments → byte-identical file.
        cache: cache directory (see ``cache_dir``); ignored when ``out`` is given.
        out: explicit output file instead of the cache. If it exists it is returned only
            when the metadata beside it records these arguments; otherwise it is refused
            unless ``overwrite``.
        overwrite: rebuild even if the file exists. A ``NAME.json`` beside ``out`` that
            slimsoap did not write is never replaced (FileExistsError).
        **options: generator options (``elements=`` for alloy/elpasolite,
            ``energies=True`` for elpasolite).

    Returns:
        Path of the extxyz file; read it with ``read_frames``.
    """
    if kind not in GENERATORS:
        raise ValueError(f"unknown generator {kind!r}; valid: {sorted(GENERATORS)}")
    seed = check_int("seed", seed, 0)
    func, packages = GENERATORS[kind]
    if n is None:
        n = DEFAULT_N[kind]
    n = check_int("n", n, 1)
    options = {k: (list(v) if isinstance(v, (tuple, list)) else v) for k, v in options.items()}
    request = {"kind": kind, "n_requested": n, "seed": seed, "options": options}
    if out is None:
        path = cache_dir(cache) / (_file_name(kind, n, seed, options) + ".extxyz")
        if path.exists() and not overwrite:
            return path
    else:
        path = Path(out)
        if _check_out(path, request, overwrite):
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    kwargs = dict(options)
    if kind != "alloy":
        kwargs["report"] = report
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        count = write_extxyz(tmp, func(n=n, seed=seed, **kwargs))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    meta = {
        **request,
        "n_written": count,
        "report": report,
        "versions": _versions(packages),
        "format_version": FORMAT_VERSION[kind],
    }
    _meta_path(path).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


def _meta_path(path: Path) -> Path:
    """The metadata file beside a generated ``path`` (``NAME.json`` for ``NAME.extxyz``)."""
    return path.with_suffix(".json")


def _read_meta(path: Path) -> dict | None:
    """The generator metadata at ``path``, or None if the file is not one slimsoap wrote."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    keys = {"kind", "n_requested", "seed", "options", "format_version"}
    return meta if isinstance(meta, dict) and keys <= set(meta) else None


def _check_out(path: Path, request: dict, overwrite: bool) -> bool:
    """For an explicit output ``path``: True if it already holds the set ``request``
    describes (with its metadata); False if it may be written. Refuses (FileExistsError)
    to replace a file without ``overwrite`` or to clobber a metadata file slimsoap did not
    write."""
    meta_path = _meta_path(path)
    if meta_path == path:
        raise ValueError(f"out {os.fspath(path)!r}: ends in .json, where the metadata goes")
    if path.is_dir():
        raise FileExistsError(f"out {os.fspath(path)!r} is a directory; name a file")
    meta = _read_meta(meta_path)
    if meta_path.exists() and meta is None:
        raise FileExistsError(
            f"refusing to write {os.fspath(meta_path)!r} (the metadata beside --out): it "
            "exists and was not written by slimsoap; move it or choose another --out"
        )
    if not path.exists() or overwrite:
        return False
    same = meta is not None and meta.get("format_version") == FORMAT_VERSION[request["kind"]]
    same = same and all(meta.get(k) == v for k, v in request.items())
    if same:
        return True
    raise FileExistsError(
        f"out {os.fspath(path)!r} exists and is not the data set these arguments generate; "
        "pass overwrite=True (--overwrite) to replace it, or choose another path"
    )
