"""One named-spec registry, shared by the SOAP and ACSF compression vocabularies.

A registry maps names to immutable specs of one type, in registration order. Lookups of an
unknown name raise ``ValueError`` listing the valid names; registering twice is refused.
(Calculators and models have their own class registry in :mod:`slimsoap.io.registry`, which
also imports the built-in modules on first use.)
"""

from __future__ import annotations

from typing import Generic, TypeVar

S = TypeVar("S")


class SpecRegistry(Generic[S]):
    """Specs of type ``spec_type`` by their ``name`` attribute.

    Args:
        kind: what the specs are, for messages (``"compression"``, ``"ACSF compression"``).
        spec_type: the class every registered spec must be an instance of.
        sort_names: list valid names sorted (else in registration order) in errors.
    """

    def __init__(self, kind: str, spec_type: type[S], sort_names: bool = False):
        self.kind, self.spec_type, self.sort_names = kind, spec_type, sort_names
        self._specs: dict[str, S] = {}

    def register(self, spec: S) -> S:
        """Add ``spec``; refuses another type or a name already registered."""
        if not isinstance(spec, self.spec_type):
            raise TypeError(
                f"register() takes a {self.spec_type.__name__}, got {type(spec).__name__}"
            )
        if spec.name in self._specs:
            raise ValueError(f"{self.kind} {spec.name!r} is already registered")
        self._specs[spec.name] = spec
        return spec

    def unregister(self, name: str) -> None:
        """Remove ``name`` (e.g. a spec a test registered)."""
        self.get(name)
        del self._specs[name]

    def get(self, name: str) -> S:
        """The spec called ``name``; ValueError listing the valid names otherwise."""
        if not isinstance(name, str) or name not in self._specs:
            valid = sorted(self._specs) if self.sort_names else list(self._specs)
            raise ValueError(f"unknown {self.kind} {name!r}; valid: {valid}")
        return self._specs[name]

    def names(self, **flags: bool) -> list[str]:
        """Registered names in registration order; ``names(recoverable=True)`` keeps the
        specs whose attributes have every given value."""
        return [
            n for n, s in self._specs.items() if all(getattr(s, k) == v for k, v in flags.items())
        ]
