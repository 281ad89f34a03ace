"""Random maps: the lossless compressions W^T P_l and Q^T P_l Q (paper §II.2).

Both compress only the l with 2l+1 < S·N; any other l is stored as the ν=2 block, which is
then the shorter form.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slimsoap.soap.compressions.densities import element_names, nu2_block
from slimsoap.soap.compressions.maps import Block, ChannelMap, make_block, triangle
from slimsoap.soap.compressions.spec import CompressionSpec, Context, Recovery, SeedOptions

#: Random streams: one per use, so that maps of different compressions are independent.
STREAMS = {"random": 1, "random_sym": 2, "tensor_reduced": 3, "tensor_reduced_2": 4}


def random_matrix(seed: int, stream: str, l: int, shape: tuple[int, int]) -> np.ndarray:
    """Random weights, uniform on [-√3, √3) (unit variance), bit-identical on any machine.

    Built from the raw 64-bit output of PCG64 seeded through ``SeedSequence([seed, stream,
    l])`` (both stable across NumPy versions and platforms) with exact integer → float
    arithmetic only, so the same seed gives the same matrix everywhere.

    Args:
        seed: the calculator's seed (≥ 0).
        stream: a key of :data:`STREAMS`.
        l: angular momentum (or 0 for maps shared by every l).
        shape: (rows, columns) of the matrix.
    """
    ss = np.random.SeedSequence([int(seed), STREAMS[stream], int(l)])
    raw = np.random.PCG64(ss).random_raw(shape[0] * shape[1])
    u = (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53  # [0, 1), exact
    return ((2.0 * u - 1.0) * np.sqrt(3.0)).reshape(shape)


def compresses(ctx: Context, l: int) -> bool:
    """Whether ``random``/``random_sym`` compress this l (2l+1 < S·N, paper §II.2)."""
    return 2 * l + 1 < ctx.C


def _where_shorter(ctx: Context, block_of_l: Callable[[int], Block]) -> ChannelMap:
    """ν=2 blocks, except where 2l+1 < S·N: there ``block_of_l(l)``."""
    blocks = [block_of_l(l) if compresses(ctx, l) else nu2_block(ctx) for l in range(ctx.l_max + 1)]
    return ChannelMap(blocks, ctx.n_max)


def build_random(ctx: Context) -> ChannelMap:
    """B = P_l W, W a random S·N × (2l+1) matrix, stored whole."""

    def block(l):
        k = 2 * l + 1
        w = random_matrix(ctx.options.seed, "random", l, (ctx.C, k))
        return make_block(None, w, element_names(ctx), [f"rand:{j}" for j in range(k)], False)

    return _where_shorter(ctx, block)


def build_random_sym(ctx: Context) -> ChannelMap:
    """The first 2l+1 rows (upper triangle) of Q^T P_l Q, Q a random S·N × S·N matrix."""

    def block(l):
        k = 2 * l + 1
        q = random_matrix(ctx.options.seed, "random_sym", l, (ctx.C, ctx.C))
        names = [f"randQ:{j}" for j in range(ctx.C)]
        return make_block(q[:, :k], q, names[:k], names, False, triangle(k, ctx.C))

    return _where_shorter(ctx, block)


def _seeds(symbols):
    return [{"seed": 4}]


SPECS = [
    CompressionSpec(
        "random",
        build_random,
        SeedOptions,
        "W^T P_l with a random W (lossless, recoverable), NS(L+1)²",
        recoverable=True,
        seeded=True,
        recovery=Recovery("projected", random_map=True),
        example_options=_seeds,
    ),
    CompressionSpec(
        "random_sym",
        build_random_sym,
        SeedOptions,
        "first 2l+1 rows of Q^T P_l Q, random Q (lossless, recoverable), Σ_l (2l+1)(NS-l)",
        recoverable=True,
        seeded=True,
        recovery=Recovery("symmetric_rows", random_map=True),
        example_options=_seeds,
    ),
]
