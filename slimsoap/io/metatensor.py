"""Features as metatensor TensorMaps, and ``.mts`` files (optional extra ``metatensor``).

Layout of the TensorMap written by :func:`to_tensormap` (featomic's names where they apply):

- keys ``center_type`` (atomic number of the row's atom), plus ``neighbor_1_type`` and/or
  ``neighbor_2_type`` for a density whose channels are all element-resolved (``"<El>:..."``
  in ``labels()``; ν=2, ν,μ=1,1, ...). Species sparsity is the blocks that are absent: a
  block exists only for the species combinations some environment holds.
- samples ``(system, atom)``: frame index and atom index within the frame. A row is in the
  block of its centre type whose neighbour types are all present in its environment (with
  gradients: among the atoms of its gradient pairs, the centre included) or, without
  gradients, whose values are not all zero there. Every other entry is exactly zero.
- properties ``(l, n_1, n_2)``: ``n_d`` is the radial index k of channels named ``"n<k>"``
  (after the element, when the density is element-resolved); a density with other channel
  names gets ``channel_d``, the position of the name in the info entry
  ``slimsoap.channels_<d>``. Calculators whose labels are not ``(l, channel_1, channel_2)``
  (ACSF) get keys ``center_type`` and one property ``feature`` (the column).
- gradients ``"positions"``: samples ``(sample, system, atom)``, components ``xyz``,
  ∂x/∂r in feature units per Å, for every gradient pair of the block's rows (only those
  whose atom is the centre or of a neighbour type when both densities are resolved and the
  features are not normalised);
  ``"strain"``: samples ``(sample,)``, components ``(xyz_1, xyz_2)``, slimsoap's strain
  gradients Σ_j r_ij ⊗ ∂x_i/∂r_j (feature units): for r → (1 + ε) r, ∂x/∂ε_ba = strain[a, b].
- info: ``slimsoap.labels`` (JSON of ``labels()``), ``slimsoap.system_sizes`` (atoms per
  frame), ``slimsoap.calculator`` (JSON of ``calculator.to_dict()``, when it has one), so that
  :func:`from_tensormap` rebuilds the :class:`~slimsoap.features.Features` exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from slimsoap.features import Features, SparseGradients

_RADIAL = re.compile(r"n(\d+)")
_INFO = "slimsoap."


def _metatensor():
    try:
        import metatensor
    except ImportError:
        raise ImportError(
            "metatensor output needs the metatensor package: pip install 'slimsoap[metatensor]'"
        ) from None
    return metatensor


def _numbers(frames: Atoms | Sequence[Atoms] | np.ndarray, n_rows: int) -> np.ndarray:
    """(n_rows,) atomic number of every row, from frames or given directly."""
    if isinstance(frames, Atoms):
        numbers = frames.numbers
    elif isinstance(frames, np.ndarray) and frames.dtype.kind in "iu":
        numbers = frames
    else:
        numbers = np.concatenate([np.asarray(a.numbers) for a in frames])
    numbers = np.asarray(numbers, dtype=np.int64).ravel()
    if len(numbers) != n_rows:
        raise ValueError(
            f"the frames hold {len(numbers)} atoms but the features have {n_rows} rows: "
            "pass the frames the features were computed from"
        )
    return numbers


class _Columns:
    """How the calculator's columns split into blocks and what their properties are."""

    def __init__(self, labels: list, species_z: np.ndarray):
        self.labels = [tuple(lab) if isinstance(lab, (tuple, list)) else lab for lab in labels]
        self.generic = not all(
            isinstance(lab, tuple) and len(lab) == 3 and all(isinstance(c, str) for c in lab[1:])
            for lab in self.labels
        )
        symbols = {chemical_symbols[z] for z in species_z}
        if self.generic:
            self.resolved = (False, False)
            self.key_of = [()] * len(self.labels)
            self.property_names = ["feature"]
            self.properties = np.arange(len(self.labels))[:, None]
            self.channels = ([], [])
            return
        parts = [[lab[d].split(":", 1) for lab in self.labels] for d in (1, 2)]
        self.resolved = tuple(
            all(len(p) == 2 and p[0] in symbols for p in parts[d]) for d in (0, 1)
        )
        names = [[p[1] if self.resolved[d] else ":".join(p) for p in parts[d]] for d in (0, 1)]
        self.key_of = [
            tuple(atomic_numbers[parts[d][k][0]] for d in (0, 1) if self.resolved[d])
            for k in range(len(self.labels))
        ]
        self.property_names = ["l"]
        columns = [np.array([lab[0] for lab in self.labels])]
        self.channels = ([], [])
        for d in (0, 1):
            if all(_RADIAL.fullmatch(n) for n in names[d]):
                self.property_names.append(f"n_{d + 1}")
                columns.append(np.array([int(n[1:]) for n in names[d]]))
            else:
                self.property_names.append(f"channel_{d + 1}")
                self.channels[d].extend(dict.fromkeys(names[d]))
                where = {n: k for k, n in enumerate(self.channels[d])}
                columns.append(np.array([where[n] for n in names[d]]))
        self.properties = np.stack(columns, axis=1)

    @property
    def key_names(self) -> list[str]:
        return ["center_type"] + [f"neighbor_{d + 1}_type" for d in (0, 1) if self.resolved[d]]

    def groups(self) -> dict[tuple, np.ndarray]:
        """Neighbour-type key → global columns of that block (ascending)."""
        out: dict[tuple, list[int]] = {}
        for k, key in enumerate(self.key_of):
            out.setdefault(key, []).append(k)
        return {key: np.array(cols) for key, cols in sorted(out.items())}


