"""Lazy attributes for package ``__init__`` modules (PEP 562).

A package lists the public names it offers and the module each lives in; the module is
imported on first access, so ``import slimsoap`` stays light (numba, scipy.stats, the
analyses and the models load only when used). Attributes are cached in the package
namespace after the first access, and ``dir()`` lists them before that.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_attributes(
    package: str, namespace: dict, exports: Mapping[str, str], submodules: tuple[str, ...] = ()
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``.

    Args:
        package: the package's ``__name__``.
        namespace: its ``globals()``; loaded attributes are cached there.
        exports: public name → absolute module that defines it.
        submodules: subpackages reachable as attributes (``slimsoap.models``), imported
            on first access.
    """

    def __getattr__(name: str) -> object:
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
        elif name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports) | set(submodules))

    return __getattr__, __dir__
