"""Saved objects as one ``.npz`` archive: a JSON header plus named arrays (DESIGN §9).

Every file slimsoap writes outside a zarr store is a NumPy ``.npz`` archive with an entry
``meta`` (a JSON string: ``{"slimsoap": kind, "format": FORMAT, ...}``) and plain numeric
arrays. It is read with ``allow_pickle=False`` and its header validated, so reading a file
never runs code from it. Kinds:

- ``"calculator"``: ``{"calculator": calc.to_dict()}``; arrays ``calculator/<name>`` are
  its :meth:`fitted_arrays` (:func:`save_calculator`, :func:`load_calculator`);
- ``"features"``: descriptor rows and the calculator that made them — seed and fitted
  arrays included — (:func:`write_features`, :func:`read_features`): ``values`` (dense) or
  ``data``/``indices``/``indptr`` (CSR), ``frame_index``, optionally dense
  ``gradient_pairs``/``gradients``/``strain_gradients``, and per-row ``extra`` arrays;
- ``"model"``: a fitted model (:func:`save_model`, :func:`load_model`), its class looked
  up in :data:`slimsoap.io.registry.models`.

A calculator may also be read from a plain ``.json`` file holding ``calc.to_dict()`` (one
without fitted arrays, e.g. written by hand).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from slimsoap.features import Features
from slimsoap.io.registry import calculator_from_dict, models

#: Version of the archive header (``meta["format"]``).
FORMAT = 1
_CALC_PREFIX = "calculator/"
_GRADIENT_KEYS = ("gradient_pairs", "gradients", "strain_gradients")


# --- the archive -------------------------------------------------------------------------------


def write_archive(path: str | os.PathLike, kind: str, meta: dict, arrays: dict) -> Path:
    """Write ``path`` (exactly that name): header ``{"slimsoap": kind, "format": FORMAT,
    **meta}`` and ``arrays`` (name → array). Returns the path."""
    path = Path(path)
    header = json.dumps({"slimsoap": kind, "format": FORMAT, **meta})
    if "meta" in arrays:
        raise ValueError("'meta' is the archive header, not an array name")
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(header), **{k: np.asarray(v) for k, v in arrays.items()})
    path.write_bytes(buffer.getvalue())
    return path


def read_archive(path: str | os.PathLike, kind: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a file written by :func:`write_archive` with this ``kind``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an ``.npz`` archive, no or invalid ``meta`` header, another kind or
            format, or an array that would need pickle — naming the file and field.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file {os.fspath(path)!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f"{path}: unreadable .npz archive ({err})") from None
    if "meta" not in arrays:
        raise ValueError(f"{path}: no 'meta' entry: not a slimsoap file (entries {sorted(arrays)})")
    meta = arrays.pop("meta")
    if meta.shape != () or meta.dtype.kind != "U":
        raise ValueError(f"{path}: field 'meta' must be a JSON string")
    try:
        header = json.loads(str(meta))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: field 'meta' is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: field 'meta' must be a JSON object")
    if header.get("slimsoap") != kind:
        raise ValueError(f"{path}: field 'slimsoap' is {header.get('slimsoap')!r}, not {kind!r}")
    if header.get("format") != FORMAT:
        raise ValueError(
            f"{path}: field 'format' is {header.get('format')!r}; this slimsoap reads {FORMAT}"
        )
    return header, arrays


def require(header: dict, key: str, types: type | tuple[type, ...], source: str) -> Any:
    """``header[key]``, checked to be of ``types``; ValueError naming ``source`` and ``key``."""
    if key not in header:
        raise ValueError(f"{source}: field {key!r} missing")
    value = header[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types)):
        raise ValueError(f"{source}: field {key!r} has the wrong type: {value!r}")
    return value


def _tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


# --- calculators -------------------------------------------------------------------------------


def calculator_arrays(calculator, prefix: str = _CALC_PREFIX) -> dict[str, np.ndarray]:
    """The calculator's fitted arrays under ``prefix`` (archive entry names)."""
    return {prefix + k: v for k, v in calculator.fitted_arrays().items()}


def calculator_from_archive(header: dict, arrays: dict, source: str, key: str = "calculator"):
    """The calculator stored under ``header[key]`` (None if null) with its prefixed arrays."""
    d = require(header, key, (dict, type(None)), source)
    prefix = key + "/"
    fitted = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
    if d is None:
        if fitted:
            raise ValueError(f"{source}: fitted arrays {sorted(fitted)} without a calculator")
        return None
    return calculator_from_dict(d, fitted, source=f"{source}: field {key!r}")


def save_calculator(path: str | os.PathLike, calculator) -> Path:
    """Write ``calculator`` (parameters, seed and fitted arrays) to ``path`` (``.npz``)."""
    meta = {"calculator": calculator.to_dict()}
    return write_archive(path, "calculator", meta, calculator_arrays(calculator))


def load_calculator(path: str | os.PathLike):
    """The calculator of a :func:`save_calculator` file, or of a ``.json`` file holding
    ``calc.to_dict()``; bit-identical descriptors. Builds only registered classes."""
    path = Path(path)
    if path.suffix == ".json":
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from None
        return calculator_from_dict(d, source=str(path))
    header, arrays = read_archive(path, "calculator")
    return calculator_from_archive(header, arrays, str(path))


