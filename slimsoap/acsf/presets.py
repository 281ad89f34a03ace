"""Conventional ACSF parameter sets, scaled to any cutoff.

``behler_preset(r_cut)`` returns the widely used Behler-style set that SIMPLE-NN (Lee et al.,
Comput. Phys. Commun. 242, 95 (2019)) ships as its default for r_c = 6 Å: Behler's
(J. Chem. Phys. 134, 074106 (2011)) widths given in Bohr⁻², converted to Å⁻² (÷ a0² ≈ 0.28 Å²):

- G2, R_s = 0, η a0² = 0.0009, 0.01, 0.02, 0.035, 0.06, 0.1, 0.2, 0.4  (8 functions);
- G4, η a0² = 0.0001, 0.008, 0.025, ζ = 1, 2, 4, λ = +1, -1  (18 functions, η outer,
  then ζ, then λ).

This is the "traditional" set the paper (Darby et al., §II.9) cites via Behler 2011 and
Onat et al. 2020; the exact tables of Onat et al. were not available here, so this set is
the documented stand-in.

Scaling to a cutoff r_c keeps every function's shape relative to the cutoff sphere: lengths
scale with s = r_c / 6 Å, so η → η / s² and R_s → R_s · s, while ζ and λ are dimensionless
and unchanged. (η r_c² and R_s / r_c are invariant.)
"""

from __future__ import annotations

import numpy as np

from slimsoap._validation import check_positive

#: Cutoff (Å) at which the reference widths below are defined.
REFERENCE_CUTOFF = 6.0
_G2_ETA = (0.003214, 0.035711, 0.071421, 0.124987, 0.214264, 0.357106, 0.714213, 1.428426)
_G4_ETA = (0.000357, 0.028569, 0.089277)
_G4_ZETA = (1.0, 2.0, 4.0)
_G4_LAMBDA = (1.0, -1.0)


def behler_preset(r_cut: float) -> dict[str, np.ndarray]:
    """Behler-style G2/G4 parameters scaled from 6 Å to ``r_cut`` (Å).

    Returns:
        ``{"g2_params": (8, 2) [η (Å⁻²), R_s (Å)], "g4_params": (18, 3) [η (Å⁻²), ζ, λ]}``,
        ready to pass as keyword arguments to :class:`slimsoap.ACSF`.
    """
    r_cut = check_positive("r_cut", r_cut)
    scale = r_cut / REFERENCE_CUTOFF
    g2 = np.array([[eta / scale**2, 0.0 * scale] for eta in _G2_ETA])
    g4 = np.array(
        [[eta / scale**2, zeta, lam] for eta in _G4_ETA for zeta in _G4_ZETA for lam in _G4_LAMBDA]
    )
    return {"g2_params": g2, "g4_params": g4}
