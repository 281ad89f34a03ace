"""The calculator protocol every descriptor implements (SOAP, ACSF, ...), DESIGN §5.

A calculator turns frames into :class:`~slimsoap.features.Features` and describes itself
as JSON: ``get_params()`` are its constructor arguments (read from the ``__init__``
signature), ``to_dict()`` adds the registered class name and a format version, and
``fitted_arrays()`` holds what ``fit`` learnt. :func:`slimsoap.io.calculator_from_dict`
rebuilds any registered calculator from these two parts, bit-identically.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from ase import Atoms

from slimsoap.features import Features


@runtime_checkable
class Calculator(Protocol):
    """What slimsoap needs of a descriptor: compute it, name its columns, save it."""

    @property
    def n_features(self) -> int:
        """Length of one descriptor vector."""

    def compute(self, frames: Atoms | Sequence[Atoms], gradients: bool = False) -> Features:
        """Descriptors (n_atoms, n_features) of every atom of ``frames``, and with
        ``gradients`` their position (1/Å) and strain derivatives."""

    def labels(self) -> list:
        """One name per column (n_features entries)."""

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments as JSON-able values."""

    def to_dict(self) -> dict[str, Any]:
        """``{"class": registered name, "format": version, "params": get_params()}``."""

    def fitted_arrays(self) -> dict[str, np.ndarray]:
        """Arrays learnt from data, by name (empty when nothing was fitted)."""

    def restore_fitted(self, arrays: dict[str, np.ndarray]) -> None:
        """Set the fitted state from :meth:`fitted_arrays` of an identical calculator."""


class CalculatorBase:
    """``get_params``/``to_dict`` read from the ``__init__`` signature, no fitted state.

    Every named constructor argument must be readable as a same-named attribute; a
    ``**kwargs`` argument is read from the same-named attribute (a dict) and merged.
    Values become JSON: NumPy scalars → Python numbers, arrays → nested lists, dtypes
    → their names (``"float64"``).
    """

    #: Version of this class's saved parameters (``to_dict()["format"]``).
    format_version: ClassVar[int] = 1

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments as JSON-able values (feeding them back to the
        constructor gives an identical calculator)."""
        out: dict[str, Any] = {}
        for p in constructor_parameters(type(self)):
            value = getattr(self, p.name)
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                out.update({k: to_json(v, f"{p.name}[{k!r}]") for k, v in value.items()})
            else:
                out[p.name] = to_json(value, p.name)
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"class": registered name, "format": format_version, "params": get_params()}``."""
        from slimsoap.io.registry import calculators

        return {
            "class": calculators.name_of(type(self)),
            "format": self.format_version,
            "params": self.get_params(),
        }

    def fitted_arrays(self) -> dict[str, np.ndarray]:
        """No fitted state: an empty dict."""
        return {}

    def restore_fitted(self, arrays: dict[str, np.ndarray]) -> None:
        """Nothing to restore; arrays given anyway are an error (they belong elsewhere)."""
        if arrays:
            raise ValueError(
                f"{type(self).__name__} has no fitted state, got arrays {sorted(arrays)}"
            )


def constructor_parameters(cls: type) -> list[inspect.Parameter]:
    """Parameters of ``cls.__init__`` after ``self`` (``*args`` is not allowed)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    for p in params:
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
            raise TypeError(f"{cls.__name__}.__init__ must take keyword arguments, not {p}")
    return params


def to_json(value: Any, name: str) -> Any:
    """``value`` as JSON data (see :class:`CalculatorBase`); TypeError naming ``name``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [to_json(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: to_json(v, f"{name}[{k!r}]") for k, v in value.items()}
    raise TypeError(f"parameter {name} = {value!r} ({type(value).__name__}) is not JSON-able")
