"""Recognising Ctrl-C, however it surfaces."""

from __future__ import annotations


def was_interrupted(err: BaseException) -> bool:
    """Whether ``err`` is Ctrl-C: a KeyboardInterrupt, or the SystemError CPython raises
    when the interrupt lands while a compiled (Numba) function returns ("returned a result
    with an exception set"), whose cause is the KeyboardInterrupt."""
    while isinstance(err, SystemError) and err.__cause__ is not None:
        err = err.__cause__
    return isinstance(err, KeyboardInterrupt)
