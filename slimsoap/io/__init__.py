"""Descriptors and calculators on disk: one IO layer (DESIGN §2, §9).

- :func:`load_features`: (Features, calculator) of a zarr store, ``.npz`` or ``.npy``;
- :func:`write_features` / :func:`read_features`: ``.npz`` feature files;
- :func:`save_calculator` / :func:`load_calculator`: a calculator with its fitted arrays;
- :func:`calculator_from_dict` and :func:`register_calculator`: the registry every save
  path goes through — loading builds only registered slimsoap classes;
- :class:`~slimsoap.io.store.FeatureStore` (``slimsoap.io.store``): appendable zarr stores.
"""

from slimsoap.io.load import load_features
from slimsoap.io.npz import load_calculator, read_features, save_calculator, write_features
from slimsoap.io.registry import calculator_from_dict, register_calculator, register_model

__all__ = [
    "calculator_from_dict",
    "load_calculator",
    "load_features",
    "read_features",
    "register_calculator",
    "register_model",
    "save_calculator",
    "write_features",
]
