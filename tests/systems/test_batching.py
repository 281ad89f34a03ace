"""The batching policies: ranges cover every frame once, in order, within their bounds."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from slimsoap.systems.batching import (
    SMALL_FRAME,
    fixed_size_batches,
    row_budget_runs,
    small_frame_runs,
)


def _covers(ranges, n):
    return [f for a, b in ranges for f in range(a, b)] == list(range(n))


def test_small_frame_runs_group_small_frames_periodic_or_not():
    big = Atoms("H" * (SMALL_FRAME + 1), positions=np.arange(3 * SMALL_FRAME + 3).reshape(-1, 3))
    crystal = bulk("Cu", cubic=True)
    large_crystal = bulk("Cu", cubic=True).repeat((3, 3, 2))  # 72 atoms
    frames = [molecule("H2O"), molecule("CH4"), crystal, molecule("CO2"), big, molecule("H2")]
    assert small_frame_runs(frames) == [(0, 4), (4, 5), (5, 6)]
    assert small_frame_runs([crystal, large_crystal, crystal]) == [(0, 1), (1, 2), (2, 3)]
    sizes = [len(a) for a in frames]
    assert small_frame_runs(frames, sizes=sizes) == small_frame_runs(frames)
    assert small_frame_runs(frames, 8, sizes) == small_frame_runs(frames, 8)
    # 3 + 5 atoms fit in 8; 3 + 5 + 3 do not
    waters = [molecule("H2O"), molecule("CH4"), molecule("H2O"), molecule("H2O")]
    assert small_frame_runs(waters, max_atoms=8) == [(0, 2), (2, 4)]
    assert small_frame_runs(waters, max_atoms=1) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert small_frame_runs([]) == []


def test_row_budget_runs_close_at_the_budget():
    rows = [3, 4, 1, 10, 2, 2]
    runs = row_budget_runs(rows, 6)
    assert runs == [(0, 2), (2, 4), (4, 6)]
    assert _covers(runs, len(rows))
    assert row_budget_runs(rows, 1) == [(f, f + 1) for f in range(len(rows))]
    with pytest.raises(ValueError, match="budget must be >= 1"):
        row_budget_runs(rows, 0)


def test_fixed_size_batches_stream():
    assert [len(b) for b in fixed_size_batches(iter(range(7)), 3)] == [3, 3, 1]
    assert list(fixed_size_batches([], 2)) == []
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        next(fixed_size_batches(range(3), 0))
