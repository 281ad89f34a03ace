"""Input validation shared by every calculator: specific messages, raised early."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

#: Two atoms closer than this (Å) are treated as being at the same position.
COINCIDENT_TOL = 1e-6


def as_frames(frames: Atoms | Sequence[Atoms], with_data: bool = False):
    """Return ``frames`` as a non-empty list of ``ase.Atoms``, checking every frame.

    The first frame that is not an ``ase.Atoms``, has no atoms or fails
    :func:`check_geometry` raises, naming it; the geometry of all frames is checked in one
    vectorised pass (:func:`check_frames`). With ``with_data``, returns ``(frames, data)``,
    ``data`` the :func:`slimsoap.systems.frames.gather` of the frames made for the check
    (so a caller does not read every frame's arrays a second time).
    """
    from slimsoap.systems.frames import gather

    if isinstance(frames, Atoms):
        frames = [frames]
    if frames is None or isinstance(frames, (str, bytes)):
        raise TypeError(
            f"frames must be an ase.Atoms or a sequence of them, got {type(frames).__name__} "
            "(read files with slimsoap.data.read_frames)"
        )
    frames = list(frames)
    if len(frames) == 0:
        raise ValueError("empty frame list: compute() needs at least one ase.Atoms frame")
    wrong = next((f for f, atoms in enumerate(frames) if not isinstance(atoms, Atoms)), None)
    data = gather(frames[:wrong]) if wrong != 0 else None
    empty = np.flatnonzero(data.sizes == 0) if data is not None else np.empty(0, np.int64)
    first = min([len(frames) if wrong is None else wrong] + empty[:1].tolist())
    if first < len(frames):
        if first:  # an earlier frame with a bad geometry is named first
            check_frames(frames[:first])
        if first == wrong:
            kind = type(frames[first]).__name__
            raise TypeError(f"frame {first} is a {kind}, expected ase.Atoms")
        raise ValueError(f"frame {first} has no atoms")
    check_frames(frames, data=data)
    return (frames, data) if with_data else frames


def species_to_numbers(species: Sequence[str | int]) -> np.ndarray:
    """Atomic numbers of ``species`` (symbols or numbers), unique and sorted ascending."""
    if isinstance(species, (str, int, np.integer)):
        species = [species]
    if species is None:
        raise TypeError("species must list chemical symbols or atomic numbers, got None")
    out = []
    for s in species:
        if isinstance(s, (bool, np.bool_)):
            raise TypeError(f"species must be chemical symbols or atomic numbers, got {s!r}")
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


def species_index(
    numbers: np.ndarray,
    species_z: np.ndarray,
    frame: int | None = None,
    known_as: str = "the calculator's species",
) -> np.ndarray:
    """Index in ``species_z`` of each atomic number of ``numbers``.

    Args:
        numbers: (n,) int atomic numbers, each >= 0.
        species_z: (S,) int distinct atomic numbers (a calculator's species, a model's
            training elements).
        frame: frame named in the error (default: none named).
        known_as: what ``species_z`` is, for the error.

    Returns:
        (n,) int64 indices in 0..S-1. An element not in ``species_z`` raises ValueError
        naming it and the known ones.
    """
    idx = _lookup(numbers, species_z)
    if np.any(idx < 0):
        unknown = sorted({chemical_symbols[z] for z in numbers[idx < 0]})
        known = [chemical_symbols[z] for z in species_z]
        where = "the frames contain" if frame is None else f"frame {frame} contains"
        raise ValueError(f"{where} species {unknown} not in {known_as} {known}")
    return idx


def _lookup(numbers: np.ndarray, species_z: np.ndarray) -> np.ndarray:
    """Index in ``species_z`` of each of ``numbers`` (-1 where absent)."""
    lookup = np.full(max(int(numbers.max(initial=0)), int(species_z.max())) + 1, -1, np.int64)
    lookup[species_z] = np.arange(len(species_z))
    return lookup[numbers]


def species_index_frames(
    numbers: np.ndarray, starts: np.ndarray, species_z: np.ndarray, first_frame: int = 0
) -> np.ndarray:
    """:func:`species_index` of the concatenated atoms of many frames in one lookup.

    Args:
        numbers: (n_atoms,) int atomic numbers of every frame, in order.
        starts: (n_frames + 1,) atoms of frame f are starts[f]:starts[f+1].
        species_z: (S,) the calculator's atomic numbers.
        first_frame: number of the first frame in the error.

    The first frame holding an element not in ``species_z`` raises :func:`species_index`'s
    ValueError, naming it.
    """
    idx = _lookup(numbers, species_z)
    bad = np.flatnonzero(idx < 0)
    if len(bad):
        f = int(np.searchsorted(starts, bad[0], "right")) - 1
        species_index(numbers[starts[f] : starts[f + 1]], species_z, first_frame + f)
    return idx


def check_positive(name: str, value: float, strict: bool = True) -> float:
    """Refuse non-finite, negative (or zero when ``strict``) hyper-parameters."""
    try:
        if isinstance(value, (str, bytes, bool, np.bool_)):
            raise TypeError
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(value) or value < 0 or (strict and value == 0):
        relation = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be {relation}, got {value}")
    return value


def check_int(name: str, value: int, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an ``int``: TypeError for non-numbers (strings, None), ValueError for
    booleans, non-integral or non-finite numbers and integers outside [``minimum``,
    ``maximum``] (no upper bound by default).

    Integral floats (``3.0``) are accepted, as NumPy integers are.
    """
    boolean = isinstance(value, (bool, np.bool_))
    if not boolean and not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if boolean or not math.isfinite(value) or int(value) != value:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        valid = f">= {minimum}" if maximum is None else f"an integer in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be {valid}, got {value}")
    return int(value)


