"""SOAP values with gradients: plan → layout → kernel call → assembly (DESIGN §3, §7).

Every frame gets a :class:`~slimsoap.soap.gradients.plan.GradientPlan` (cached on the
calculator's contraction) and a :class:`~slimsoap.soap.gradients.layout.FrameLayout`; all
frames' gradients go into one flat array laid out up front, which the kernel fills frame
by frame, and which is returned as dense rows or as
:class:`~slimsoap.features.SparseGradients`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from ase import Atoms

from slimsoap._kernels.soap import FrameArrays, pair_gradients
from slimsoap._linalg import project_rows, unit_rows
from slimsoap._runtime.buffers import zeros
from slimsoap._runtime.threads import run_in_threads
from slimsoap._validation import species_index
from slimsoap.features import Features, SparseGradients
from slimsoap.soap.gradients.layout import FrameLayout, frame_layout, pattern_columns
from slimsoap.soap.gradients.plan import GradientPlan
from slimsoap.systems.neighbours import neighbour_list

if TYPE_CHECKING:
    from slimsoap.soap.calculator import SOAP
    from slimsoap.soap.contraction import Contraction
    from slimsoap.soap.expansion import Expansion


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
    neighbours = [
        neighbour_list(atoms, soap.r_cut, f, checked=True) for f, atoms in enumerate(frames)
    ]
    setups, slot_of_atom = [], []
    for f, atoms in enumerate(frames):
        slots = species_index(atoms.numbers, soap.species_z, f)
        slot_of_atom.append(slots)
        species = np.unique(slots) if sparse else np.arange(len(soap.species_z))
        plan = contraction.gradient_plan(tuple(species.tolist()), sparse)
        atom_slot = np.searchsorted(species, slots) if sparse else None
        setups.append((plan, frame_layout(neighbours[f], plan, atom_slot)))
    bounds = np.cumsum([0] + [lay.size for _, lay in setups])
    sbounds = np.cumsum([0] + [lay.strain_size if strain else 0 for _, lay in setups])
    data = zeros(int(bounds[-1]), soap.dtype)
    sdata = zeros(int(sbounds[-1]), soap.dtype)
    values = [] if sparse else np.empty((n_total, F), dtype=soap.dtype)
    pairs, starts, patterns, sstarts, spatterns, columns, known = [], [], [], [], [], [], {}
    offset = 0
    for f, atoms in enumerate(frames):
        plan, lay = setups[f]
        out = data[bounds[f] : bounds[f + 1]]
        sout = sdata[sbounds[f] : sbounds[f + 1]]
        exp = soap._expand_pairs(slot_of_atom[f], neighbours[f], True, sparse)
        if mean_of is not None:
            exp.coefficients[:] = exp.coefficients[mean_of[f]].mean(axis=0)
        xr = _frame_gradients(contraction, exp, plan, lay, out, sout)
        pairs.append(lay.keys + offset)
        if sparse:
            values.append(_restricted_csr(xr, plan.columns, F, soap.dtype))
            key = tuple(exp.slot_species.tolist())
            if key not in known:
                known[key] = len(columns)
                columns.extend(pattern_columns(plan))
            starts.append(bounds[f] + lay.entry_base)
            patterns.append(known[key] + lay.entry_pattern)
            sstarts.append(sbounds[f] + lay.strain_base)
            spatterns.append(np.full(len(atoms), known[key] + plan.n_slots))
        else:
            x = values[offset : offset + len(atoms)]
            x[:, plan.columns] = xr
            if normalize:
                _, norms = unit_rows(x, out=x)
                project_rows(out.reshape(-1, 3, F), x, norms, lay.keys[:, 0])
                if strain:
                    project_rows(sout.reshape(-1, 3, 3, F), x, norms)
        offset += len(atoms)
    result = Features(values=values, frame_index=frame_index)
    result.gradient_pairs = np.concatenate(pairs)
    if sparse:
        result.values = sp.vstack(values, format="csr")
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
    else:
        result.gradients = data.reshape(-1, 3, F)
        if strain:
            result.strain_gradients = sdata.reshape(n_total, 3, 3, F)
    return result


def _frame_gradients(
    contraction: Contraction,
    exp: Expansion,
    plan: GradientPlan,
    layout: FrameLayout,
    out: np.ndarray,
    strain: np.ndarray,
) -> np.ndarray:
    """Write ∂p_i/∂r_j of every pair of one frame (and the centres' own, and strain).

    Args:
        contraction: the calculator's contraction.
        exp: the frame's expansion with gradient factors, over the plan's species slots.
        plan: the frame's gradient plan; ``layout`` its layout of the frame.
        out: flat (layout.size,), zero-initialised: gradients accumulate into it.
        strain: flat (layout.strain_size,) (overwritten), or size 0 to skip strain.

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
    args = (plan.arrays, plan.tables, frame, layout.output(out, strain))
    run_in_threads(pair_gradients, args, nl.offsets)
    return values


def _restricted_csr(x: np.ndarray, columns: np.ndarray, n_features: int, dtype) -> sp.csr_matrix:
    """CSR (n, n_features) of rows x (n, F') over global ``columns``, exact zeros dropped."""
    order = np.argsort(columns)
    n, width = x.shape
    out = sp.csr_matrix(
        (x[:, order].astype(dtype).ravel(), np.tile(columns[order], n), np.arange(n + 1) * width),
        shape=(n, n_features),
    )
    out.eliminate_zeros()
    return out
