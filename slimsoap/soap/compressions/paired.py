"""Compressions made of two of the four densities (paper Table 1, GAP's nu_R, nu_S)."""

from __future__ import annotations

from slimsoap.soap.compressions.densities import (
    Density,
    element,
    element_projected,
    total,
    total_projected,
)
from slimsoap.soap.compressions.maps import ChannelMap, make_block
from slimsoap.soap.compressions.spec import CompressionSpec, Context, NoOptions


def paired(d1: Density, d2: Density):
    """Builder of p_l = (X_l D1_l)^T (X_l D2_l); symmetric (triangle) when D1 is D2."""

    def build(ctx: Context) -> ChannelMap:
        blocks = []
        for l in range(ctx.l_max + 1):
            w1, n1 = d1(ctx, l)
            w2, n2 = (w1, n1) if d1 is d2 else d2(ctx, l)
            blocks.append(make_block(w1, w2, n1, n2, d1 is d2))
        return ChannelMap(blocks, ctx.n_max)

    return build


def _spec(name: str, d1: Density, d2: Density, description: str, **kwargs) -> CompressionSpec:
    return CompressionSpec(name, paired(d1, d2), NoOptions, description, **kwargs)


SPECS = [
    _spec("nu2", element, element, "ν=2: the full power spectrum, ½NS(NS+1)(L+1)"),
    _spec("nu1mu1", element, total, "ν,μ=1,1: element × total density, N²S(L+1)"),
    _spec("mu2", total, total, "μ=2: the element-agnostic spectrum, ½N(N+1)(L+1)"),
    _spec("nu1nuhat1", element, element_projected, "ν,ν̂=1,1: element × projected, NS²(L+1)"),
    _spec("nu1muhat1", element, total_projected, "ν,μ̂=1,1: element × total projected, NS(L+1)"),
    _spec("nuhat1mu1", element_projected, total, "ν̂,μ=1,1: projected × total, SN(L+1)"),
    _spec("mu1muhat1", total, total_projected, "μ,μ̂=1,1: total × total projected, N(L+1)"),
    _spec("nuhat2", element_projected, element_projected, "ν̂=2: projected, ½S(S+1)(L+1)"),
    _spec(
        "nuhat1muhat1",
        element_projected,
        total_projected,
        "ν̂,μ̂=1,1: projected × total projected, S(L+1)",
    ),
    _spec(
        "muhat2",
        total_projected,
        total_projected,
        "μ̂=2: total projected density squared, L+1",
        example_options=lambda symbols: [{"projection": "sum"}],
    ),
]
