"""What a compression is: a :class:`CompressionSpec` (DESIGN §2, §4).

A spec names a compression, says how to build its per-l channel maps from a
:class:`Context`, which validated options dataclass it takes, and what it can do — the
capability flags every other module reads instead of the name:

- ``recoverable``: the full ν=2 spectrum can be rebuilt from it (:mod:`slimsoap.soap.recovery`,
  following :attr:`CompressionSpec.recovery`);
- ``needs_fit``: its maps are learnt from data (``SOAP.fit``) by :attr:`CompressionSpec.fit`;
- ``extra_basis``: its maps act on coefficients extended by a second radial basis
  (:attr:`~slimsoap.soap.compressions.maps.ChannelMap.n_extra` functions per species);
- ``seeded``: its maps are random, drawn from the integer option ``seed``.

The flags say what the compression does with its default options; an options dataclass may
switch flags off for some of its values (:meth:`CompressionOptions.disabled`, e.g.
``nu1mustar1`` with ``mustar_basis="separate"`` is not recoverable), and
:meth:`CompressionSpec.capabilities` gives the flags that hold for given options.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from ase.data import chemical_symbols

from slimsoap._validation import check_int
from slimsoap.soap.compressions.maps import ChannelMap

#: The capability flags of a spec.
FLAGS = ("recoverable", "needs_fit", "extra_basis", "seeded")


@dataclass(frozen=True)
class CompressionOptions:
    """Base of every compression's options: a frozen dataclass, one field per option.

    Fields without a default are required. Subclasses override :meth:`validated` (types,
    ranges, allowed values; errors name the compression, the option and what is valid)
    and, when some values switch a capability off, :meth:`disabled`.
    """

    def validated(self, compression: str) -> CompressionOptions:
        """These options checked (and normalised, e.g. ``seed`` to ``int``) for
        ``compression``; raises ValueError naming the compression and the option."""
        return self

    def disabled(self) -> dict[str, str]:
        """Capability flags (:data:`FLAGS`) these option values switch off: flag → why."""
        return {}

    def as_dict(self) -> dict:
        """The options as keyword arguments (values as given, not copied)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class NoOptions(CompressionOptions):
    """Options of a compression that takes none."""


@dataclass(frozen=True)
class SeedOptions(CompressionOptions):
    """Options of a random map drawn from ``seed`` (a non-negative integer)."""

    seed: int = 0

    def validated(self, compression: str) -> SeedOptions:
        return dataclasses.replace(self, seed=check_seed(compression, self.seed))


def check_seed(compression: str, seed) -> int:
    """``seed`` as an int ≥ 0; the error names the compression."""
    try:
        return check_int("seed", seed, 0)
    except (TypeError, ValueError):
        raise ValueError(
            f"{compression}: seed must be a non-negative integer, got {seed!r}"
        ) from None


def check_count(compression: str, name: str, value) -> int:
    """``value`` as an int ≥ 1 (a number of channels); the error names the compression."""
    try:
        return check_int(name, value, 1)
    except (TypeError, ValueError):
        raise ValueError(f"{compression}: {name} must be an integer ≥ 1, got {value!r}") from None


def check_choice(compression: str, name: str, value, valid: Sequence) -> None:
    """Refuse ``value`` not in ``valid``; the error names the compression and the choices."""
    if isinstance(value, np.ndarray) or value not in valid:
        raise ValueError(f"{compression}: {name} must be one of {list(valid)}, got {value!r}")


@dataclass(frozen=True)
class Context:
    """What a builder (and a fit) needs.

    Attributes:
        species_z: (S,) atomic numbers, ascending.
        n_max: N, radial functions of the element basis.
        l_max: L.
        projection: (L+1, N) unit-sphere projection weights h_nl.
        options: the compression's validated options.
        fitted: arrays learnt by the spec's ``fit`` (empty before a fit, and for
            compressions that need none).
    """

    species_z: np.ndarray
    n_max: int
    l_max: int
    projection: np.ndarray
    options: CompressionOptions
    fitted: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def S(self) -> int:
        """Number of species."""
        return len(self.species_z)

    @property
    def C(self) -> int:
        """S·N, columns of X_l (element channels)."""
        return self.S * self.n_max

    @property
    def symbols(self) -> list[str]:
        """Chemical symbols of the species, ascending Z."""
        return [chemical_symbols[z] for z in self.species_z]


@dataclass(frozen=True)
class Recovery:
    """How :func:`slimsoap.soap.recovery.recover` rebuilds P_l from a compressed block.

    Attributes:
        stored: ``"projected"`` — the block is B = P_l W2 (S·N × k, stored whole, W1 the
            identity); ``"symmetric_rows"`` — the first k rows (upper triangle) of
            Q^T P_l Q with Q = W2 square and invertible.
        random_map: W2 is random, so recovery is exact with probability one; otherwise
            exactness needs rank(X_l W2) = rank(X_l), verified per environment.
    """

    stored: Literal["projected", "symmetric_rows"]
    random_map: bool


