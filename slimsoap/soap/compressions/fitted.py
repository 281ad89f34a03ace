"""Data-driven maps: ``optimal_radial``, the leading principal components of the
coefficients per l, mixing species and radial channels (Goscinski et al. 2021).

The fitted state is ``{"components.l<l>": (S·N, u) array}`` with u = min(n_components, S·N);
it is not an option (``SOAP.fitted_arrays`` / ``SOAP.restore_fitted`` carry it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from slimsoap.soap.compressions.maps import ChannelMap, make_block
from slimsoap.soap.compressions.spec import (
    CompressionOptions,
    CompressionSpec,
    Context,
    check_count,
)


@dataclass(frozen=True)
class OptimalRadialOptions(CompressionOptions):
    """``n_components`` u ≥ 1 (at most S·N are kept)."""

    n_components: int

    def validated(self, compression: str) -> OptimalRadialOptions:
        u = check_count(compression, "n_components", self.n_components)
        return dataclasses.replace(self, n_components=u)


def _keys(ctx: Context) -> list[str]:
    return [f"components.l{l}" for l in range(ctx.l_max + 1)]


def fit_components(ctx: Context, coefficients: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """Per l, the leading principal directions of the coefficients.

    The second-moment matrix M_l = Σ_centres X_l^T X_l (S·N × S·N, summed over m, so it is
    rotation invariant and mixes species and radial channels) is diagonalised; the u
    eigenvectors of largest eigenvalue (sign fixed: largest entry positive) become W_l.

    Args:
        coefficients: (n_atoms, S, N, (L+1)²) arrays, one per frame.
    """
    C = ctx.C
    moments = np.zeros((ctx.l_max + 1, C, C))
    for c in coefficients:
        for l in range(ctx.l_max + 1):
            xt = c[..., l * l : (l + 1) ** 2].reshape(len(c), C, 2 * l + 1)
            moments[l] += np.einsum("iam,ibm->ab", xt, xt)
    u = min(ctx.options.n_components, C)
    out = {}
    for key, m in zip(_keys(ctx), moments):
        w, v = np.linalg.eigh(m)
        v = v[:, ::-1][:, :u]
        sign = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(u)])
        out[key] = v * np.where(sign == 0, 1.0, sign)
    return out


def build_optimal_radial(ctx: Context) -> ChannelMap:
    """Symmetric blocks W_l^T P_l W_l; zero maps of the right shape before a fit."""
    u = min(ctx.options.n_components, ctx.C)
    keys = _keys(ctx)
    if ctx.fitted and sorted(ctx.fitted) != sorted(keys):
        raise ValueError(f"optimal_radial: fitted arrays must be {keys}, got {sorted(ctx.fitted)}")
    blocks = []
    for key in keys:
        w = ctx.fitted[key] if ctx.fitted else np.zeros((ctx.C, u))
        if w.shape != (ctx.C, u):
            raise ValueError(
                f"optimal_radial: {key} must have shape (S·N={ctx.C}, {u}), got {w.shape}"
            )
        names = [f"pca:{j}" for j in range(u)]
        blocks.append(make_block(w, w, names, names, True))
    return ChannelMap(blocks, ctx.n_max)


SPECS = [
    CompressionSpec(
        "optimal_radial",
        build_optimal_radial,
        OptimalRadialOptions,
        "ν=2 of the u leading principal components per l (fitted), ½u(u+1)(L+1)",
        needs_fit=True,
        fit=fit_components,
        example_options=lambda symbols: [{"n_components": 3}],
    ),
]
