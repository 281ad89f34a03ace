"""The arrays of many frames gathered once, so per-frame work can be vectorised."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms


@dataclass
class FrameArrays:
    """Positions, numbers, cells and periodicity of a list of frames, concatenated.

    Attributes:
        positions: (n_atoms, 3) float64 positions (Å) of every frame, in order.
        numbers: (n_atoms,) int64 atomic numbers.
        starts: (n_frames + 1,) int64, atoms of frame f are starts[f]:starts[f+1].
        cells: (n_frames, 3, 3) float64 cell rows (Å) as stored (not completed).
        pbc: (n_frames, 3) bool periodic axes.
    """

    positions: np.ndarray
    numbers: np.ndarray
    starts: np.ndarray
    cells: np.ndarray
    pbc: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        """(n_frames,) atoms per frame."""
        return np.diff(self.starts)

    def select(self, f0: int, f1: int) -> FrameArrays:
        """The arrays of frames f0:f1 (views; ``starts`` from 0)."""
        a0, a1 = self.starts[f0], self.starts[f1]
        return FrameArrays(
            self.positions[a0:a1],
            self.numbers[a0:a1],
            self.starts[f0 : f1 + 1] - a0,
            self.cells[f0:f1],
            self.pbc[f0:f1],
        )

    @property
    def frame_of_atom(self) -> np.ndarray:
        """(n_atoms,) int64 frame of each atom."""
        return np.repeat(np.arange(len(self.cells), dtype=np.int64), self.sizes)


def gather(frames: Sequence[Atoms]) -> FrameArrays:
    """:class:`FrameArrays` of ``frames`` (a non-empty sequence of ``ase.Atoms``): one pass of
    attribute reads per frame, then one NumPy call per array."""
    arrays = [a.arrays for a in frames]
    sizes = np.fromiter((len(x["numbers"]) for x in arrays), np.int64, len(arrays))
    starts = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    positions = np.concatenate([x["positions"] for x in arrays]).astype(np.float64, copy=False)
    numbers = np.concatenate([x["numbers"] for x in arrays]).astype(np.int64, copy=False)
    cells = np.array([a.cell.array for a in frames], dtype=np.float64).reshape(-1, 3, 3)
    pbc = np.array([a.pbc for a in frames], dtype=bool).reshape(-1, 3)
    return FrameArrays(positions, numbers, starts, cells, pbc)


def completed_cells(frames: Sequence[Atoms], data: FrameArrays, chosen: np.ndarray) -> np.ndarray:
    """Cells (k, 3, 3) of the ``chosen`` frames as ``atoms.cell.complete()`` gives them: ASE
    fills in zero rows only, so only the frames with a zero cell row are completed one by one."""
    cells = data.cells[chosen]
    missing = ~cells.any(axis=2).all(axis=1)
    for k in np.flatnonzero(missing):
        cells[k] = np.asarray(frames[chosen[k]].cell.complete(), dtype=np.float64)
    return cells
