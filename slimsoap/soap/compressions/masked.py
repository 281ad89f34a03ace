"""Subsets of the ν=2 triangle: keep α = β blocks, or n = n' entries."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slimsoap.soap.compressions.densities import element_names
from slimsoap.soap.compressions.maps import ChannelMap, make_block, triangle
from slimsoap.soap.compressions.spec import CompressionSpec, Context, NoOptions


def masked(keep: Callable[[np.ndarray, np.ndarray, int], np.ndarray]):
    """Builder of the ν=2 triangle restricted to the entries (a, b) where
    ``keep(a, b, N)`` (element channel indices a, b = species·N + n)."""

    def build(ctx: Context) -> ChannelMap:
        names = element_names(ctx)
        rows, cols, scale = triangle(ctx.C, ctx.C)
        k = keep(rows, cols, ctx.n_max)
        pattern = rows[k], cols[k], scale[k]
        blocks = [make_block(None, None, names, names, True, pattern) for _ in range(ctx.l_max + 1)]
        return ChannelMap(blocks, ctx.n_max)

    return build


SPECS = [
    CompressionSpec(
        "species_diagonal",
        masked(lambda a, b, n: a // n == b // n),
        NoOptions,
        "ν=2 with α = β blocks only (DScribe's crossover=False), S·½N(N+1)(L+1)",
    ),
    CompressionSpec(
        "diagonal_radial",
        masked(lambda a, b, n: a % n == b % n),
        NoOptions,
        "ν=2 with n = n' only, ½S(S+1)·N(L+1)",
    ),
]
