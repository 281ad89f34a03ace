"""Descriptors as torch tensors with autograd through positions and strain (extra ``torch``).

:func:`descriptors` returns the (n_atoms, n_features) descriptors of a list of frames as a
tensor that depends on a ``positions`` tensor (n_atoms, 3), in Å, and optionally on a
``strain`` tensor (n_frames, 3, 3), ε: every frame is evaluated at r → (1 + ε) r, its cell
likewise. The backward pass contracts the upstream gradient G = ∂L/∂x (n_atoms, n_features)
with slimsoap's stored pair gradients and strain gradients, so a torch model's forces
F = -∂E/∂r and virial ∂E/∂ε (stress = ∂E/∂ε / V) come from ``torch.autograd``::

    ∂L/∂r'_k = Σ_pairs (i, k) ∂x_i/∂r_k · G_i,      ∂L/∂δ_ba = Σ_i strain_i[a, b] · G_i,

at the deformed positions r' = (1 + ε) r, then ∂L/∂r = (1 + ε)ᵀ ∂L/∂r' and
∂L/∂ε = (∂L/∂δ)(1 + ε)⁻ᵀ. The backward pass is itself differentiable with respect to G
(``create_graph=True``), so a loss on forces trains the model; second derivatives of the
descriptors with respect to positions are not available (the pair gradients are held
constant there), so Hessians of a model through :func:`descriptors` are not supported.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from ase import Atoms

from slimsoap._validation import as_frames
from slimsoap.features import Features, SparseGradients


def _deformed(frames: list[Atoms], positions: np.ndarray, strain: np.ndarray | None):
    """Copies of ``frames`` at ``positions`` (n_atoms, 3), each deformed by (1 + ε_f)."""
    out, start = [], 0
    for f, atoms in enumerate(frames):
        a = atoms.copy()
        a.calc = None
        r = positions[start : start + len(a)]
        if strain is not None:
            m = np.eye(3) + strain[f]
            a.set_cell(np.asarray(a.cell) @ m.T, scale_atoms=False)
            r = r @ m.T
        a.positions = r
        out.append(a)
        start += len(a)
    return out


def _pair_pullback(grads, pairs: np.ndarray, g: torch.Tensor, n_atoms: int) -> torch.Tensor:
    """(n_atoms, 3) Σ_pairs (i, k) ∂x_i/∂r_k · g_i, differentiable in g (n_rows, F)."""
    out = g.new_zeros((n_atoms, 3))
    atoms = torch.as_tensor(pairs[:, 1])
    if isinstance(grads, SparseGradients):
        csr = grads.tocsr()  # (3·n_pairs, F)
        rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
        values = torch.as_tensor(csr.data, dtype=g.dtype)
        centre = torch.as_tensor(pairs[rows // 3, 0])
        terms = values * g[centre, torch.as_tensor(csr.indices)]
        per_pair = g.new_zeros(csr.shape[0]).index_add(0, torch.as_tensor(rows), terms)
        return out.index_add(0, atoms, per_pair.reshape(-1, 3))
    dense = torch.as_tensor(np.asarray(grads), dtype=g.dtype)
    per_pair = torch.einsum("pdf,pf->pd", dense, g[torch.as_tensor(pairs[:, 0])])
    return out.index_add(0, atoms, per_pair)


def _strain_pullback(strain, frame_index: np.ndarray, g: torch.Tensor, n_frames: int):
    """(n_frames, 3, 3) ∂L/∂δ[b, a] = Σ_i strain_i[a, b] · g_i, differentiable in g."""
    if isinstance(strain, SparseGradients):
        csr = strain.tocsr()  # (9·n_rows, F)
        rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
        values = torch.as_tensor(csr.data, dtype=g.dtype)
        terms = values * g[torch.as_tensor(rows // 9), torch.as_tensor(csr.indices)]
        per_row = g.new_zeros(csr.shape[0]).index_add(0, torch.as_tensor(rows), terms)
        per_row = per_row.reshape(-1, 3, 3)
    else:
        dense = torch.as_tensor(np.asarray(strain), dtype=g.dtype)
        per_row = torch.einsum("iabf,if->iab", dense, g)
    out = g.new_zeros((n_frames, 3, 3)).index_add(0, torch.as_tensor(frame_index), per_row)
    return out.transpose(1, 2)


class _Descriptors(torch.autograd.Function):
    """x(r, ε) from a slimsoap calculator; backward through the stored gradients."""

    @staticmethod
    def forward(ctx, positions, strain, calculator, frames, sparse):
        eps = None if strain is None else strain.detach().cpu().numpy().astype(np.float64)
        moved = _deformed(frames, positions.detach().cpu().numpy().astype(np.float64), eps)
        feats: Features = calculator.compute(
            moved, gradients=True, sparse=sparse, strain=strain is not None
        )
        ctx.feats = feats
        ctx.n_frames = len(frames)
        ctx.save_for_backward(strain)
        values = feats.values.toarray() if sparse else feats.values
        return torch.as_tensor(np.asarray(values), dtype=positions.dtype)

    @staticmethod
    def backward(ctx, grad_values):
        (strain,) = ctx.saved_tensors
        feats: Features = ctx.feats
        n_atoms = len(feats.frame_index)
        grad_r = grad_s = None
        m = None
        if strain is not None:
            m = torch.eye(3, dtype=strain.dtype) + strain
        if ctx.needs_input_grad[0]:
            g = _pair_pullback(feats.gradients, feats.gradient_pairs, grad_values, n_atoms)
            if m is not None:  # ∂L/∂r = (1 + ε)ᵀ ∂L/∂r', row vectors: g @ (1 + ε)
                g = torch.einsum("id,idc->ic", g, m[torch.as_tensor(feats.frame_index)])
            grad_r = g
        if strain is not None and ctx.needs_input_grad[1]:
            g_delta = _strain_pullback(
                feats.strain_gradients, feats.frame_index, grad_values, ctx.n_frames
            )
            grad_s = g_delta @ torch.linalg.inv(m).transpose(1, 2)
        return grad_r, grad_s, None, None, None


def descriptors(
    calculator,
    frames: Atoms | Sequence[Atoms],
    positions: torch.Tensor | None = None,
    strain: torch.Tensor | None = None,
    sparse: bool = False,
) -> torch.Tensor:
    """The calculator's descriptors of ``frames`` as a differentiable tensor.

    Args:
        calculator: any slimsoap calculator whose ``compute`` takes ``gradients=True`` and
            ``strain`` (SOAP; ``sparse`` for SOAP's species-block sparse gradients).
        frames: the structures (species, cells, periodicity are read from them).
        positions: (n_atoms, 3) tensor of every frame's positions in Å, concatenated in
            order; default: the frames' own positions (a tensor without gradient).
        strain: optional (n_frames, 3, 3) tensor ε, each frame evaluated at (1 + ε) r with
            cell (1 + ε) h; pass zeros with ``requires_grad`` to get ∂E/∂ε (the virial).
        sparse: compute the gradients in slimsoap's sparse layout (less memory for maps
            that keep species apart; same numbers).

    Returns:
        (n_atoms, n_features) tensor, in ``positions``' dtype.
    """
    frames = as_frames(frames)
    n_atoms = sum(len(a) for a in frames)
    if positions is None:
        positions = torch.as_tensor(np.concatenate([a.positions for a in frames]))
    if tuple(positions.shape) != (n_atoms, 3):
        raise ValueError(
            f"positions must have shape ({n_atoms}, 3) for these frames, got "
            f"{tuple(positions.shape)}"
        )
    if strain is not None and tuple(strain.shape) != (len(frames), 3, 3):
        raise ValueError(
            f"strain must have shape ({len(frames)}, 3, 3), one ε per frame, got "
            f"{tuple(strain.shape)}"
        )
    return _Descriptors.apply(positions, strain, calculator, frames, sparse)
