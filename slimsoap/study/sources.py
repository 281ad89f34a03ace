"""Frames that a worker reads itself, by index range, from the input file (DESIGN §2).

:func:`slimsoap.study.featurize.featurize` sends a Dask worker the *place* of its batch, not
the frames: :class:`ExtxyzFrames` scans an extended-XYZ file once for the byte offset of
every frame (the atom-count lines; atom lines are skipped unparsed) and
:meth:`ExtxyzFrames.slice` names a range of frames in a few numbers (:class:`FrameSlice`),
which any process on a machine that sees the file reads with the parser
:func:`slimsoap.data.read_frames` uses — ASE's extxyz reader, labels standardised — so a
worker's frames are those a local run reads, bit for bit.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms


@dataclass(frozen=True)
class FrameSlice:
    """Frames ``start:stop`` of an indexed file: bytes ``begin:end`` of ``path``.

    ``size`` and ``mtime_ns`` are the file's when it was indexed; :meth:`read` refuses a
    file that changed since.
    """

    path: str
    start: int
    stop: int
    begin: int
    end: int
    size: int
    mtime_ns: int

    def read(self) -> list[Atoms]:
        """The frames, as :func:`slimsoap.data.read_frames` yields them."""
        import ase.io

        from slimsoap.data.readers import standardise_labels

        stat = os.stat(self.path)
        if (stat.st_size, stat.st_mtime_ns) != (self.size, self.mtime_ns):
            raise ValueError(
                f"{self.path!r} changed while it was being featurised (it was indexed at "
                f"{self.size} bytes); run again"
            )
        with open(self.path, "rb") as fh:
            fh.seek(self.begin)
            text = fh.read(self.end - self.begin).decode()
        frames = ase.io.read(io.StringIO(text), index=":", format="extxyz")
        if len(frames) != self.stop - self.start:
            raise ValueError(
                f"{self.path!r}: read {len(frames)} frames at bytes {self.begin}-{self.end}, "
                f"indexed {self.stop - self.start} (frames {self.start}-{self.stop - 1})"
            )
        return [standardise_labels(atoms) for atoms in frames]


class ExtxyzFrames:
    """The frames of an extended-XYZ file, read by index range (:meth:`slice`).

    Args:
        path: an extxyz file (what :func:`slimsoap.data.read_frames` reads as extxyz).
        n: index only the first ``n`` frames (default all).

    Attributes:
        path: the file; ``offsets`` (n_frames + 1,) int64: byte where each frame starts,
        then where the last one ends; ``n_atoms`` (n_frames,) int64: atoms of each frame.

    Like ASE's reader, the file ends at its end or at the first blank line where a frame
    should start.

    Raises:
        ValueError: a frame does not start with its atom count, or the file holds none.
    """

    def __init__(self, path: str | os.PathLike, n: int | None = None):
        self.path = os.fspath(Path(path).resolve())
        stat = os.stat(self.path)
        self._stamp = (stat.st_size, stat.st_mtime_ns)
        starts, counts = [], []
        with open(self.path, "rb") as fh:
            while n is None or len(counts) < n:
                pos = fh.tell()
                line = fh.readline()
                if not line.strip():
                    break
                try:
                    count = int(line)
                except ValueError:
                    raise ValueError(
                        f"{self.path!r}: frame {len(counts)} (byte {pos}) does not start with "
                        f"its number of atoms: {line[:60].decode(errors='replace')!r}"
                    ) from None
                starts.append(pos)
                counts.append(count)
                for _ in range(count + 1):  # the comment line, then the atoms
                    fh.readline()
                while True:  # up to three lattice lines "VEC1 ..." after the atoms
                    vec = fh.tell()
                    if not fh.readline().lstrip().startswith(b"VEC"):
                        fh.seek(vec)
                        break
            end = fh.tell()
        if not counts:
            raise ValueError(f"{self.path!r} holds no structures (read as extxyz)")
        self.offsets = np.array([*starts, end], dtype=np.int64)
        self.n_atoms = np.array(counts, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.n_atoms)

    def slice(self, start: int, stop: int) -> FrameSlice:
        """Frames ``start:stop`` (clipped to the file) as a :class:`FrameSlice`."""
        start, stop = min(max(start, 0), len(self)), min(max(stop, 0), len(self))
        stop = max(stop, start)
        begin, end = int(self.offsets[start]), int(self.offsets[stop])
        return FrameSlice(self.path, start, stop, begin, end, *self._stamp)

    def slices(self, batch_size: int, first: int = 0) -> Iterator[FrameSlice]:
        """Batches ``first, first + 1, ...`` of ``batch_size`` frames, to the end."""
        for start in range(first * batch_size, len(self), batch_size):
            yield self.slice(start, start + batch_size)

    def __iter__(self) -> Iterator[Atoms]:
        for part in self.slices(64):
            yield from part.read()


def indexed_frames(path: str | os.PathLike, n: int | None = None) -> ExtxyzFrames | None:
    """An :class:`ExtxyzFrames` of ``path`` if :func:`slimsoap.data.read_frames` reads it
    as extxyz (by the same guess), else None (other formats are streamed)."""
    from slimsoap.data.readers import _format_of

    path = Path(path)
    if not path.is_file() or _format_of(path) != "extxyz":
        return None
    return ExtxyzFrames(path, n)
