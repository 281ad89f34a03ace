"""The compression vocabulary: each descriptor is a pair of per-l channel maps (DESIGN §2, §4).

For each l, X_l is the (2l+1) × C matrix of coefficients, C = S·N columns (species outer,
radial inner). A compression picks, per l, a :class:`Block`: W1_l (C × K1), W2_l (C × K2) and
which entries of p_l = (X_l W1_l)^T (X_l W2_l) are stored. ``None`` stands for the identity
(the element density). Every name of :data:`COMPRESSIONS` builds such maps; the contraction
(:mod:`slimsoap.contraction`) is the same for all of them.

Stored entries ("packing"): a symmetric block (W1 = W2) keeps its upper triangle with
off-diagonal entries ×√2, so dot products of packed vectors equal Σ_ab p[a,b] p'[a,b]; a
non-symmetric block is stored whole, row-major. Truncations (``random_sym`` keeps the first
2l+1 rows of the triangle, ``diagonal_radial``/``species_diagonal`` keep a subset,
``tensor_reduced`` element-wise keeps the diagonal) keep the same √2 rule on what remains.

``nu1mustar1`` with ``mustar_basis="separate"`` is the one map over *extended* coefficients:
C = S·(N + N*) columns, each species holding the N element-basis functions followed by the
N* = 2L+1 functions of a second radial basis (see :class:`ChannelMap.n_extra`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ase.data import chemical_symbols

from slimsoap._validation import species_to_numbers
from slimsoap.soap.compressions.embeddings import embedding_matrix

SQRT2 = np.sqrt(2.0)


@dataclass
class Block:
    """The maps and stored entries of one l.

    Attributes:
        w1, w2: (C, K1), (C, K2) maps, or None for the identity (K = C).
        rows, cols: (n_entries,) indices into p_l (K1 × K2) of the stored entries, in order.
        scale: (n_entries,) factor applied to each stored entry (√2 off the diagonal of a
            symmetric block, else 1).
        symmetric: W1 and W2 are the same map (p_l is symmetric).
        labels1, labels2: names of the K1 / K2 channels.
    """

    w1: np.ndarray | None
    w2: np.ndarray | None
    rows: np.ndarray
    cols: np.ndarray
    scale: np.ndarray
    symmetric: bool
    labels1: list[str]
    labels2: list[str]

    @property
    def size(self) -> int:
        """Number of stored entries."""
        return len(self.rows)

    def widths(self) -> tuple[int, int]:
        """(K1, K2)."""
        return len(self.labels1), len(self.labels2)


@dataclass
class ChannelMap:
    """Per-l blocks of a descriptor, over coefficients with ``n_radial`` radial functions.

    Attributes:
        blocks: one :class:`Block` per l = 0..L.
        n_radial: radial functions per species in the coefficients the maps act on
            (N, or N + N* when ``n_extra`` > 0).
        n_extra: N*, radial functions of a second basis appended after the N element-basis
            functions of each species (only ``nu1mustar1`` with a separate basis).
    """

    blocks: list[Block]
    n_radial: int
    n_extra: int = 0
    notes: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        """Total stored entries over all l."""
        return sum(b.size for b in self.blocks)


# --- stored-entry patterns ---------------------------------------------------------------


def triangle(k1: int, k2: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries (a, b), a < k1, a ≤ b < k2, row by row, ×√2 off the diagonal."""
    rows = np.concatenate([np.full(k2 - a, a) for a in range(k1)]).astype(np.int64)
    cols = np.concatenate([np.arange(a, k2) for a in range(k1)]).astype(np.int64)
    return rows, cols, np.where(rows == cols, 1.0, SQRT2)


