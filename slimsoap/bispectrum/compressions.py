"""The bispectrum compression vocabulary: three channel maps per compression (family ν+μ = 3).

Each factor of B[a,b,c; l1,l2,l3] = Σ_m G[m1,m2,m3] (X_l1 W1)[m1,a] (X_l2 W2)[m2,b]
(X_l3 W3)[m3,c] is one of the densities of DESIGN §4, as a map W_l (S·N × K) on the columns
of X_l (species outer, radial inner):

- ``"element"`` (ν): identity, K = S·N, channels ``"<El>:n<k>"``;
- ``"element_proj"`` (ν̂): W[αN+n, α] = h_nl, K = S, channels ``"<El>:proj"``;
- ``"total"`` (μ): W[αN+n, n] = 1, K = N, channels ``"total:n<k>"``;
- ``"total_proj"`` (μ̂): W[αN+n, 0] = h_nl, K = 1, channel ``"total:proj"``;
- ``"random"``: a seeded random S·N × K matrix per l (entries of variance 1/(S·N)),
  channels ``"rand:<k>"``.

A compression is a registered :class:`BispectrumCompression`: its name, its three densities
(equal densities adjacent), a validated options dataclass and capability flags. Code outside
this module reads the spec, never the name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from math import comb

import numpy as np
from ase.data import chemical_symbols

from slimsoap._registry import SpecRegistry
from slimsoap._validation import check_int

#: Density names, in the order factors are listed in a spec.
DENSITIES = ("element", "element_proj", "total", "total_proj", "random")


@dataclass(frozen=True)
class NoOptions:
    """The compression takes no options."""


@dataclass(frozen=True)
class RandomOptions:
    """Options of ``random``: ``seed`` (≥ 0) of the maps, ``n_channels`` K per factor
    (default n_max)."""

    seed: int = 0
    n_channels: int | None = None


@dataclass(frozen=True)
class BispectrumCompression:
    """A registered bispectrum compression.

    Attributes:
        name: registry key.
        densities: the density of factors 1, 2, 3 (names of :data:`DENSITIES`); equal
            densities are adjacent, so factors k and k+1 share a map exactly when their
            densities are equal.
        options: dataclass of the options it accepts.
        seeded: its maps come from ``options.seed``.
        recoverable, needs_fit, extra_basis: flags of the SOAP vocabulary's shape (always
            False here: no bispectrum compression is inverted, fitted, or uses a second basis).
    """

    name: str
    densities: tuple[str, str, str]
    options: type = NoOptions
    seeded: bool = False
    recoverable: bool = False
    needs_fit: bool = False
    extra_basis: bool = False

    @property
    def equal(self) -> tuple[bool, bool]:
        """(factor 1 = factor 2, factor 2 = factor 3): the maps that are shared."""
        d = self.densities
        return d[0] == d[1], d[1] == d[2]


def _spec(name, *densities, **kw):
    return BispectrumCompression(name, tuple(densities), **kw)


#: Every bispectrum compression by name.
REGISTRY: SpecRegistry[BispectrumCompression] = SpecRegistry(
    "bispectrum compression", BispectrumCompression, sort_names=True
)
for _c in (
    _spec("nu3", "element", "element", "element"),
    _spec("nu2mu1", "element", "element", "total"),
    _spec("nu1mu2", "element", "total", "total"),
    _spec("mu3", "total", "total", "total"),
    _spec("nu2muhat1", "element", "element", "total_proj"),
    _spec("nu1mu1muhat1", "element", "total", "total_proj"),
    _spec("nu1muhat2", "element", "total_proj", "total_proj"),
    _spec("nuhat1mu2", "element_proj", "total", "total"),
    _spec("mu2muhat1", "total", "total", "total_proj"),
    _spec("nuhat3", "element_proj", "element_proj", "element_proj"),
    _spec("muhat3", "total_proj", "total_proj", "total_proj"),
    _spec("random", "random", "random", "random", options=RandomOptions, seeded=True),
):  # known densities, equal ones adjacent
    if any(d not in DENSITIES for d in _c.densities) or (
        _c.densities[0] == _c.densities[2] != _c.densities[1]
    ):
        raise ValueError(f"malformed bispectrum compression spec {_c}")
    REGISTRY.register(_c)


def compression_spec(name: str) -> BispectrumCompression:
    """The registered spec of ``name``; ValueError listing the valid names otherwise."""
    return REGISTRY.get(name)


def resolve_options(name: str, options: dict):
    """Validated options dataclass of compression ``name`` from keyword ``options``."""
    spec = compression_spec(name)
    valid = {f.name for f in dataclasses.fields(spec.options)}
    unknown = sorted(set(options) - valid)
    if unknown:
        allowed = ", ".join(sorted(valid)) if valid else "none"
        raise ValueError(f"{name} does not take option(s) {unknown}; its options: {allowed}")
    out = spec.options(**options)
    if isinstance(out, RandomOptions):
        if isinstance(out.seed, bool) or not isinstance(out.seed, (int, np.integer)):
            raise ValueError(f"seed must be a non-negative integer, got {out.seed!r}")
        check_int("seed", out.seed, 0)
        if out.n_channels is not None:
            check_int("n_channels", out.n_channels, 1)
    return out


def channel_count(density: str, n_max: int, n_species: int, options) -> int:
    """K, the number of channels of one factor of that density."""
    if density == "random":
        return n_max if options.n_channels is None else int(options.n_channels)
    return {
        "element": n_species * n_max,
        "element_proj": n_species,
        "total": n_max,
        "total_proj": 1,
    }[density]


def _choose(k: int, r: int, strict: bool) -> int:
    """Number of r-tuples of k channels, non-decreasing (or increasing when ``strict``)."""
    return comb(k, r) if strict else comb(k + r - 1, r)


def bispectrum_length(
    compression: str, n_max: int, l_max: int, n_species: int, parity: str = "even", **options
) -> int:
    """Descriptor length, from closed formulas per (l1, l2, l3) block.

    A block with three different factors holds K1·K2·K3 entries and runs over every ordered
    (l1, l2, l3) of the triangle rule (and of the parity). Where factors k, k+1 share a map,
    only l_k ≤ l_k+1 is kept and, when l_k = l_k+1, only the channel tuples with a ≤ b
    (a < b when l1+l2+l3 is odd, where those entries are antisymmetric):
    ½K(K+1) (or ½K(K-1)) pairs; three equal l of one map give C(K+2, 3) (or C(K, 3)).
    """
    spec = compression_spec(compression)
    opts = resolve_options(compression, options)
    check_parity(parity)
    K = [channel_count(d, n_max, n_species, opts) for d in spec.densities]
    total = 0
    for l1, l2, l3 in coupled_triples(l_max, spec.equal, parity):
        odd = (l1 + l2 + l3) % 2 == 1
        groups = _equal_runs((l1, l2, l3), spec.equal)
        count = 1
        for start, size in groups:
            count *= _choose(K[start], size, odd) if size > 1 else K[start]
        total += count
    return total


def check_parity(parity: str) -> str:
    """``"even"`` (O(3) invariants) or ``"all"`` (SO(3), with the odd pseudoscalars)."""
    if parity not in ("even", "all"):
        raise ValueError(f"parity must be 'even' or 'all', got {parity!r}")
    return parity


def coupled_triples(
    l_max: int, equal: tuple[bool, bool], parity: str
) -> list[tuple[int, int, int]]:
    """The stored (l1, l2, l3) blocks, in lexicographic order: triangle rule, l1+l2+l3 even
    unless ``parity="all"``, l1 ≤ l2 where factors 1, 2 share a map, l2 ≤ l3 where 2, 3 do."""
    out = []
    for l1 in range(l_max + 1):
        for l2 in range(l1 if equal[0] else 0, l_max + 1):
            for l3 in range(l2 if equal[1] else 0, l_max + 1):
                if not abs(l1 - l2) <= l3 <= l1 + l2:
                    continue
                if parity == "even" and (l1 + l2 + l3) % 2:
                    continue
                out.append((l1, l2, l3))
    return out


def _equal_runs(ls: tuple[int, int, int], equal: tuple[bool, bool]) -> list[tuple[int, int]]:
    """(first factor, size) of the runs of factors with one map and one l."""
    runs = [[0, 1]]
    for k in (1, 2):
        if equal[k - 1] and ls[k] == ls[k - 1]:
            runs[-1][1] += 1
        else:
            runs.append([k, 1])
    return [tuple(r) for r in runs]


def block_entries(
    ls: tuple[int, int, int], equal: tuple[bool, bool], K: tuple[int, int, int]
) -> np.ndarray:
    """(n_entries, 3) channel tuples (a, b, c) stored for block ``ls``, in lexicographic
    order: a ≤ b where factors 1, 2 share map and l, b ≤ c likewise for 2, 3 (strict when
    l1+l2+l3 is odd)."""
    odd = (ls[0] + ls[1] + ls[2]) % 2 == 1
    a, b, c = np.meshgrid(np.arange(K[0]), np.arange(K[1]), np.arange(K[2]), indexing="ij")
    keep = np.ones(a.shape, dtype=bool)
    if equal[0] and ls[0] == ls[1]:
        keep &= (a < b) if odd else (a <= b)
    if equal[1] and ls[1] == ls[2]:
        keep &= (b < c) if odd else (b <= c)
    return np.stack([a[keep], b[keep], c[keep]], axis=1).astype(np.int64)


@dataclass
class FactorMaps:
    """The three channel maps of one calculator.

    Attributes:
        maps: three lists of L+1 arrays W_l (S·N, K_k) (shared objects where factors share
            a map).
        labels: three lists of K_k channel names.
        equal: (factor 1 = 2, factor 2 = 3).
    """

    maps: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]
    labels: tuple[list[str], list[str], list[str]]
    equal: tuple[bool, bool]

    @property
    def channels(self) -> tuple[int, int, int]:
        """(K1, K2, K3)."""
        return tuple(len(lab) for lab in self.labels)


def random_map(seed: int, l: int, shape: tuple[int, int]) -> np.ndarray:
    """Seeded (S·N, K) matrix of variance-1/(S·N) entries, uniform on [-√3, √3)/√(S·N):
    built from PCG64's raw 64-bit integers with exact arithmetic, so one seed gives the same
    map on every machine."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 3, int(l)])))
    raw = rng.integers(0, 2**53, size=shape, dtype=np.int64).astype(np.float64)
    return (raw / 2.0**52 - 1.0) * np.sqrt(3.0 / shape[0])


