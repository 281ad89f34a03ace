"""scikit-learn-style constructor parameters shared by the models."""

from __future__ import annotations

from typing import Self


class EstimatorParams:
    """``get_params``/``set_params`` over the constructor arguments named in ``_PARAMS``."""

    _PARAMS: tuple[str, ...] = ()

    def get_params(self, deep: bool = True) -> dict:
        """Constructor arguments, as scikit-learn's ``get_params``."""
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params) -> Self:
        """Set constructor arguments; unknown names raise ValueError."""
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"unknown parameter {k!r}; valid: {self._PARAMS}")
            setattr(self, k, v)
        return self
