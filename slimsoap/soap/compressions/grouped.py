"""Species maps: elements embedded in d_J dimensions, or grouped into shared channels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase.data import chemical_symbols

from slimsoap._validation import species_to_numbers
from slimsoap.soap.compressions.embeddings import check_embedding, embedding_matrix
from slimsoap.soap.compressions.maps import ChannelMap, make_block
from slimsoap.soap.compressions.spec import CompressionOptions, CompressionSpec, Context


@dataclass(frozen=True)
class EmbedOptions(CompressionOptions):
    """``embedding``: ``"atomic_number"`` (d_J = 2), ``"periodic_table"`` (d_J = 3) or an
    (S, d_J) matrix, one row per species in ascending-Z order."""

    embedding: str | np.ndarray | Sequence

    def validated(self, compression: str) -> EmbedOptions:
        check_embedding(self.embedding)
        return self


def build_embed(ctx: Context) -> ChannelMap:
    """ν=2 of the embedded densities c^J = Σ_α u_αJ c^α (paper §II.4)."""
    u = embedding_matrix(ctx.options.embedding, ctx.species_z)  # (S, d_J)
    w = np.kron(u, np.eye(ctx.n_max))
    names = [f"J{j}:n{n}" for j in range(u.shape[1]) for n in range(ctx.n_max)]
    return ChannelMap(
        [make_block(w, w, names, names, True) for _ in range(ctx.l_max + 1)], ctx.n_max
    )


def _check_groups(groups, option: str) -> None:
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Sequence) or not groups:
        raise ValueError(
            f"species_groups: {option} must be a non-empty list of lists of species, got {groups!r}"
        )
    for members in groups:
        if isinstance(members, (str, bytes)) or not isinstance(members, Sequence):
            raise ValueError(
                f"species_groups: each group of {option} must be a list of species, got {members!r}"
            )


@dataclass(frozen=True)
class GroupOptions(CompressionOptions):
    """``groups``: lists of species sharing a channel in density 1 (every species once);
    ``groups2``: the same for density 2 (default: ``groups``)."""

    groups: Sequence[Sequence[str | int]]
    groups2: Sequence[Sequence[str | int]] | None = None

    def validated(self, compression: str) -> GroupOptions:
        _check_groups(self.groups, "groups")
        if self.groups2 is not None:
            _check_groups(self.groups2, "groups2")
        return self


def group_matrix(groups: Sequence[Sequence[str | int]], species_z: np.ndarray) -> np.ndarray:
    """(S, G) one-hot map of each species to its group (GAP's Z_map); every species once."""
    g = np.zeros((len(species_z), len(groups)))
    where = {int(z): a for a, z in enumerate(species_z)}
    for k, members in enumerate(groups):
        for z in species_to_numbers(members):
            if int(z) not in where:
                raise ValueError(
                    f"species_groups: {chemical_symbols[z]} is not one of the calculator's "
                    f"species {[chemical_symbols[s] for s in species_z]}"
                )
            if g[where[int(z)]].any():
                raise ValueError(f"species_groups: {chemical_symbols[z]} is in two groups")
            g[where[int(z)], k] = 1.0
    missing = [chemical_symbols[species_z[a]] for a in np.flatnonzero(g.sum(1) == 0)]
    if missing:
        raise ValueError(f"species_groups: species {missing} are in no group")
    return g


def build_species_groups(ctx: Context) -> ChannelMap:
    """ν=2-like blocks of grouped densities; non-symmetric when ``groups2`` differs."""
    g1 = group_matrix(ctx.options.groups, ctx.species_z)
    groups2 = ctx.options.groups2
    g2 = g1 if groups2 is None else group_matrix(groups2, ctx.species_z)
    sym = groups2 is None or np.array_equal(g1, g2)

    def names(g, tag):
        return [f"{tag}{k}:n{n}" for k in range(g.shape[1]) for n in range(ctx.n_max)]

    w1, w2 = np.kron(g1, np.eye(ctx.n_max)), np.kron(g2, np.eye(ctx.n_max))
    n1 = names(g1, "G")
    n2 = n1 if sym else names(g2, "H")
    blocks = [make_block(w1, w1 if sym else w2, n1, n2, sym) for _ in range(ctx.l_max + 1)]
    return ChannelMap(blocks, ctx.n_max)


def _groups_examples(symbols):
    return [{"groups": [symbols[:1], symbols[1:]], "groups2": [symbols[:2], symbols[2:]]}]


SPECS = [
    CompressionSpec(
        "embed",
        build_embed,
        EmbedOptions,
        "ν=2 of elements embedded in d_J dimensions, ½N d_J(N d_J+1)(L+1)",
        example_options=lambda symbols: [{"embedding": "periodic_table"}],
    ),
    CompressionSpec(
        "species_groups",
        build_species_groups,
        GroupOptions,
        "ν=2 of species groups sharing a channel (GAP's Z_map), ½NG(NG+1)(L+1)",
        example_options=_groups_examples,
    ),
]
