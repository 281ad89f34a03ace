"""ν,μ* (paper §II.3): the element density against the total density expanded with 2l+1
radial functions at each l — from a second basis (default) or from the element basis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slimsoap.soap.compressions.densities import element_names
from slimsoap.soap.compressions.maps import ChannelMap, make_block
from slimsoap.soap.compressions.spec import (
    CompressionOptions,
    CompressionSpec,
    Context,
    Recovery,
    check_choice,
)

#: Where μ*'s 2l+1 radial functions come from.
MUSTAR_BASES = ("separate", "element")


@dataclass(frozen=True)
class MustarOptions(CompressionOptions):
    """``mustar_basis``: ``"separate"`` (a second basis with 2L+1 functions; not
    recoverable) or ``"element"`` (the first 2l+1 element functions; needs N ≥ 2L+1;
    recoverable)."""

    mustar_basis: str = "separate"

    def validated(self, compression: str) -> MustarOptions:
        check_choice(compression, "mustar_basis", self.mustar_basis, MUSTAR_BASES)
        return self

    def disabled(self) -> dict[str, str]:
        if self.mustar_basis == "separate":
            return {
                "recoverable": "nu1mustar1 with a separate μ* basis is not recoverable: its "
                "total density is not a linear function of the element coefficients, so "
                "(X_l^T T) does not fix T^T T. Use mustar_basis='element' (needs n_max ≥ "
                "2·l_max+1)."
            }
        return {"extra_basis": "mustar_basis='element' takes μ* from the element basis"}


def _element_mustar(ctx: Context) -> ChannelMap:
    N, S, L = ctx.n_max, ctx.S, ctx.l_max
    if N < 2 * L + 1:
        raise ValueError(
            f"nu1mustar1 with mustar_basis='element' needs n_max ≥ 2·l_max+1 = {2 * L + 1} "
            f"radial functions, got n_max={N}; raise n_max or use mustar_basis='separate'"
        )
    blocks = []
    for l in range(L + 1):
        k = 2 * l + 1
        w2 = np.tile(np.eye(N)[:, :k], (S, 1))
        names2 = [f"total:n{n}" for n in range(k)]
        blocks.append(make_block(None, w2, element_names(ctx), names2, False))
    return ChannelMap(blocks, N)


def _separate_mustar(ctx: Context) -> ChannelMap:
    N, S, L = ctx.n_max, ctx.S, ctx.l_max
    extra = 2 * L + 1
    ext = N + extra
    w1 = np.zeros((S * ext, S * N))
    for a in range(S):
        w1[a * ext : a * ext + N, a * N : (a + 1) * N] = np.eye(N)
    blocks = []
    for l in range(L + 1):
        k = 2 * l + 1
        w2 = np.zeros((S * ext, k))
        for a in range(S):
            w2[a * ext + N : a * ext + N + k] = np.eye(k)
        names2 = [f"total*:n{n}" for n in range(k)]
        blocks.append(make_block(w1, w2, element_names(ctx), names2, False))
    return ChannelMap(blocks, ext, n_extra=extra)


def build_nu1mustar1(ctx: Context) -> ChannelMap:
    """Blocks X_l^T T_l (S·N × (2l+1)), stored whole."""
    if ctx.options.mustar_basis == "element":
        return _element_mustar(ctx)
    return _separate_mustar(ctx)


SPECS = [
    CompressionSpec(
        "nu1mustar1",
        build_nu1mustar1,
        MustarOptions,
        "ν,μ*=1,1: element × total density in 2l+1 radial functions, NS(L+1)²",
        recoverable=True,
        extra_basis=True,
        recovery=Recovery("projected", random_map=False),
        example_options=lambda symbols: [{}, {"mustar_basis": "element", "n_max": 5}],
    ),
]