@dataclass(frozen=True)
class Capabilities:
    """The flags that hold for one set of options (see :meth:`CompressionSpec.capabilities`).

    Attributes:
        recoverable, needs_fit, extra_basis, seeded: as :data:`FLAGS`.
        reasons: flag → why the options switch off a flag the spec has.
    """

    recoverable: bool
    needs_fit: bool
    extra_basis: bool
    seeded: bool
    reasons: Mapping[str, str]


def _no_examples(symbols: Sequence[str]) -> list[dict]:
    return [{}]


@dataclass(frozen=True)
class CompressionSpec:
    """A compression of the vocabulary.

    Attributes:
        name: the value of ``SOAP(compression=...)``.
        builder: ``builder(ctx) -> ChannelMap``, the per-l maps (before a fit, for
            ``needs_fit``, maps of the right shape whose values do not matter).
        options: the options dataclass (a :class:`CompressionOptions` subclass).
        description: one line: what the descriptor is.
        recoverable, needs_fit, extra_basis, seeded: capability flags (module doc).
        recovery: how the full spectrum is rebuilt; given exactly when ``recoverable``.
        fit: ``fit(ctx, coefficients) -> {name: array}`` learning the maps from an iterable
            of (n_atoms, S, N, (L+1)²) coefficient arrays; given exactly when ``needs_fit``.
        example_options: ``example_options(symbols) -> [kwargs, ...]``: SOAP keyword
            arguments (the compression's options, and a calculator setting such as
            ``n_max`` where an option needs it) exercising the spec for a calculator over
            ``symbols`` (≥ 3 species, l_max = 2); the registry-parametrised tests run each.
    """

    name: str
    builder: Callable[[Context], ChannelMap]
    options: type[CompressionOptions]
    description: str
    recoverable: bool = False
    needs_fit: bool = False
    extra_basis: bool = False
    seeded: bool = False
    recovery: Recovery | None = None
    fit: Callable[[Context, Iterable[np.ndarray]], dict[str, np.ndarray]] | None = None
    example_options: Callable[[Sequence[str]], list[dict]] = _no_examples

    def __post_init__(self):
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"a compression needs a non-empty name, got {self.name!r}")
        if not (isinstance(self.options, type) and issubclass(self.options, CompressionOptions)):
            raise TypeError(f"{self.name}: options must be a CompressionOptions dataclass")
        if self.recoverable != (self.recovery is not None):
            raise ValueError(f"{self.name}: give a Recovery exactly when recoverable=True")
        if self.needs_fit != (self.fit is not None):
            raise ValueError(f"{self.name}: give a fit function exactly when needs_fit=True")
        if self.seeded and "seed" not in self.option_names():
            raise ValueError(f"{self.name}: seeded=True needs an option named 'seed'")

    def option_names(self) -> list[str]:
        """Names of the options, in declaration order."""
        return [f.name for f in dataclasses.fields(self.options)]

    def required_options(self) -> list[str]:
        """Names of the options without a default."""
        return [
            f.name
            for f in dataclasses.fields(self.options)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]

    def parse(self, options: Mapping) -> CompressionOptions:
        """Validated options from keyword arguments; defaults filled in.

        Raises ValueError for an option that does not apply, a required option missing, or
        a value out of range, naming the compression, the option and what is valid.
        """
        fields = dataclasses.fields(self.options)
        unknown = sorted(set(options) - {f.name for f in fields})
        if unknown:
            valid = [f.name for f in fields] or "none"
            raise ValueError(
                f"option(s) {unknown} do not apply to compression {self.name!r}; valid: {valid}"
            )
        for name in self.required_options():
            if name not in options:
                raise ValueError(f"compression {self.name!r} needs the option {name!r}")
        return self.options(**options).validated(self.name)

    def capabilities(self, options: CompressionOptions) -> Capabilities:
        """The flags that hold with ``options`` (the spec's, less those switched off)."""
        off = {k: v for k, v in options.disabled().items() if getattr(self, k)}
        flags = {k: bool(getattr(self, k)) and k not in off for k in FLAGS}
        return Capabilities(**flags, reasons=off)

    def build(self, ctx: Context) -> ChannelMap:
        """The channel maps for ``ctx``; checks the map against the ``extra_basis`` flag."""
        maps = self.builder(ctx)
        if self.capabilities(ctx.options).extra_basis != (maps.n_extra > 0):
            raise RuntimeError(
                f"compression {self.name!r}: its builder's maps (n_extra={maps.n_extra}) "
                "disagree with its extra_basis flag"
            )
        return maps