# --- feature files -----------------------------------------------------------------------------


def write_features(
    path: str | os.PathLike,
    features: Features | np.ndarray | sp.spmatrix,
    calculator=None,
    extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write descriptor rows and the calculator that made them (seed, fitted arrays) to
    ``path``, an ``.npz`` archive (the name is used as given).

    Args:
        features: a :class:`Features` (values, frame index and dense gradients are kept),
            or a (n_rows, n_features) dense array or sparse matrix.
        calculator: the calculator that computed them, or None for rows from elsewhere.
        extra: further per-row arrays (first axis n_rows) stored beside, e.g. a report.
    """
    if isinstance(features, Features):
        x, frame_index = features.values, np.asarray(features.frame_index, dtype=np.int64)
        grads = {k: getattr(features, k) for k in _GRADIENT_KEYS}
    else:
        x, frame_index, grads = features, None, {}
    grads = {k: v for k, v in grads.items() if v is not None}
    for k, v in grads.items():
        if not isinstance(v, np.ndarray):
            raise ValueError(
                f"{k} are {type(v).__name__}: feature files hold dense gradients; write "
                "species-block gradients to a zarr store (slimsoap.io.store.FeatureStore)"
            )
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D (n_rows, n_features), got shape {x.shape}")
    n_rows, n_features = x.shape
    if calculator is not None and calculator.n_features != n_features:
        raise ValueError(
            f"features have {n_features} columns; the calculator gives {calculator.n_features}"
        )
    arrays: dict[str, np.ndarray] = {}
    if sp.issparse(x):
        x = sp.csr_matrix(x)
        arrays.update(data=x.data, indices=x.indices, indptr=x.indptr)
    else:
        arrays["values"] = np.asarray(x)
    if frame_index is not None:
        arrays["frame_index"] = frame_index
    arrays.update(grads)
    extra = dict(extra or {})
    for k, v in extra.items():
        if k in arrays or k.startswith(_CALC_PREFIX) or k == "meta":
            raise ValueError(f"extra array name {k!r} is taken")
        if np.shape(v)[:1] != (n_rows,):
            raise ValueError(f"extra array {k!r} must have {n_rows} rows, got {np.shape(v)}")
    arrays.update(extra)
    if calculator is not None:
        arrays.update(calculator_arrays(calculator))
    meta = {
        "calculator": None if calculator is None else calculator.to_dict(),
        "sparse": bool(sp.issparse(x)),
        "shape": [int(n_rows), int(n_features)],
        "extra": sorted(extra),
    }
    return write_archive(path, "features", meta, arrays)


def read_features(
    path: str | os.PathLike, with_extra: bool = False
) -> tuple[Features, Any] | tuple[Features, Any, dict[str, np.ndarray]]:
    """(features, calculator or None) of a :func:`write_features` file, and with
    ``with_extra`` its extra arrays. Rows without a stored frame index are frame 0."""
    source = str(path)
    header, arrays = read_archive(path, "features")
    calc = calculator_from_archive(header, arrays, source)
    shape = require(header, "shape", list, source)
    if len(shape) != 2 or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ValueError(f"{source}: field 'shape' must be [n_rows, n_features], got {shape}")
    n_rows, n_features = shape
    names = ["data", "indices", "indptr"] if require(header, "sparse", bool, source) else ["values"]
    missing = [k for k in names if k not in arrays]
    if missing:
        raise ValueError(f"{source}: array(s) {missing} missing")
    if names == ["values"]:
        values = arrays["values"]
        if values.shape != (n_rows, n_features):
            raise ValueError(f"{source}: 'values' has shape {values.shape}, header {shape}")
    else:
        try:
            values = sp.csr_matrix(tuple(arrays[k] for k in names), shape=(n_rows, n_features))
            values.check_format(full_check=True)
        except ValueError as err:
            raise ValueError(f"{source}: invalid CSR arrays ({err})") from None
    frame_index = arrays.get("frame_index", np.zeros(n_rows, dtype=np.int64))
    if frame_index.shape != (n_rows,):
        raise ValueError(f"{source}: 'frame_index' has shape {frame_index.shape}, not ({n_rows},)")
    if calc is not None and calc.n_features != n_features:
        raise ValueError(
            f"{source}: {n_features} columns, but its calculator gives {calc.n_features}"
        )
    features = Features(values, frame_index, **{k: arrays.get(k) for k in _GRADIENT_KEYS})
    if not with_extra:
        return features, calc
    extra_names = require(header, "extra", list, source)
    missing = [k for k in extra_names if k not in arrays]
    if missing:
        raise ValueError(f"{source}: extra array(s) {missing} missing")
    return features, calc, {k: arrays[k] for k in extra_names}


# --- models ------------------------------------------------------------------------------------


def save_model(path: str | os.PathLike, model) -> Path:
    """Write a fitted model of a registered class to ``path`` (``.npz``)."""
    name = models.name_of(type(model))
    meta, arrays = model._to_archive()
    return write_archive(path, "model", {"class": name, **meta}, arrays)


def load_model(path: str | os.PathLike):
    """The model saved at ``path``, of whichever registered class it names."""
    source = str(path)
    header, arrays = read_archive(path, "model")
    cls = models.lookup(header.get("class"), source)
    return cls._from_archive(header, arrays, source)
