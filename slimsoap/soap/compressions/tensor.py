"""Tensor-reduced compression: random mixing of element channels into K channels."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from slimsoap.soap.compressions.maps import ChannelMap, diagonal, make_block
from slimsoap.soap.compressions.random import random_matrix
from slimsoap.soap.compressions.spec import (
    CompressionOptions,
    CompressionSpec,
    Context,
    check_choice,
    check_count,
    check_seed,
)

#: What is mixed: species and radial channels together, species only, or radial only.
MIX = ("species_radial", "species", "radial")
#: How the mixed channels are coupled: all pairs (tensor) or channel by channel.
COUPLING = ("tensor", "elementwise")


@dataclass(frozen=True)
class TensorOptions(CompressionOptions):
    """``n_channels`` K ≥ 1; ``coupling`` (:data:`COUPLING`); ``sym_mix``: one random matrix
    for both densities (else two); ``mix`` (:data:`MIX`); ``seed`` ≥ 0."""

    n_channels: int
    coupling: str = "tensor"
    sym_mix: bool = True
    mix: str = "species_radial"
    seed: int = 0

    def validated(self, compression: str) -> TensorOptions:
        check_choice(compression, "coupling", self.coupling, COUPLING)
        check_choice(compression, "mix", self.mix, MIX)
        return dataclasses.replace(
            self,
            n_channels=check_count(compression, "n_channels", self.n_channels),
            sym_mix=bool(self.sym_mix),
            seed=check_seed(compression, self.seed),
        )


def _mixing(ctx: Context, stream: str, k: int) -> np.ndarray:
    """(C, M) random mixing of the element channels; M = K, K·N or S·K by ``mix``."""
    mix, seed = ctx.options.mix, ctx.options.seed
    if mix == "species_radial":
        return random_matrix(seed, stream, 0, (ctx.C, k))
    if mix == "species":
        return np.kron(random_matrix(seed, stream, 0, (ctx.S, k)), np.eye(ctx.n_max))
    return np.kron(np.eye(ctx.S), random_matrix(seed, stream, 0, (ctx.n_max, k)))


def build_tensor_reduced(ctx: Context) -> ChannelMap:
    """Same mixing W1 (and W2) for every l; triangle, full or diagonal entries."""
    k = ctx.options.n_channels
    sym = ctx.options.sym_mix
    w1 = _mixing(ctx, "tensor_reduced", k)
    w2 = w1 if sym else _mixing(ctx, "tensor_reduced_2", k)
    m = w1.shape[1]
    n1 = [f"mix:{j}" for j in range(m)]
    n2 = n1 if sym else [f"mix2:{j}" for j in range(m)]
    elementwise = ctx.options.coupling == "elementwise"
    blocks = [
        make_block(w1, w2, n1, n2, sym, diagonal(m) if elementwise else None)
        for _ in range(ctx.l_max + 1)
    ]
    return ChannelMap(blocks, ctx.n_max)


SPECS = [
    CompressionSpec(
        "tensor_reduced",
        build_tensor_reduced,
        TensorOptions,
        "random mixing into K channels, ½K(K+1)(L+1) (tensor) or K(L+1) (element-wise)",
        seeded=True,
        example_options=lambda symbols: [
            {"n_channels": 3},
            {"n_channels": 3, "sym_mix": False, "coupling": "elementwise"},
        ],
    ),
]
