"""Which frames are computed together: every batching policy of the package, in one place.

- :func:`small_frame_runs`: small frames (molecules and small periodic cells) share one
  pair search, one expansion and one contraction, since their per-frame Python cost would
  dominate; other frames go alone (DESIGN §7).
- :func:`row_budget_runs`: consecutive frames gathered until they hold a row budget (the
  sparse contraction bounds the dense coefficients it holds at once this way).
- :func:`fixed_size_batches`: a stream of frames cut into lists of a fixed length (one
  featurisation task each).

Every policy keeps frame order, so results are concatenated in order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from ase import Atoms

from slimsoap._validation import check_int

#: Frames (periodic or not) of at most this many atoms are "small": batched with their
#: neighbours (their pairs are found by brute force or a tiny cell list, one kernel call).
SMALL_FRAME = 64

T = TypeVar("T")


def small_frame_runs(
    frames: Sequence[Atoms], max_atoms: int | None = None, sizes: Sequence[int] | None = None
) -> list[tuple[int, int]]:
    """Consecutive frame ranges ``(f0, f1)`` covering ``frames`` in order.

    A run of small frames (at most ``SMALL_FRAME`` atoms, periodic or not) forms one
    range, or is cut into ranges of at most ``max_atoms`` atoms when that is given (a frame
    is never split: a range holds at least one frame); every other frame is a range alone.
    ``sizes``: the atoms of each frame, if already known.
    """
    sizes = [len(a) for a in frames] if sizes is None else [int(n) for n in sizes]
    out, f = [], 0
    while f < len(sizes):
        g, atoms = f + 1, sizes[f]
        if atoms <= SMALL_FRAME:
            while (
                g < len(sizes)
                and sizes[g] <= SMALL_FRAME
                and (max_atoms is None or atoms + sizes[g] <= max_atoms)
            ):
                atoms += sizes[g]
                g += 1
        out.append((f, g))
        f = g
    return out


def row_budget_runs(rows: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive ranges ``(f0, f1)`` covering ``len(rows)`` frames in order, each closed
    as soon as its frames hold at least ``budget`` rows (the last range may hold fewer).

    Args:
        rows: (n_frames,) rows (atoms) of each frame.
        budget: rows that close a range, >= 1.
    """
    budget = check_int("budget", budget, 1)
    out, start, held = [], 0, 0
    for f, n in enumerate(rows):
        held += n
        if held >= budget or f == len(rows) - 1:
            out.append((start, f + 1))
            start, held = f + 1, 0
    return out


def fixed_size_batches(items: Iterable[T], batch_size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``batch_size`` items of a stream (the last may be shorter);
    the stream is read lazily, one batch at a time."""
    batch_size = check_int("batch_size", batch_size, 1)
    it = iter(items)
    while batch := list(itertools.islice(it, batch_size)):
        yield batch