#: Periodic cells with a smaller volume (Å³), or a shorter periodic vector (Å), are singular.
SINGULAR_TOL = 1e-12
#: Largest |coordinate| (Å) accepted: float64 spacing there is 1e8 · 2^-52 ≈ 1.5e-8 Å.
MAX_COORDINATE = 1e8


def check_geometry(atoms: Atoms, frame: int = 0) -> None:
    """Refuse a frame whose positions or cell no kernel can use, naming the frame.

    Every position and every cell row must be finite (periodic or not: ASE completes the
    cell from the non-periodic rows too), each periodic direction needs a non-zero cell
    vector (ASE would otherwise fill in a 1 Å lattice), and a periodic cell must have a
    volume above ``SINGULAR_TOL`` Å³. Coordinates beyond ``MAX_COORDINATE`` Å are refused.
    """
    pos = np.asarray(atoms.positions)
    cell = np.asarray(atoms.cell)
    pbc = np.asarray(atoms.pbc, dtype=bool)
    # one pass for the usual case (finite, in range); the messages are worked out on failure
    if not (np.isfinite(pos).all() and np.isfinite(cell).all()) or (
        pos.size and np.abs(pos).max() > MAX_COORDINATE
    ):
        _geometry_error(pos, cell, frame)
    if not pbc.any():
        return
    lengths = np.sqrt(np.einsum("ij,ij->i", cell, cell))
    for k in np.flatnonzero(pbc & (lengths < SINGULAR_TOL)):
        raise ValueError(
            f"frame {frame} is periodic along axis {k} but the cell vector is zero "
            "(set atoms.cell, or pbc=False along that axis)"
        )
    full = cell if pbc.all() else np.asarray(atoms.cell.complete())
    volume = abs(np.linalg.det(full))
    if volume < SINGULAR_TOL:
        raise ValueError(
            f"frame {frame} is periodic but its cell is singular (volume {volume:.2e} Å³)"
        )


def check_frames(frames: Sequence[Atoms], first_frame: int = 0, data=None) -> None:
    """:func:`check_geometry` of every frame of ``frames`` (a list of ``ase.Atoms``) in one
    vectorised pass; the first bad frame (numbered from ``first_frame``) raises its error.

    ``data``: :func:`slimsoap.systems.frames.gather` of ``frames`` if already made.
    """
    from slimsoap.systems.frames import completed_cells, gather

    data = gather(frames) if data is None else data
    pos, cells, pbc = data.positions, data.cells, data.pbc
    ok = bool(np.isfinite(pos).all() and np.isfinite(cells).all())
    ok = ok and not (pos.size and np.abs(pos).max() > MAX_COORDINATE)
    periodic = np.flatnonzero(pbc.any(axis=1))
    if ok and len(periodic):
        lengths = np.sqrt(np.einsum("fij,fij->fi", cells[periodic], cells[periodic]))
        ok = not np.any(pbc[periodic] & (lengths < SINGULAR_TOL))
        if ok:
            volume = np.abs(np.linalg.det(completed_cells(frames, data, periodic)))
            ok = bool(np.all(volume >= SINGULAR_TOL))
    if not ok:  # the per-frame check names the first bad frame and says what is wrong
        for f, atoms in enumerate(frames):
            check_geometry(atoms, first_frame + f)


def _geometry_error(pos: np.ndarray, cell: np.ndarray, frame: int) -> None:
    """Raise the specific error for non-finite or far-away positions, or a non-finite cell."""
    if not np.all(np.isfinite(pos)):
        bad = np.flatnonzero(~np.all(np.isfinite(pos), axis=1))
        raise ValueError(f"frame {frame}: positions of atoms {bad[:10].tolist()} are NaN or inf")
    far = np.abs(pos).max(axis=1) > MAX_COORDINATE
    if far.any():
        raise ValueError(
            f"frame {frame}: atoms {np.flatnonzero(far)[:10].tolist()} are more than "
            f"{MAX_COORDINATE:.0e} Å from the origin, where float64 positions are no finer "
            "than ~1e-8 Å; translate the structure"
        )
    finite = np.all(np.isfinite(cell), axis=1)
    raise ValueError(
        f"frame {frame}: cell vectors {np.flatnonzero(~finite).tolist()} are NaN or inf"
    )


def check_bool(name: str, value: bool) -> bool:
    """Refuse anything but True/False (``bool("no")`` is True, so strings are not flags)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_finite(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` unchanged if every entry is finite; else ValueError naming how many are
    NaN or inf and the first flat index."""
    bad = ~np.isfinite(values)
    if np.any(bad):
        first = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{name} contains NaN or inf ({int(bad.sum())} entries, first at flat index {first})"
        )
    return values