def density_map(
    density: str, species_z: np.ndarray, n_max: int, h: np.ndarray, l: int, options
) -> tuple[np.ndarray, list[str]]:
    """W_l (S·N, K) and channel names of one density at angular momentum l.

    ``h`` (L+1, N) holds the unit-sphere projection weights h_nl.
    """
    S, N = len(species_z), n_max
    symbols = [chemical_symbols[z] for z in species_z]
    if density == "element":
        return np.eye(S * N), [f"{e}:n{n}" for e in symbols for n in range(N)]
    if density == "element_proj":
        return np.kron(np.eye(S), h[l][:, None]), [f"{e}:proj" for e in symbols]
    if density == "total":
        return np.kron(np.ones((S, 1)), np.eye(N)), [f"total:n{n}" for n in range(N)]
    if density == "total_proj":
        return np.tile(h[l], S)[:, None], ["total:proj"]
    K = channel_count("random", N, S, options)
    return random_map(options.seed, l, (S * N, K)), [f"rand:{k}" for k in range(K)]


def build_maps(
    compression: str, options, species_z: np.ndarray, n_max: int, h: np.ndarray
) -> FactorMaps:
    """The three factors' maps for every l (0..len(h)-1) of ``compression``."""
    spec = compression_spec(compression)
    built: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    for d in spec.densities:
        if d not in built:
            per_l = [density_map(d, species_z, n_max, h, l, options) for l in range(len(h))]
            built[d] = ([w for w, _ in per_l], per_l[0][1])
    maps = tuple(built[d][0] for d in spec.densities)
    labels = tuple(built[d][1] for d in spec.densities)
    return FactorMaps(maps, labels, spec.equal)
