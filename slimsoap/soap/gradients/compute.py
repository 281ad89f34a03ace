"""SOAP values with gradients: plan → layout → kernel call → assembly (DESIGN §3, §7).

Every frame gets a :class:`~slimsoap.soap.gradients.plan.GradientPlan` (cached on the
calculator's contraction) and a :class:`~slimsoap.soap.gradients.layout.FrameLayout`; all
frames' gradients go into one flat array laid out up front. Small frames that share a plan
(the same species present, for sparse output; all of them, for dense output) are expanded,
projected and differentiated together, one kernel call per group writing every member's
entries where its own layout puts them, so the numbers and the layout are those of one
frame at a time. The array is returned as dense rows or as
:class:`~slimsoap.features.SparseGradients`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from ase import Atoms

from slimsoap._kernels.soap import FrameArrays, FrameOutput, pair_gradients, scatter_rows
from slimsoap._linalg import project_rows, unit_rows
from slimsoap._runtime.buffers import empty, zeros
from slimsoap._runtime.threads import run_in_threads
from slimsoap._validation import species_index
from slimsoap.features import Features, SparseGradients
from slimsoap.soap.gradients.layout import FrameLayout, frame_layout, pattern_columns
from slimsoap.soap.gradients.plan import GradientPlan
from slimsoap.systems.batching import SMALL_FRAME
from slimsoap.systems.neighbours import NeighbourList, frame_neighbour_lists

if TYPE_CHECKING:
    from slimsoap.soap.calculator import SOAP
    from slimsoap.soap.contraction import Contraction
    from slimsoap.soap.expansion import Expansion

#: Atoms of small frames differentiated in one kernel call (bounds the group's expansion).
GROUP_ATOMS = 1024


def compute_gradients(
    soap: SOAP,
    frames: list[Atoms],
    frame_index: np.ndarray,
    sparse: bool,
    strain: bool,
    mean_of: list[np.ndarray] | None = None,
    normalize: bool | None = None,
) -> Features:
    """Values, pair gradients and (with ``strain``) strain gradients of every atom.

    Args:
        soap: the calculator (its contraction, expansion, dtype and ``normalize``).
        frames: the frames, validated.
        frame_index: (n_atoms,) frame of each row.
        sparse: CSR values and :class:`~slimsoap.features.SparseGradients` over the
            species present in each frame, else dense arrays.
        strain: also the strain gradients (n_atoms, 3, 3, n_features).
        mean_of: per frame, atom indices whose mean coefficients c̄ replace every atom's
            coefficients (the pair derivatives stay each atom's own): rows become p(c̄)
            and B(∂c_i, c̄) + B(c̄, ∂c_i), the terms of ``average="inner"``. Dense only.
        normalize: project the rows onto the unit sphere; None: ``soap.normalize`` (False
            for averages, which normalise the averaged row instead).

    Returns:
        :class:`~slimsoap.features.Features` as :meth:`SOAP.compute` documents.
    """
    n_total, F = len(frame_index), soap.n_features
    normalize = soap.normalize if normalize is None else normalize
    contraction = soap._contraction
    # one batched pair search for the small frames, equal to the per-frame one bit for bit
    neighbours = frame_neighbour_lists(frames, soap.r_cut, 0, checked=True)
    plans, layouts, slot_of_atom, keys = [], [], [], []
    for f, atoms in enumerate(frames):
        slots = species_index(atoms.numbers, soap.species_z, f)
        slot_of_atom.append(slots)
        species = np.unique(slots) if sparse else np.arange(len(soap.species_z))
        keys.append(tuple(species.tolist()))
        plan = contraction.gradient_plan(keys[-1], sparse)
        atom_slot = np.searchsorted(species, slots) if sparse else None
        plans.append(plan)
        layouts.append(frame_layout(neighbours[f], plan, atom_slot))
    bounds = np.cumsum([0] + [lay.size for lay in layouts])
    sbounds = np.cumsum([0] + [lay.strain_size if strain else 0 for lay in layouts])
    data = zeros(int(bounds[-1]), soap.dtype)
    sdata = zeros(int(sbounds[-1]), soap.dtype)
    sizes = [len(atoms) for atoms in frames]
    row0 = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    values = None if sparse else empty((n_total, F), soap.dtype)
    csr_parts = []
    for members in _groups(sizes, keys, mean_of is None):
        plan = plans[members[0]]
        nl = _merged([neighbours[f] for f in members])
        # without strain the gradient kernel never reads an image of the centre itself
        exp = soap._expand_pairs(
            np.concatenate([slot_of_atom[f] for f in members]), nl, True, sparse, strain
        )
        if mean_of is not None:  # one frame per group
            exp.coefficients[:] = exp.coefficients[mean_of[members[0]]].mean(axis=0)
        output = _group_output([layouts[f] for f in members], bounds[members], sbounds[members],
                               data, sdata if strain else sdata[:0])  # fmt: skip
        xr = _frame_gradients(contraction, exp, plan, output)
        rows = np.concatenate([np.arange(row0[f], row0[f + 1]) for f in members])
        if sparse:
            csr_parts.append((rows, xr, plan.columns))
            continue
        values[rows[:, None], plan.columns[None, :]] = xr
        if normalize:
            for f in members:
                x = values[row0[f] : row0[f + 1]]
                _, norms = unit_rows(x, out=x)
                out = data[bounds[f] : bounds[f + 1]]
                project_rows(out.reshape(-1, 3, F), x, norms, layouts[f].keys[:, 0])
                if strain:
                    sout = sdata[sbounds[f] : sbounds[f + 1]]
                    project_rows(sout.reshape(-1, 3, 3, F), x, norms)
    result = Features(values=values, frame_index=frame_index)
    result.gradient_pairs = np.concatenate([lay.keys + row0[f] for f, lay in enumerate(layouts)])
    if not sparse:
        result.gradients = data.reshape(-1, 3, F)
        if strain:
            result.strain_gradients = sdata.reshape(n_total, 3, 3, F)
        return result
    result.values = _rows_csr(csr_parts, n_total, F, soap.dtype)
    starts, patterns, sstarts, spatterns, columns, known = [], [], [], [], [], {}
    for f, lay in enumerate(layouts):
        if keys[f] not in known:
            known[keys[f]] = len(columns)
            columns.extend(pattern_columns(plans[f]))
        first = known[keys[f]]
        starts.append(bounds[f] + lay.entry_base)
        patterns.append(first + lay.entry_pattern)
        sstarts.append(sbounds[f] + lay.strain_base)
        spatterns.append(np.full(sizes[f], first + plans[f].n_slots))
    result.gradients = SparseGradients(
        data, np.concatenate(starts), np.concatenate(patterns).astype(np.int32), columns, F
    )
    if strain:
        result.strain_gradients = SparseGradients(
            sdata,
            np.concatenate(sstarts),
            np.concatenate(spatterns).astype(np.int32),
            columns,
            F,
            (3, 3),
        )
    return result


def _groups(sizes: list[int], keys: list[tuple[int, ...]], batch: bool) -> list[np.ndarray]:
    """Frames differentiated together: small frames (at most ``SMALL_FRAME`` atoms) of one
    plan ``keys[f]``, in frame order, up to :data:`GROUP_ATOMS` atoms a group; any other
    frame (and every frame without ``batch``) alone."""
    out, open_groups, held = [], {}, {}
    for f, (n, key) in enumerate(zip(sizes, keys)):
        if not batch or n > SMALL_FRAME:
            out.append([f])
            continue
        if key not in open_groups or held[key] + n > GROUP_ATOMS:
            open_groups[key], held[key] = [], 0
            out.append(open_groups[key])
        open_groups[key].append(f)
        held[key] += n
    return [np.array(g, dtype=np.int64) for g in out]


def _merged(lists: list[NeighbourList]) -> NeighbourList:
    """The pairs of several frames as one list over their concatenated atoms."""
    if len(lists) == 1:
        return lists[0]
    atoms = np.cumsum([0] + [len(nl.offsets) - 1 for nl in lists])
    pairs = np.cumsum([0] + [len(nl.distances) for nl in lists])
    offsets = [nl.offsets[:-1] + p for nl, p in zip(lists, pairs)] + [pairs[-1:]]
    return NeighbourList(
        np.concatenate([nl.centres + a for nl, a in zip(lists, atoms)]),
        np.concatenate([nl.neighbours + a for nl, a in zip(lists, atoms)]),
        np.concatenate([nl.vectors for nl in lists]),
        np.concatenate([nl.distances for nl in lists]),
        np.concatenate(offsets).astype(np.int64),
    )


def _group_output(
    layouts: list[FrameLayout],
    bases: np.ndarray,
    strain_bases: np.ndarray,
    out: np.ndarray,
    strain: np.ndarray,
) -> FrameOutput:
    """The kernel's view of several frames' layouts over the whole flat outputs: frame k's
    entries at ``bases[k]`` of ``out`` and its strain blocks at ``strain_bases[k]`` of
    ``strain`` (size 0: no strain), pair and centre entries numbered across the group."""
    if len(layouts) == 1:
        lay, b, s = layouts[0], int(bases[0]), int(strain_bases[0])
        return lay.output(out[b : b + lay.size], strain[s : s + lay.strain_size])
    entries = np.cumsum([0] + [len(lay.keys) for lay in layouts])
    pairs = np.cumsum([0] + [len(lay.pair_entry) for lay in layouts])
    return FrameOutput(
        np.concatenate([lay.pair_entry + q for lay, q in zip(layouts, entries)]),
        np.concatenate([lay.centre_entry + q for lay, q in zip(layouts, entries)]),
        np.concatenate([lay.pair_order + p for lay, p in zip(layouts, pairs)]),
        np.concatenate([lay.entry_base + b for lay, b in zip(layouts, bases)]),
        np.concatenate([lay.entry_pattern for lay in layouts]),
        np.concatenate([lay.strain_base + s for lay, s in zip(layouts, strain_bases)]),
        out,
        strain,
    )


def _frame_gradients(
    contraction: Contraction, exp: Expansion, plan: GradientPlan, output: FrameOutput
) -> np.ndarray:
    """Write ∂p_i/∂r_j of every pair of one frame or group of frames (and the centres'
    own, and strain) where ``output`` says.

    Args:
        contraction: the calculator's contraction.
        exp: the expansion with gradient factors, over the plan's species slots.
        plan: the frames' gradient plan.
        output: the kernel's view of the outputs (zero-initialised position gradients:
            they accumulate; strain overwritten, or size 0 to skip it).

    Returns:
        (n, F') the descriptors over the plan's restricted entries (global columns
        ``plan.columns``), from the same projections.

    The work per pair follows N (the neighbour's channels), not S·N, and, for maps that
    keep species apart, the stored entries per pair follow 1/S of the block.
    """
    nl = exp.neighbours
    units = nl.vectors / nl.distances[:, None]
    values, y1t, y2t = contraction.gradient_inputs(exp.coefficients, plan)
    frame = FrameArrays(
        nl.offsets,
        exp.pair_species,
        units,
        nl.vectors,
        exp.radial_terms,
        exp.angular_terms,
        y1t,
        y2t,
    )
    run_in_threads(pair_gradients, (plan.arrays, plan.tables, frame, output), nl.offsets)
    return values


def _rows_csr(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_rows: int, n_features: int, dtype
) -> sp.csr_matrix:
    """CSR (n_rows, n_features) of row blocks (rows, x (n, F'), global columns (F',)),
    each row's columns ascending, exact zeros dropped."""
    width = np.zeros(n_rows, dtype=np.int64)
    for rows, x, _ in parts:
        width[rows] = x.shape[1]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(width, out=indptr[1:])
    data = np.empty(int(indptr[-1]), dtype=dtype)
    indices = np.empty(int(indptr[-1]), dtype=np.int64)
    for rows, x, columns in parts:
        rank = np.empty(len(columns), dtype=np.int64)  # stored position of each column
        rank[np.argsort(columns)] = np.arange(len(columns))
        starts = indptr[rows]
        scatter_rows(np.ascontiguousarray(x), starts, rank, data)
        scatter_rows(np.broadcast_to(columns.astype(np.int64), x.shape), starts, rank, indices)
    out = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features))
    out.eliminate_zeros()
    return out
