"""Input validation shared by every calculator: specific messages, raised early."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

#: Two atoms closer than this (Å) are treated as being at the same position.
COINCIDENT_TOL = 1e-6


def as_frames(frames: Atoms | Sequence[Atoms]) -> list[Atoms]:
    """Return ``frames`` as a non-empty list of ``ase.Atoms``, checking every frame."""
    if isinstance(frames, Atoms):
        frames = [frames]
    frames = list(frames)
    if len(frames) == 0:
        raise ValueError("empty frame list: compute() needs at least one ase.Atoms frame")
    for f, atoms in enumerate(frames):
        if not isinstance(atoms, Atoms):
            raise TypeError(f"frame {f} is a {type(atoms).__name__}, expected ase.Atoms")
        if len(atoms) == 0:
            raise ValueError(f"frame {f} has no atoms")
        pos = atoms.positions
        if not np.all(np.isfinite(pos)):
            bad = np.flatnonzero(~np.all(np.isfinite(pos), axis=1))
            raise ValueError(f"frame {f}: positions of atoms {bad[:10].tolist()} are NaN or inf")
        if atoms.pbc.any():
            cell = np.asarray(atoms.cell)[atoms.pbc]
            if abs(np.linalg.det(np.asarray(atoms.cell.complete()))) < 1e-12 or not np.all(
                np.isfinite(cell)
            ):
                raise ValueError(f"frame {f} is periodic but its cell is singular")
    return frames


def species_to_numbers(species: Sequence[str | int]) -> np.ndarray:
    """Atomic numbers of ``species`` (symbols or numbers), unique and sorted ascending."""
    if isinstance(species, (str, int, np.integer)):
        species = [species]
    out = []
    for s in species:
        if isinstance(s, (int, np.integer)):
            if not 0 < int(s) < len(chemical_symbols):
                raise ValueError(f"unknown atomic number {s}")
            out.append(int(s))
        elif s in atomic_numbers and s != "X":
            out.append(atomic_numbers[s])
        else:
            raise ValueError(f"unknown chemical species {s!r}")
    if len(out) == 0:
        raise ValueError("species must list at least one element")
    if len(set(out)) != len(out):
        raise ValueError(f"species lists an element twice: {list(species)}")
    return np.array(sorted(out), dtype=np.int64)


def species_index(numbers: np.ndarray, species_z: np.ndarray, frame: int) -> np.ndarray:
    """Map atomic numbers to indices 0..S-1 in ``species_z``; unknown elements raise."""
    lookup = np.full(max(int(numbers.max()), int(species_z.max())) + 1, -1, dtype=np.int64)
    lookup[species_z] = np.arange(len(species_z))
    idx = lookup[numbers]
    if np.any(idx < 0):
        unknown = sorted({chemical_symbols[z] for z in numbers[idx < 0]})
        known = [chemical_symbols[z] for z in species_z]
        raise ValueError(
            f"frame {frame} contains species {unknown} that the calculator was not built for "
            f"(species={known})"
        )
    return idx


def check_positive(name: str, value: float, strict: bool = True) -> float:
    """Refuse non-finite, negative (or zero when ``strict``) hyper-parameters."""
    value = float(value)
    if not np.isfinite(value) or value < 0 or (strict and value == 0):
        relation = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be {relation}, got {value}")
    return value


def check_int(name: str, value: int, minimum: int) -> int:
    """Refuse non-integers and integers below ``minimum``."""
    if isinstance(value, bool) or int(value) != value:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
