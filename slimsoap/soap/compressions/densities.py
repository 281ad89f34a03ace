"""The four densities of the paper (element ν, element projected ν̂, total μ, total
projected μ̂) as maps over the S·N element channels, and the ν=2 block."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slimsoap.soap.compressions.maps import Block, make_block
from slimsoap.soap.compressions.spec import Context

#: A density: ``density(ctx, l) -> (map (C, K) or None for the identity, K channel names)``.
Density = Callable[[Context, int], tuple[np.ndarray | None, list[str]]]


def element_names(ctx: Context) -> list[str]:
    """Names of the S·N element channels, ``"<El>:n<k>"``."""
    return [f"{s}:n{n}" for s in ctx.symbols for n in range(ctx.n_max)]


def element(ctx: Context, l: int) -> tuple[None, list[str]]:
    """ν: the S·N element channels themselves (identity map)."""
    return None, element_names(ctx)


def total(ctx: Context, l: int) -> tuple[np.ndarray, list[str]]:
    """μ: the N radial channels summed over species, (C, N)."""
    return np.tile(np.eye(ctx.n_max), (ctx.S, 1)), [f"total:n{n}" for n in range(ctx.n_max)]


def element_projected(ctx: Context, l: int) -> tuple[np.ndarray, list[str]]:
    """ν̂: per species, Σ_n h_nl c_nlm, (C, S)."""
    w = np.kron(np.eye(ctx.S), ctx.projection[l][:, None])
    return w, [f"{s}:proj" for s in ctx.symbols]


def total_projected(ctx: Context, l: int) -> tuple[np.ndarray, list[str]]:
    """μ̂: Σ_α Σ_n h_nl c^α_nlm, (C, 1)."""
    return np.tile(ctx.projection[l], ctx.S)[:, None], ["total:proj"]


def nu2_block(ctx: Context) -> Block:
    """The ν=2 block of any l: identity maps, upper triangle."""
    names = element_names(ctx)
    return make_block(None, None, names, names, True)
