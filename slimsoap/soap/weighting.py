"""Radial scaling of the neighbour weights: DScribe's ``weighting`` and featomic's Willatt2018.

Each neighbour's Gaussian (already multiplied by the cutoff function f_c) is multiplied by
g(r), a function of its distance r (Å) from the centre:

- ``"poly"`` (Caro 2019): g = c (1 + 2 (r/r0)³ − 3 (r/r0)²)^m for r ≤ r0, 0 beyond;
- ``"pow"`` (Willatt 2018 in DScribe's form): g = c / (d + (r/r0)^m);
- ``"exp"``: g = c / (d + exp(−r/r0));
- ``"willatt2018"`` (featomic's density ``scaling`` ``Willatt2018``): g = rate / (rate +
  (r/scale)^exponent), rate > 0 (DScribe's ``pow`` with c = d = rate, r0 = scale).

The centre's own Gaussian gets DScribe's ``w0`` when given, else g(0) times
``center_weight`` (DScribe's convention: its centre is the neighbour at r = 0); with
``"willatt2018"`` the centre keeps ``center_weight`` (featomic applies no radial scaling
to it). ``{"w0": x}`` alone only sets the centre's weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Parameters each function needs (all ≥ 0, r0, scale, rate > 0), as DScribe/featomic name them.
_PARAMETERS = {
    "poly": ("r0", "c", "m"),
    "pow": ("r0", "c", "d", "m"),
    "exp": ("r0", "c", "d"),
    "willatt2018": ("rate", "scale", "exponent"),
}
_STRICTLY_POSITIVE = ("r0", "scale", "rate")


@dataclass(frozen=True)
class RadialWeighting:
    """A validated radial scaling g(r) and the centre's weight rule.

    Attributes:
        function: ``"poly"``, ``"pow"``, ``"exp"``, ``"willatt2018"`` or None (only w0).
        parameters: the function's parameters by name (floats).
        w0: weight of the centre's own Gaussian, or None (see the module docstring).
    """

    function: str | None
    parameters: dict[str, float]
    w0: float | None

    @classmethod
    def parse(cls, weighting: dict) -> RadialWeighting:
        """Validate a ``weighting`` dict (``{"function": ..., <parameters>, "w0": ...}``)."""
        if not isinstance(weighting, dict) or not weighting:
            raise ValueError(
                f"weighting must be a non-empty dict such as {{'function': 'pow', 'r0': 2.0, "
                f"'c': 1.0, 'd': 1.0, 'm': 4.0}}, got {weighting!r}"
            )
        options = dict(weighting)
        w0 = options.pop("w0", None)
        if w0 is not None:
            w0 = _number("w0", w0)
        function = options.pop("function", None)
        if function is None:
            if options or w0 is None:
                raise ValueError(
                    f"weighting without 'function' takes only 'w0', got {sorted(weighting)}"
                )
            return cls(None, {}, w0)
        if function not in _PARAMETERS:
            raise ValueError(
                f"weighting function must be one of {sorted(_PARAMETERS)}, got {function!r}"
            )
        if function == "willatt2018" and w0 is not None:
            raise ValueError(
                "'willatt2018' does not scale the centre (featomic's convention): set its "
                "weight with center_weight, not w0"
            )
        names = _PARAMETERS[function]
        unknown = sorted(set(options) - set(names))
        missing = [k for k in names if k not in options]
        if unknown or missing:
            raise ValueError(
                f"weighting function {function!r} takes parameters {list(names)} (and w0): "
                f"missing {missing}, unknown {unknown}"
            )
        parameters = {k: _number(f"weighting {k}", options[k]) for k in names}
        for k in _STRICTLY_POSITIVE:
            if k in parameters and parameters[k] == 0:
                raise ValueError(f"weighting {k} must be > 0, got {options[k]}")
        if function == "pow" and parameters["d"] == 0 and parameters["m"] > 0 and w0 is None:
            raise ValueError("weighting 'pow' with d = 0 is infinite at r = 0: give w0")
        return cls(function, parameters, w0)

    def as_dict(self) -> dict:
        """The JSON-able dict :meth:`parse` reads back."""
        out: dict = {} if self.function is None else {"function": self.function}
        out.update(self.parameters)
        if self.w0 is not None:
            out["w0"] = self.w0
        return out

    def __call__(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """g(r) and dg/dr (1/Å), each shaped like the distances ``r`` (Å, > 0)."""
        p = self.parameters
        if self.function is None:
            return np.ones_like(r), np.zeros_like(r)
        if self.function == "poly":
            x = np.minimum(r / p["r0"], 1.0)
            base = np.maximum(1.0 + 2.0 * x**3 - 3.0 * x**2, 0.0)
            # zero from r0 on (also for m = 0); d base/dr = 6 x (x − 1) / r0
            inside = base > 0
            safe = np.where(inside, base, 1.0)
            g = np.where(inside, p["c"] * safe ** p["m"], 0.0)
            dg = np.where(
                inside, p["c"] * p["m"] * safe ** (p["m"] - 1) * 6.0 * x * (x - 1.0) / p["r0"], 0
            )
            return g, dg
        if self.function in ("pow", "willatt2018"):
            if self.function == "pow":
                c, d, r0, m = p["c"], p["d"], p["r0"], p["m"]
            else:
                c = d = p["rate"]
                r0, m = p["scale"], p["exponent"]
            x = r / r0
            den = d + x**m
            return c / den, -c * m * x ** (m - 1) / (r0 * den**2)
        e = np.exp(-r / p["r0"])
        den = p["d"] + e
        return p["c"] / den, p["c"] * e / (p["r0"] * den**2)

    def centre_weight(self, center_weight: float) -> float:
        """Weight of the centre's own Gaussian, given the calculator's ``center_weight``."""
        if self.w0 is not None:
            return self.w0
        if self.function == "willatt2018":
            return center_weight
        with np.errstate(divide="ignore", invalid="ignore"):  # dg/dr at 0 is not used
            return center_weight * float(self(np.zeros(1))[0][0])


def _number(name: str, value) -> float:
    """A finite number ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and ≥ 0, got {value}")
    return value
