"""Registries of the classes a saved file may name: calculators and models (DESIGN §9).

Loading never imports or calls a name read from a file: a file's ``"class"`` is looked up
in a registry that slimsoap's own modules fill with :func:`register_calculator` /
:func:`register_model`, and the class is built from parameters validated against its
``__init__`` signature (every named parameter present, no unknown ones unless it takes
``**kwargs``, each value of the JSON type its annotation implies). Every error is a
``ValueError`` naming the file (``source``) and the field.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from typing import Any

import numpy as np

from slimsoap.calculator import constructor_parameters

#: Modules whose import registers the built-in calculators (constants, never from a file).
_BUILTIN_CALCULATORS = (
    "slimsoap.soap.calculator",
    "slimsoap.acsf.calculator",
    "slimsoap.bispectrum.calculator",
)
#: Modules whose import registers the built-in models.
_BUILTIN_MODELS = ("slimsoap.models.sparse_gp",)


class Registry:
    """Named classes of one kind (``"calculator"``, ``"model"``) with their parameter schemas.

    Args:
        kind: what the classes are, for messages.
        builtins: modules that register the built-in classes when imported (loaded on the
            first lookup, so a file can be read before those modules were imported).
    """

    def __init__(self, kind: str, builtins: tuple[str, ...]):
        self.kind = kind
        self._builtins = builtins
        self._classes: dict[str, type] = {}
        self._schemas: dict[str, dict[str, tuple[type, ...] | None]] = {}
        self._var_keyword: dict[str, bool] = {}

    def register(self, cls: type, name: str | None = None) -> type:
        """Register ``cls`` under ``name`` (default its class name); returns ``cls``."""
        name = cls.__name__ if name is None else name
        if self._classes.get(name, cls) is not cls:
            raise ValueError(f"{self.kind} name {name!r} is already registered")
        params = constructor_parameters(cls)
        hints = typing.get_type_hints(cls.__init__)
        self._schemas[name] = {
            p.name: _json_types(hints.get(p.name))
            for p in params
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        }
        self._var_keyword[name] = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        self._classes[name] = cls
        return cls

    def _load_builtins(self) -> None:
        import importlib

        for module in self._builtins:  # fixed names, never read from a file
            importlib.import_module(module)

    def name_of(self, cls: type) -> str:
        """The registered name of ``cls`` (TypeError when it is not registered)."""
        self._load_builtins()
        for name, known in self._classes.items():
            if known is cls:
                return name
        raise TypeError(
            f"{cls.__name__} is not a registered slimsoap {self.kind}; register it with "
            f"slimsoap.io.register_{self.kind}"
        )

    def lookup(self, name: Any, source: str) -> type:
        """The class registered as ``name``; ValueError naming ``source`` otherwise."""
        self._load_builtins()
        if not isinstance(name, str) or name not in self._classes:
            raise ValueError(
                f"{source}: field 'class' is {name!r}, not a registered slimsoap {self.kind} "
                f"(registered: {sorted(self._classes)}); nothing named in a file is imported"
            )
        return self._classes[name]

    def check_params(self, name: str, params: Any, source: str, skip: tuple[str, ...] = ()):
        """Validate ``params`` against the signature of class ``name``; returns them.

        ``skip`` names constructor parameters that are saved elsewhere in the file
        (nested objects the caller builds itself): they must not be in ``params``.
        """
        if not isinstance(params, dict):
            raise ValueError(f"{source}: field 'params' must be an object, got {params!r}")
        schema = {k: v for k, v in self._schemas[name].items() if k not in skip}
        missing = sorted(set(schema) - set(params))
        if missing:
            raise ValueError(f"{source}: {name} parameter(s) {missing} missing from 'params'")
        unknown = sorted(set(params) - set(schema))
        if unknown and not self._var_keyword[name]:
            raise ValueError(
                f"{source}: unknown {name} parameter(s) {unknown} in 'params'; "
                f"valid: {sorted(schema)}"
            )
        for key, allowed in schema.items():
            value = params[key]
            if allowed is None:
                continue
            if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
                names = sorted({t.__name__ for t in allowed})
                raise ValueError(
                    f"{source}: {name} parameter {key!r} must be of JSON type {names}, "
                    f"got {value!r}"
                )
        return params


def _json_types(hint: Any) -> tuple[type, ...] | None:
    """The JSON value types a constructor annotation admits (None: any, checked by the class).

    float → int or float; int, bool, str as themselves; ``type`` (a dtype) → its name, a
    str; sequences and arrays → list; mappings → dict; ``X | None`` adds None.
    """
    if hint is None or hint is Any:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [_json_types(a) for a in typing.get_args(hint)]
        if any(p is None for p in parts):
            return None
        return tuple(dict.fromkeys(t for p in parts for t in p))
    if hint is type(None):
        return (type(None),)
    if hint is float:
        return (int, float)
    if hint in (int, bool, str):
        return (hint,)
    if hint is type:
        return (str,)
    base = origin or hint
    if base is np.ndarray or (
        isinstance(base, type)
        and issubclass(base, collections.abc.Sequence)
        and not issubclass(base, str)
    ):
        return (list,)
    if isinstance(base, type) and issubclass(base, collections.abc.Mapping):
        return (dict,)
    return None


calculators = Registry("calculator", _BUILTIN_CALCULATORS)
models = Registry("model", _BUILTIN_MODELS)


def register_calculator(cls: type, name: str | None = None) -> type:
    """Make ``cls`` (a :class:`~slimsoap.calculator.Calculator`) loadable from files; use
    as a class decorator. ``name`` (default the class name) is what files call it."""
    return calculators.register(cls, name)


def register_model(cls: type, name: str | None = None) -> type:
    """Make a model class loadable by :func:`slimsoap.models.load`; a class decorator.
    The class provides ``_to_archive()`` and ``_from_archive(meta, arrays, source)``."""
    return models.register(cls, name)


def calculator_from_dict(
    d: Any, arrays: dict[str, np.ndarray] | None = None, source: str = "calculator"
):
    """Rebuild the calculator described by ``calc.to_dict()`` (and its ``fitted_arrays()``).

    Args:
        d: ``{"class": registered name, "format": version, "params": {...}}``.
        arrays: the calculator's fitted arrays, by name, or None.
        source: where ``d`` came from (a file name), for messages.

    Raises:
        ValueError: unknown class, wrong format version, missing or unknown parameters,
            values of the wrong type, or parameters the class itself rejects — each
            naming ``source`` and the field.
    """
    if not isinstance(d, dict):
        raise ValueError(f"{source}: a calculator must be a JSON object, got {d!r}")
    extra = sorted(set(d) - {"class", "format", "params"})
    if extra:
        raise ValueError(f"{source}: unknown calculator field(s) {extra}")
    cls = calculators.lookup(d.get("class"), source)
    name = d["class"]
    if d.get("format") != cls.format_version or isinstance(d.get("format"), bool):
        raise ValueError(
            f"{source}: field 'format' is {d.get('format')!r}; this slimsoap reads {name} "
            f"format {cls.format_version}"
        )
    params = calculators.check_params(name, d.get("params"), source)
    arrays = dict(arrays or {})
    for key, array in arrays.items():
        array = np.asarray(array)
        if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
            raise ValueError(f"{source}: fitted array {key!r} contains NaN or inf")
    try:
        calc = cls(**params)
        calc.restore_fitted(arrays)
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"{source}: cannot rebuild {name} from its parameters: {err}") from None
    if set(calc.fitted_arrays()) != set(arrays):
        raise ValueError(
            f"{source}: {name} fitted arrays {sorted(arrays)} do not match what it "
            f"holds after restoring them, {sorted(calc.fitted_arrays())}"
        )
    return calc
