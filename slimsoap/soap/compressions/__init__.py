"""The compression vocabulary (DESIGN §4): one registry of :class:`CompressionSpec`.

Each descriptor is a pair of per-l channel maps (:mod:`~slimsoap.soap.compressions.maps`)
fed to one contraction. A spec names a compression, builds its maps, validates its options
(a dataclass) and carries the capability flags (``recoverable``, ``needs_fit``,
``extra_basis``, ``seeded``) that the rest of slimsoap reads instead of names. Adding a
compression is :func:`register` of a spec; the tests are parametrised over :func:`names`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from slimsoap._registry import SpecRegistry
from slimsoap._validation import check_int, species_to_numbers
from slimsoap.soap.compressions import fitted, grouped, masked, mustar, paired, random, tensor
from slimsoap.soap.compressions.maps import ChannelMap
from slimsoap.soap.compressions.spec import CompressionSpec, Context

#: The vocabulary: every SOAP compression, by name.
_REGISTRY: SpecRegistry[CompressionSpec] = SpecRegistry("compression", CompressionSpec, True)
register, unregister, get, names = (
    _REGISTRY.register,
    _REGISTRY.unregister,
    _REGISTRY.get,
    _REGISTRY.names,
)


def build_channels(
    compression: str,
    species_z: np.ndarray,
    n_max: int,
    projection: np.ndarray,
    fitted: Mapping[str, np.ndarray] | None = None,
    **options,
) -> ChannelMap:
    """The channel maps of ``compression``.

    Args:
        compression: a registered name.
        species_z: (S,) atomic numbers, ascending.
        n_max: N, radial functions of the element basis.
        projection: (L+1, N) unit-sphere projection weights h_nl (ones for GAP's "sum").
        fitted: arrays learnt by the spec's fit (``needs_fit`` compressions), by name.
        options: the compression's options (its spec's options dataclass).
    """
    spec = get(compression)
    projection = np.asarray(projection, dtype=np.float64)
    ctx = Context(
        np.asarray(species_z),
        int(n_max),
        projection.shape[0] - 1,
        projection,
        spec.parse(options),
        dict(fitted or {}),
    )
    return spec.build(ctx)


def descriptor_length(compression: str, n_max: int, l_max: int, n_species: int, **options) -> int:
    """Length of the SOAP descriptor ``compression`` without building a calculator.

    ``options`` are the compression's options (``embedding`` for ``embed`` — a preset name
    or an (n_species, d_J) matrix —, ``n_channels`` for ``tensor_reduced``, ...). For
    ``species_groups``, ``groups`` lists the species themselves, and for
    ``species_weighting`` (nu1mu1, mu2) its keys are the species. Example:
    ``descriptor_length("nu2", n_max=8, l_max=6, n_species=5) == 5740``.
    """
    n_max = check_int("n_max", n_max, 1)
    l_max = check_int("l_max", l_max, 0)
    n_species = check_int("n_species", n_species, 1)
    if "groups" in options:
        members = [s for g in options["groups"] for s in g]
        species_z = species_to_numbers(members)
        if len(species_z) != n_species:
            raise ValueError(f"groups list {len(species_z)} species, n_species={n_species}")
    elif options.get("species_weighting") is not None:
        species_z = species_to_numbers(list(options["species_weighting"]))
        if len(species_z) != n_species:
            raise ValueError(
                f"species_weighting lists {len(species_z)} species, n_species={n_species}"
            )
    else:
        species_z = np.arange(1, n_species + 1)
    maps = build_channels(compression, species_z, n_max, np.ones((l_max + 1, n_max)), **options)
    return maps.n_features


for _module in (paired, random, masked, grouped, tensor, fitted, mustar):
    for _spec in _module.SPECS:
        register(_spec)
del _module, _spec

__all__ = [
    "ChannelMap",
    "CompressionSpec",
    "build_channels",
    "descriptor_length",
    "get",
    "names",
    "register",
    "unregister",
]