def full(k1: int, k2: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every entry of a k1 × k2 block, row-major, unscaled."""
    rows, cols = np.divmod(np.arange(k1 * k2, dtype=np.int64), k2)
    return rows, cols, np.ones(k1 * k2)


def diagonal(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The diagonal entries (a, a)."""
    a = np.arange(k, dtype=np.int64)
    return a, a, np.ones(k)


def _block(w1, w2, names1, names2, symmetric, pattern=None):
    k1, k2 = len(names1), len(names2)
    if pattern is None:
        pattern = triangle(k1, k2) if symmetric else full(k1, k2)
    rows, cols, scale = pattern
    return Block(w1, w2, rows, cols, scale, symmetric, list(names1), list(names2))


# --- densities -----------------------------------------------------------------------------


@dataclass
class Context:
    """What a builder needs: species, N, L, projection weights and the compression options."""

    species_z: np.ndarray
    n_max: int
    l_max: int
    projection: np.ndarray  # (L+1, N) h_nl
    options: dict

    @property
    def S(self) -> int:
        return len(self.species_z)

    @property
    def C(self) -> int:
        return self.S * self.n_max

    @property
    def symbols(self) -> list[str]:
        return [chemical_symbols[z] for z in self.species_z]


def element_names(ctx: Context) -> list[str]:
    """Names of the S·N element channels, ``"<El>:n<k>"``."""
    return [f"{s}:n{n}" for s in ctx.symbols for n in range(ctx.n_max)]


def _element(ctx, l):
    return None, element_names(ctx)


def _total(ctx, l):
    return np.tile(np.eye(ctx.n_max), (ctx.S, 1)), [f"total:n{n}" for n in range(ctx.n_max)]


def _element_projected(ctx, l):
    w = np.kron(np.eye(ctx.S), ctx.projection[l][:, None])
    return w, [f"{s}:proj" for s in ctx.symbols]


def _total_projected(ctx, l):
    return np.tile(ctx.projection[l], ctx.S)[:, None], ["total:proj"]


#: Density kinds: name → builder(ctx, l) → (map or None, channel names).
DENSITIES = {
    "element": _element,
    "total": _total,
    "element_projected": _element_projected,
    "total_projected": _total_projected,
}

#: Compressions made of two named densities: name → (density 1, density 2).
PAIRED = {
    "nu2": ("element", "element"),
    "nu1mu1": ("element", "total"),
    "mu2": ("total", "total"),
    "nu1nuhat1": ("element", "element_projected"),
    "nu1muhat1": ("element", "total_projected"),
    "nuhat1mu1": ("element_projected", "total"),
    "mu1muhat1": ("total", "total_projected"),
    "nuhat2": ("element_projected", "element_projected"),
    "nuhat1muhat1": ("element_projected", "total_projected"),
    "muhat2": ("total_projected", "total_projected"),
}


def _paired(name):
    d1, d2 = PAIRED[name]

    def build(ctx):
        blocks = []
        for l in range(ctx.l_max + 1):
            w1, n1 = DENSITIES[d1](ctx, l)
            w2, n2 = (w1, n1) if d1 == d2 else DENSITIES[d2](ctx, l)
            blocks.append(_block(w1, w2, n1, n2, d1 == d2))
        return ChannelMap(blocks, ctx.n_max)

    return build


def _nu2_block(ctx):
    names = element_names(ctx)
    return _block(None, None, names, names, True)


# --- random maps (lossless compressions, paper §II.2) -------------------------------------

_STREAMS = {"random": 1, "random_sym": 2, "tensor_reduced": 3, "tensor_reduced_2": 4}


def random_matrix(seed: int, stream: str, l: int, shape: tuple[int, int]) -> np.ndarray:
    """Random weights, uniform on [-√3, √3) (unit variance), bit-identical on any machine.

    Built from the raw 64-bit output of PCG64 seeded through ``SeedSequence([seed, stream,
    l])`` (both stable across NumPy versions and platforms) with exact integer → float
    arithmetic only, so the same seed gives the same matrix everywhere.
    """
    ss = np.random.SeedSequence([int(seed), _STREAMS[stream], int(l)])
    raw = np.random.PCG64(ss).random_raw(shape[0] * shape[1])
    u = (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53  # [0, 1), exact
    return ((2.0 * u - 1.0) * np.sqrt(3.0)).reshape(shape)


def compresses(ctx: Context, l: int) -> bool:
    """Whether ``random``/``random_sym`` compress this l (2l+1 < S·N, paper §II.2)."""
    return 2 * l + 1 < ctx.C


def _compressed_where_shorter(ctx, block_of_l):
    """ν=2 blocks, except where 2l+1 < S·N: there ``block_of_l(l)`` (paper §II.2)."""
    blocks = [
        block_of_l(l) if compresses(ctx, l) else _nu2_block(ctx) for l in range(ctx.l_max + 1)
    ]
    return ChannelMap(blocks, ctx.n_max)


def _random(ctx):
    def block(l):
        k = 2 * l + 1
        w = random_matrix(ctx.options["seed"], "random", l, (ctx.C, k))
        return _block(None, w, element_names(ctx), [f"rand:{j}" for j in range(k)], False)

    return _compressed_where_shorter(ctx, block)


def _random_sym(ctx):
    def block(l):
        k = 2 * l + 1
        q = random_matrix(ctx.options["seed"], "random_sym", l, (ctx.C, ctx.C))
        names = [f"randQ:{j}" for j in range(ctx.C)]
        return _block(q[:, :k], q, names[:k], names, False, triangle(k, ctx.C))

    return _compressed_where_shorter(ctx, block)


# --- species maps --------------------------------------------------------------------------


def _embed(ctx):
    u = embedding_matrix(ctx.options["embedding"], ctx.species_z)  # (S, d_J)
    w = np.kron(u, np.eye(ctx.n_max))
    names = [f"J{j}:n{n}" for j in range(u.shape[1]) for n in range(ctx.n_max)]
    return ChannelMap([_block(w, w, names, names, True) for _ in range(ctx.l_max + 1)], ctx.n_max)


def _species_diagonal(ctx):
    names = element_names(ctx)
    rows, cols, scale = triangle(ctx.C, ctx.C)
    keep = rows // ctx.n_max == cols // ctx.n_max
    pattern = rows[keep], cols[keep], scale[keep]
    blocks = [_block(None, None, names, names, True, pattern) for _ in range(ctx.l_max + 1)]
    return ChannelMap(blocks, ctx.n_max)


def _diagonal_radial(ctx):
    names = element_names(ctx)
    rows, cols, scale = triangle(ctx.C, ctx.C)
    keep = rows % ctx.n_max == cols % ctx.n_max
    pattern = rows[keep], cols[keep], scale[keep]
    blocks = [_block(None, None, names, names, True, pattern) for _ in range(ctx.l_max + 1)]
    return ChannelMap(blocks, ctx.n_max)


def group_matrix(groups: Sequence[Sequence[str | int]], species_z: np.ndarray) -> np.ndarray:
    """(S, G) one-hot map of each species to its group (GAP's Z_map); every species once."""
    if isinstance(groups, (str, bytes)) or len(groups) == 0:
        raise ValueError("species_groups: groups must be a non-empty list of lists of species")
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


def _species_groups(ctx):
    g1 = group_matrix(ctx.options["groups"], ctx.species_z)
    groups2 = ctx.options.get("groups2")
    g2 = g1 if groups2 is None else group_matrix(groups2, ctx.species_z)
    sym = groups2 is None or np.array_equal(g1, g2)

    def names(g, tag):
        return [f"{tag}{k}:n{n}" for k in range(g.shape[1]) for n in range(ctx.n_max)]

    w1, w2 = np.kron(g1, np.eye(ctx.n_max)), np.kron(g2, np.eye(ctx.n_max))
    n1 = names(g1, "G")
    n2 = n1 if sym else names(g2, "H")
    blocks = [_block(w1, w1 if sym else w2, n1, n2, sym) for _ in range(ctx.l_max + 1)]
    return ChannelMap(blocks, ctx.n_max)


# --- random mixing (tensor-reduced) --------------------------------------------------------

_MIX = ("species_radial", "species", "radial")
_COUPLING = ("tensor", "elementwise")


def _mixing(ctx, stream, k):
    """(C, M) random mixing of the element channels; M = K, K·N or S·K by ``mix``."""
    mix = ctx.options["mix"]
    seed = ctx.options["seed"]
    if mix == "species_radial":
        return random_matrix(seed, stream, 0, (ctx.C, k))
    if mix == "species":
        return np.kron(random_matrix(seed, stream, 0, (ctx.S, k)), np.eye(ctx.n_max))
    return np.kron(np.eye(ctx.S), random_matrix(seed, stream, 0, (ctx.n_max, k)))


def _tensor_reduced(ctx):
    k = ctx.options["n_channels"]
    sym = ctx.options["sym_mix"]
    w1 = _mixing(ctx, "tensor_reduced", k)
    w2 = w1 if sym else _mixing(ctx, "tensor_reduced_2", k)
    m = w1.shape[1]
    n1 = [f"mix:{j}" for j in range(m)]
    n2 = n1 if sym else [f"mix2:{j}" for j in range(m)]
    elementwise = ctx.options["coupling"] == "elementwise"
    blocks = [
        _block(w1, w2, n1, n2, sym, diagonal(m) if elementwise else None)
        for _ in range(ctx.l_max + 1)
    ]
    return ChannelMap(blocks, ctx.n_max)


# --- data-driven radial/species basis (Goscinski et al. 2021) ------------------------------


def _optimal_radial(ctx):
    u = ctx.options["n_components"]
    fitted = ctx.options.get("components")  # list of (C, u_l) per l, or None before fit()
    blocks = []
    for l in range(ctx.l_max + 1):
        w = fitted[l] if fitted is not None else np.zeros((ctx.C, min(u, ctx.C)))
        names = [f"pca:{j}" for j in range(w.shape[1])]
        blocks.append(_block(w, w, names, names, True))
    return ChannelMap(blocks, ctx.n_max, notes={"fitted": fitted is not None})


# --- ν,μ* (paper §II.3): total density with 2l+1 radial functions ---------------------------


def _nu1mustar1(ctx):
    mode = ctx.options["mustar_basis"]
    N, S, L = ctx.n_max, ctx.S, ctx.l_max
    blocks = []
    if mode == "element":
        if N < 2 * L + 1:
            raise ValueError(
                f"nu1mustar1 with mustar_basis='element' needs n_max ≥ 2·l_max+1 = {2 * L + 1} "
                f"radial functions, got n_max={N}; raise n_max or use mustar_basis='separate'"
            )
        for l in range(L + 1):
            k = 2 * l + 1
            w2 = np.tile(np.eye(N)[:, :k], (S, 1))
            blocks.append(
                _block(None, w2, element_names(ctx), [f"total:n{n}" for n in range(k)], False)
            )
        return ChannelMap(blocks, N)
    extra = 2 * L + 1
    ext = N + extra
    w1 = np.zeros((S * ext, S * N))
    for a in range(S):
        w1[a * ext : a * ext + N, a * N : (a + 1) * N] = np.eye(N)
    for l in range(L + 1):
        k = 2 * l + 1
        w2 = np.zeros((S * ext, k))
        for a in range(S):
            w2[a * ext + N : a * ext + N + k] = np.eye(k)
        blocks.append(_block(w1, w2, element_names(ctx), [f"total*:n{n}" for n in range(k)], False))
    return ChannelMap(blocks, ext, n_extra=extra)


# --- registry ------------------------------------------------------------------------------

#: name → (builder, {option: default}); a default of ``REQUIRED`` must be given.
REQUIRED = object()

COMPRESSIONS = {name: (_paired(name), {}) for name in PAIRED}
COMPRESSIONS.update(
    {
        "random": (_random, {"seed": 0}),
        "random_sym": (_random_sym, {"seed": 0}),
        "embed": (_embed, {"embedding": REQUIRED}),
        "species_diagonal": (_species_diagonal, {}),
        "diagonal_radial": (_diagonal_radial, {}),
        "species_groups": (_species_groups, {"groups": REQUIRED, "groups2": None}),
        "tensor_reduced": (
            _tensor_reduced,
            {
                "n_channels": REQUIRED,
                "coupling": "tensor",
                "sym_mix": True,
                "mix": "species_radial",
                "seed": 0,
            },
        ),
        "optimal_radial": (_optimal_radial, {"n_components": REQUIRED, "components": None}),
        "nu1mustar1": (_nu1mustar1, {"mustar_basis": "separate"}),
    }
)


def resolve_options(compression: str, options: dict) -> dict:
    """Check ``options`` for ``compression`` and fill in defaults; specific errors."""
    if compression not in COMPRESSIONS:
        raise ValueError(f"unknown compression {compression!r}; valid: {sorted(COMPRESSIONS)}")
    defaults = COMPRESSIONS[compression][1]
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        valid = sorted(k for k in defaults if k != "components") or "none"
        raise ValueError(
            f"option(s) {unknown} do not apply to compression {compression!r}; valid: {valid}"
        )
    out = {}
    for key, default in defaults.items():
        value = options.get(key, default)
        if value is REQUIRED:
            raise ValueError(f"compression {compression!r} needs the option {key!r}")
        out[key] = value
    if "seed" in out:
        if isinstance(out["seed"], bool) or not isinstance(out["seed"], (int, np.integer)):
            raise ValueError(f"seed must be a non-negative integer, got {out['seed']!r}")
        if out["seed"] < 0:
            raise ValueError(f"seed must be a non-negative integer, got {out['seed']}")
        out["seed"] = int(out["seed"])
    for key in ("n_channels", "n_components"):
        if key in out:
            v = out[key]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{compression}: {key} (K) must be an integer ≥ 1, got {v!r}")
            out[key] = int(v)
    if compression == "tensor_reduced":
        if out["coupling"] not in _COUPLING:
            raise ValueError(f"tensor_reduced: coupling must be one of {_COUPLING}")
        if out["mix"] not in _MIX:
            raise ValueError(f"tensor_reduced: mix must be one of {_MIX}")
        out["sym_mix"] = bool(out["sym_mix"])
    if compression == "nu1mustar1" and out["mustar_basis"] not in ("separate", "element"):
        raise ValueError("nu1mustar1: mustar_basis must be 'separate' or 'element'")
    return out


def build_channels(
    compression: str,
    species_z: np.ndarray,
    n_max: int,
    projection: np.ndarray,
    **options,
) -> ChannelMap:
    """The channel maps of ``compression`` (a name of :data:`COMPRESSIONS`).

    Args:
        species_z: (S,) atomic numbers, ascending.
        n_max: N, radial functions of the element basis.
        projection: (L+1, N) unit-sphere projection weights h_nl (ones for GAP's "sum").
        options: the compression's options (see :data:`COMPRESSIONS`).
    """
    opts = resolve_options(compression, options)
    projection = np.asarray(projection, dtype=np.float64)
    ctx = Context(np.asarray(species_z), int(n_max), projection.shape[0] - 1, projection, opts)
    return COMPRESSIONS[compression][0](ctx)


def descriptor_length(compression: str, n_max: int, l_max: int, n_species: int, **options) -> int:
    """Length of the SOAP descriptor ``compression`` without building a calculator.

    ``options`` are the compression's options (``embedding`` for ``embed`` — a preset name
    or an (n_species, d_J) matrix —, ``n_channels`` for ``tensor_reduced``, ...). For
    ``species_groups``, ``groups`` lists the species themselves. Example:
    ``descriptor_length("nu2", n_max=8, l_max=6, n_species=5) == 5740``.
    """
    if "groups" in options:
        members = [s for g in options["groups"] for s in g]
        species_z = species_to_numbers(members)
        if len(species_z) != n_species:
            raise ValueError(f"groups list {len(species_z)} species, n_species={n_species}")
    else:
        species_z = np.arange(1, n_species + 1)
    maps = build_channels(compression, species_z, n_max, np.ones((l_max + 1, n_max)), **options)
    return maps.n_features
