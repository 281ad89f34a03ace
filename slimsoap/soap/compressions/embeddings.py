"""Element embeddings u_α ∈ R^{d_J} for the ``embed`` compression (paper §II.4, §IV.2).

The embedded density of channel J is c^J = Σ_α u_{αJ} c^α. Presets follow the paper's
§IV.2 (unoptimised embeddings, first channel element-agnostic):

- ``"atomic_number"`` (d_J = 2): (1, rank of α by atomic number: 1, 2, 3, ...);
- ``"periodic_table"`` (d_J = 3): (1, period, group) — the paper's example for sulphur is
  w = (1, 3, 16), i.e. period 3 then group 16 (IUPAC groups 1-18; lanthanides and actinides
  are given group 3).
"""

from __future__ import annotations

import numpy as np
from ase.data import chemical_symbols

#: Last atomic number of each period 1..7.
_PERIOD_ENDS = (2, 10, 18, 36, 54, 86, 118)


def period(z: int) -> int:
    """Period (row) of the periodic table of atomic number ``z``."""
    for p, end in enumerate(_PERIOD_ENDS, start=1):
        if z <= end:
            return p
    raise ValueError(f"atomic number {z} is beyond the periodic table")


def group(z: int) -> int:
    """IUPAC group 1-18 of atomic number ``z`` (lanthanides/actinides: 3)."""
    p = period(z)
    pos = z - (_PERIOD_ENDS[p - 2] if p > 1 else 0) - 1  # 0-based position in the period
    if p == 1:
        return 1 if z == 1 else 18
    if p in (2, 3):
        return pos + 1 if pos < 2 else pos + 11
    if p in (4, 5):
        return pos + 1
    if pos < 2:
        return pos + 1
    return 3 if pos < 17 else pos - 13


#: Names of the embedding presets.
PRESETS = ("atomic_number", "periodic_table")


def check_embedding(embedding) -> None:
    """Refuse an embedding that is neither a preset name nor a finite 2-D numeric matrix
    with at least one column (its row count is checked against the species when built)."""
    if isinstance(embedding, str):
        if embedding not in PRESETS:
            raise ValueError(
                f"embed: unknown embedding preset {embedding!r}; valid: 'atomic_number', "
                "'periodic_table', or an (n_species, d_J) matrix"
            )
        return
    try:
        u = np.asarray(embedding, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"embed: embedding must be a preset name or a numeric matrix: {err}"
        ) from None
    if u.ndim != 2 or u.shape[1] < 1:
        raise ValueError(
            f"embed: embedding matrix must have shape (n_species, d_J ≥ 1), got shape {u.shape}"
        )
    if not np.all(np.isfinite(u)):
        raise ValueError("embed: embedding matrix has NaN or infinite entries")


def embedding_matrix(embedding, species_z: np.ndarray) -> np.ndarray:
    """(S, d_J) embedding of the calculator's species (ascending Z).

    Args:
        embedding: ``"atomic_number"``, ``"periodic_table"`` or an (S, d_J) array-like with
            one row per species in ascending-Z order (1 ≤ d_J, finite entries).
        species_z: (S,) atomic numbers, ascending.
    """
    check_embedding(embedding)
    species_z = np.asarray(species_z)
    if isinstance(embedding, str) and embedding == "atomic_number":
        return np.stack([np.ones(len(species_z)), np.arange(1.0, len(species_z) + 1)], 1)
    if isinstance(embedding, str):  # "periodic_table"
        rows = [(1.0, period(int(z)), group(int(z))) for z in species_z]
        return np.array(rows, dtype=np.float64)
    u = np.asarray(embedding, dtype=np.float64)
    if u.shape[0] != len(species_z):
        names = [chemical_symbols[z] for z in species_z]
        raise ValueError(
            f"embed: embedding matrix must have shape (n_species={len(species_z)}, d_J ≥ 1), "
            f"one row per species {names}; got shape {u.shape}"
        )
    return u
