"""The memory guard: large allocations are estimated first and refused above a limit.

The limit is, in order of precedence, the value given to :func:`set_memory_limit`, the
environment variable ``SLIMSOAP_MAX_MEMORY`` (bytes, or a number with a ``K``/``M``/``G``/``T``
suffix in powers of 1024, e.g. ``"32G"``), or :data:`DEFAULT_MAX_MEMORY`. It bounds single
allocations that grow with the input (periodic images of a thin cell, the radial spline table
of a tiny σ), not the total memory of the process.
"""

from __future__ import annotations

import os

#: Largest single allocation (bytes) allowed when neither the user nor the environment says.
DEFAULT_MAX_MEMORY = 8 * 2**30
#: Environment variable holding the limit.
ENV_VAR = "SLIMSOAP_MAX_MEMORY"

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_limit: int | None = None


class MemoryLimitError(ValueError):
    """An input would need more memory than the limit allows (raised before allocating)."""


def _parse_bytes(text: str) -> int:
    """Bytes of ``"123"``, ``"1.5G"``, ``"512M"`` ... (suffixes are powers of 1024)."""
    body = text.strip().upper().removesuffix("B")
    unit = body[-1] if body and body[-1] in "KMGT" else ""
    try:
        value = float(body[: len(body) - len(unit)]) * _UNITS[unit]
    except ValueError:
        raise ValueError(
            f"{ENV_VAR}={text!r} is not a size: give bytes or a number with K, M, G or T"
        ) from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{ENV_VAR}={text!r} must be a positive size")
    return int(value)


def set_memory_limit(n_bytes: int | None) -> None:
    """Set the largest allocation (bytes, > 0) slimsoap may attempt; None restores the default
    (``$SLIMSOAP_MAX_MEMORY``, else :data:`DEFAULT_MAX_MEMORY`)."""
    global _limit
    if n_bytes is None:
        _limit = None
        return
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, (int, float)) or not n_bytes > 0:
        raise ValueError(f"memory limit must be a positive number of bytes, got {n_bytes!r}")
    if n_bytes == float("inf"):
        raise ValueError("memory limit must be finite (give a large number of bytes instead)")
    _limit = int(n_bytes)


def memory_limit() -> int:
    """The current limit in bytes (see the module docstring for where it comes from)."""
    if _limit is not None:
        return _limit
    env = os.environ.get(ENV_VAR)
    return _parse_bytes(env) if env else DEFAULT_MAX_MEMORY


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


def check_allocation(n_bytes: float, what: str, cause: str) -> None:
    """Refuse an allocation of ``n_bytes`` (an estimate) above :func:`memory_limit`.

    Args:
        n_bytes: estimated size of the allocation in bytes (may be inf).
        what: what would be allocated, e.g. "the radial spline table".
        cause: the input that makes it large, e.g. "sigma = 1e-05 Å is tiny against r_cut".

    Raises:
        MemoryLimitError: with the estimate, the cause and how to raise the limit.
    """
    limit = memory_limit()
    if n_bytes > limit:
        raise MemoryLimitError(
            f"{what} would need about {_gib(n_bytes)} (limit {_gib(limit)}): {cause}; "
            f"if this is intended, raise the limit with slimsoap.set_memory_limit(n_bytes) "
            f"or the environment variable {ENV_VAR}"
        )
