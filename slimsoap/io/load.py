"""One reader for every feature format: :func:`load_features` (DESIGN §2, "one IO layer")."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from slimsoap.features import Features
from slimsoap.io.npz import read_features


def load_features(path: str | os.PathLike) -> tuple[Features, Any]:
    """(features, calculator or None) of a feature file, whatever slimsoap wrote it with.

    - a directory: a zarr feature store (:class:`~slimsoap.io.store.FeatureStore`, e.g.
      from ``slimsoap featurize``): values, frame index, gradients and its calculator;
    - ``.npz`` with a slimsoap header: :func:`~slimsoap.io.npz.read_features`;
    - ``.npz`` without one, holding exactly one array, or ``.npy``: a (n_rows, n_features)
      numeric array from any code (no calculator; every row in frame 0);
    - ``.mts``: a metatensor TensorMap written by :func:`slimsoap.io.metatensor.write_mts`
      (needs the ``metatensor`` extra).

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: the file is not what its name claims (not a slimsoap store, an
            archive with several arrays and no header, an array that is not 2-D numbers,
            values that do not match the stored calculator) — it is refused, not guessed.
    """
    path = Path(path)
    if path.is_dir():
        from slimsoap.io.store import FeatureStore

        store = FeatureStore.open(path)
        features, calc = store.read(), store.calculator()
    elif not path.exists():
        raise FileNotFoundError(f"no feature file or store at {os.fspath(path)!r}")
    elif path.suffix == ".npz":
        features, calc = _load_npz(path)
    elif path.suffix == ".mts":
        from slimsoap.io.metatensor import read_mts
        from slimsoap.io.registry import calculator_from_dict

        features, d = read_mts(path)
        calc = None if d is None else calculator_from_dict(d, source=os.fspath(path))
    elif path.suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except ValueError as err:  # not an .npy, or an object array (would need pickle)
            raise ValueError(f"{path}: not a plain .npy array ({err})") from None
        features, calc = _plain(values, path), None
    else:
        raise ValueError(
            f"{path}: expected a feature store directory (.zarr), an .npz, .npy or .mts file"
        )
    if calc is not None and features.values.shape[1] != calc.n_features:
        raise ValueError(
            f"{path}: {features.values.shape[1]} columns, but its calculator gives "
            f"{calc.n_features}: the features come from another calculator"
        )
    return features, calc


def _load_npz(path: Path) -> tuple[Features, Any]:
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not an .npz archive")
    with np.load(path, allow_pickle=False) as z:
        names = list(z.files)
        if "meta" in names:
            return read_features(path)
        if len(names) != 1:
            raise ValueError(
                f"{path}: an .npz without a slimsoap header must hold exactly one array "
                f"(n_rows, n_features); it holds {sorted(names)}. Write feature files with "
                "slimsoap.io.write_features"
            )
        try:
            return _plain(z[names[0]], path), None
        except ValueError as err:  # e.g. an object array (pickle)
            raise ValueError(f"{path}: {err}") from None


def _plain(values: np.ndarray, path: Path) -> Features:
    """A bare descriptor array as Features (checked: 2-D, real numbers)."""
    if values.ndim != 2 or values.dtype.kind not in "fiu":
        raise ValueError(
            f"{path}: expected a 2-D numeric array (n_rows, n_features), got "
            f"shape {values.shape} of {values.dtype}"
        )
    return Features(values, np.zeros(len(values), dtype=np.int64))