def _gather(g, entries: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Dense (len(entries), *inner, len(cols)) of gradient rows, from either layout."""
    if not isinstance(g, SparseGradients):
        return np.ascontiguousarray(np.asarray(g)[entries][..., cols])
    out = np.zeros((len(entries), *g.inner, len(cols)), dtype=g.dtype)
    k_inner = int(np.prod(g.inner))
    pats = g.pattern[entries]
    for k in np.unique(pats):
        stored = g.columns[k]
        order = np.argsort(stored)
        pos = np.minimum(np.searchsorted(stored[order], cols), len(stored) - 1)
        hit = np.flatnonzero(stored[order][pos] == cols)
        if len(hit) == 0:
            continue
        src = order[pos[hit]]
        where = np.flatnonzero(pats == k)
        offsets = (np.arange(k_inner)[:, None] * len(stored) + src[None, :]).ravel()
        vals = g.data[g.start[entries[where]][:, None] + offsets]
        vals = vals.reshape(len(where), *g.inner, len(hit))
        out[where[:, None], ..., hit[None, :]] = np.moveaxis(vals, -1, 1)
    return out


def _block_values(values, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if sp.issparse(values):
        return values[rows][:, cols].toarray()
    return np.ascontiguousarray(values[np.ix_(rows, cols)])


def to_tensormap(features: Features, calculator, frames: Atoms | Sequence[Atoms] | np.ndarray):
    """The features as a metatensor ``TensorMap`` (layout in the module docstring).

    Args:
        features: output of ``calculator.compute`` (dense or sparse values; dense or
            :class:`~slimsoap.features.SparseGradients` gradients).
        calculator: the calculator that computed them (``labels()``, ``species_z``,
            ``to_dict()``).
        frames: the frames they were computed from, or the (n_atoms,) atomic numbers of the
            rows (the features do not record species).

    Returns:
        ``metatensor.TensorMap`` with one block per present (centre type, neighbour types).
    """
    mts = _metatensor()
    labels = calculator.labels()
    n_rows, n_features = features.values.shape
    if len(labels) != n_features:
        raise ValueError(
            f"the calculator has {len(labels)} features but the features have {n_features} "
            "columns: pass the calculator that computed them"
        )
    numbers = _numbers(frames, n_rows)
    species_z = np.asarray(calculator.species_z)
    columns = _Columns(labels, species_z)
    offsets = features.frame_offsets
    system = features.frame_index
    atom = np.arange(n_rows) - offsets[system]
    pairs = features.gradient_pairs
    env = None
    if pairs is not None:
        slot = np.searchsorted(species_z, numbers)
        env = np.zeros((n_rows, len(species_z)), dtype=bool)
        env[pairs[:, 0], slot[pairs[:, 1]]] = True
        pair_start = np.searchsorted(pairs[:, 0], np.arange(n_rows + 1))
    keys, blocks = [], []
    present = np.unique(numbers)
    # with both densities element-resolved only the centre and atoms of the block's
    # neighbour types move it, unless normalisation spreads every gradient over all columns
    restrict = len(columns.key_names) == 3 and not getattr(calculator, "normalize", False)
    for neighbour_types, cols in columns.groups().items():
        if not np.all(np.isin(neighbour_types, present)):
            continue  # a species no frame holds: its channels are exactly zero
        for centre in present:
            rows = np.flatnonzero(numbers == centre)
            if env is None:
                if len(rows) == 0:
                    continue
                vals = _block_values(features.values, rows, cols)
                keep = np.any(vals != 0, axis=1)
                rows, vals = rows[keep], vals[keep]
            else:
                need = np.searchsorted(species_z, neighbour_types)
                rows = rows[np.all(env[rows][:, need], axis=1)]
                vals = _block_values(features.values, rows, cols)
            if len(rows) == 0:
                continue
            block = mts.TensorBlock(
                values=vals,
                samples=mts.Labels(["system", "atom"], np.stack([system[rows], atom[rows]], 1)),
                components=[],
                properties=mts.Labels(columns.property_names, columns.properties[cols]),
            )
            if pairs is not None:
                movers = neighbour_types if restrict else ()
                _add_gradients(mts, block, features, rows, cols, movers, numbers, pair_start,
                               offsets)  # fmt: skip
            keys.append((int(centre), *neighbour_types))
            blocks.append(block)
    if not blocks:
        raise ValueError("every feature is zero: there is no block to write")
    tm = mts.TensorMap(mts.Labels(columns.key_names, np.array(keys, dtype=np.int32)), blocks)
    tm.set_info(_INFO + "labels", json.dumps([list(lab) if isinstance(lab, tuple) else lab
                                              for lab in columns.labels]))  # fmt: skip
    tm.set_info(_INFO + "system_sizes", json.dumps(np.diff(offsets).tolist()))
    if hasattr(calculator, "to_dict"):
        tm.set_info(_INFO + "calculator", json.dumps(calculator.to_dict()))
    for d in (0, 1):
        if columns.channels[d]:
            tm.set_info(_INFO + f"channels_{d + 1}", json.dumps(columns.channels[d]))
    return tm


def _add_gradients(mts, block, features, rows, cols, movers, numbers, pair_start,
                   offsets):  # fmt: skip
    """Attach the ``positions`` (and ``strain``) gradients of ``rows`` × ``cols``: of every
    pair of those rows, or, when ``movers`` lists atomic numbers, of the pairs whose atom is
    the centre or of one of those species."""
    pairs = features.gradient_pairs
    entries = np.concatenate([np.arange(pair_start[r], pair_start[r + 1]) for r in rows])
    sample = np.repeat(np.arange(len(rows)), pair_start[rows + 1] - pair_start[rows])
    if movers:
        moving = pairs[entries, 1]
        keep = (moving == pairs[entries, 0]) | np.isin(numbers[moving], movers)
        entries, sample = entries[keep], sample[keep]
    moving = pairs[entries, 1]
    system = features.frame_index[moving]
    grad = mts.TensorBlock(
        values=_gather(features.gradients, entries, cols),
        samples=mts.Labels(
            ["sample", "system", "atom"],
            np.stack([sample, system, moving - offsets[system]], axis=1),
        ),
        components=[mts.Labels(["xyz"], np.arange(3)[:, None])],
        properties=block.properties,
    )
    block.add_gradient("positions", grad)
    if features.strain_gradients is not None:
        strain = mts.TensorBlock(
            values=_gather(features.strain_gradients, rows, cols),
            samples=mts.Labels(["sample"], np.arange(len(rows))[:, None]),
            components=[
                mts.Labels(["xyz_1"], np.arange(3)[:, None]),
                mts.Labels(["xyz_2"], np.arange(3)[:, None]),
            ],
            properties=block.properties,
        )
        block.add_gradient("strain", strain)


def _info(tm, name: str):
    value = tm.get_info(_INFO + name)
    if value is None:
        raise ValueError(
            f"this TensorMap has no {_INFO + name!r} info: only TensorMaps written by "
            "slimsoap.io.metatensor.to_tensormap can be read back as Features"
        )
    return json.loads(value)


def from_tensormap(tm) -> Features:
    """Rebuild the :class:`~slimsoap.features.Features` written by :func:`to_tensormap`.

    Values (n_atoms, n_features) and, when the blocks have them, position gradients
    (n_pairs, 3, n_features) with their pairs (sorted by row, then atom) and strain
    gradients (n_atoms, 3, 3, n_features) come back as dense arrays with the same numbers;
    entries of absent blocks and samples are zero.
    """
    labels = [tuple(lab) if isinstance(lab, list) else lab for lab in _info(tm, "labels")]
    sizes = np.asarray(_info(tm, "system_sizes"), dtype=np.int64)
    channels = [
        _info(tm, f"channels_{d}") if tm.get_info(_INFO + f"channels_{d}") else [] for d in (1, 2)
    ]
    column = {lab: k for k, lab in enumerate(labels)}
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n_rows, n_features = int(offsets[-1]), len(labels)
    frame_index = np.repeat(np.arange(len(sizes)), sizes)
    key_names = tm.keys.names
    blocks = list(zip([tuple(int(v) for v in key.values) for key in tm.keys], tm.blocks()))
    dtype = blocks[0][1].values.dtype
    values = np.zeros((n_rows, n_features), dtype=dtype)
    per_block = []
    for key, block in blocks:
        cols = _block_columns(block, dict(zip(key_names, key)), column, channels)
        s = block.samples.values
        rows = offsets[s[:, 0]] + s[:, 1]
        values[np.ix_(rows, cols)] = block.values
        per_block.append((rows, cols, block))
    out = Features(values=values, frame_index=frame_index)
    if not all(block.has_gradient("positions") for _, _, block in per_block):
        return out
    found = []
    for rows, _, block in per_block:
        g = block.gradient("positions").samples.values
        found.append(rows[g[:, 0]] * n_rows + offsets[g[:, 1]] + g[:, 2])
    keys = np.unique(np.concatenate(found))
    out.gradient_pairs = np.stack(np.divmod(keys, n_rows), axis=1).astype(np.int64)
    out.gradients = np.zeros((len(keys), 3, n_features), dtype=dtype)
    strain = all(block.has_gradient("strain") for _, _, block in per_block)
    if strain:
        out.strain_gradients = np.zeros((n_rows, 3, 3, n_features), dtype=dtype)
    for (rows, cols, block), where in zip(per_block, found):
        entry = np.searchsorted(keys, where)
        out.gradients[entry[:, None], :, cols[None, :]] = np.moveaxis(
            block.gradient("positions").values, -1, 1
        )
        if strain:
            s = block.gradient("strain")
            sample_rows = rows[s.samples.values[:, 0]]
            out.strain_gradients[sample_rows[:, None], :, :, cols[None, :]] = np.moveaxis(
                s.values, -1, 1
            )
    return out


def _block_columns(block, key: dict, column: dict, channels: list[list[str]]) -> np.ndarray:
    """Global columns of a block's properties (inverse of :class:`_Columns`)."""
    names = block.properties.names
    props = block.properties.values
    if names == ["feature"]:
        return np.asarray(props[:, 0], dtype=np.int64)
    cols = []
    for p in props:
        lab = [int(p[0])]
        for d in (1, 2):
            v = int(p[d])
            name = f"n{v}" if names[d] == f"n_{d}" else channels[d - 1][v]
            z = key.get(f"neighbor_{d}_type")
            lab.append(name if z is None else f"{chemical_symbols[z]}:{name}")
        cols.append(column[tuple(lab)])
    return np.array(cols, dtype=np.int64)


def save_tensormap(path: str | Path, tm) -> None:
    """Write a TensorMap to an ``.mts`` file (``metatensor.save``)."""
    _metatensor().save(str(path), tm)


def load_tensormap(path: str | Path):
    """Read a TensorMap from an ``.mts`` file (``metatensor.load``)."""
    return _metatensor().load(str(path))


def write_mts(path: str | Path, features: Features, calculator, frames) -> None:
    """Write ``features`` to an ``.mts`` file (:func:`to_tensormap`, then metatensor.save)."""
    save_tensormap(path, to_tensormap(features, calculator, frames))


def read_mts(path: str | Path) -> tuple[Features, dict | None]:
    """Read an ``.mts`` file written by :func:`write_mts`: the features and the calculator's
    ``to_dict()`` (rebuild it with the calculator registry; None for a calculator without
    ``to_dict``)."""
    tm = load_tensormap(path)
    calculator = tm.get_info(_INFO + "calculator")
    return from_tensormap(tm), None if calculator is None else json.loads(calculator)
