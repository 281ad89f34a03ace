"""The smooth cosine cutoff shared by SOAP's density and the pair baseline (DESIGN §3).

The Numba ACSF kernel (:mod:`slimsoap._kernels.acsf`) evaluates the same
f_c(r) = ½(cos(π r / r_cut) + 1) inline, per pair inside its loop: a kernel may not call
back into NumPy code.
"""

from __future__ import annotations

import numpy as np


def cosine_cutoff(
    r: np.ndarray, r_cut: float, width: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cutoff f(r) and its derivative df/dr (1/Å), each shaped like ``r`` (Å).

    With ``width`` w (Å): f = 1 below r_cut − w, ½(1 + cos(π (r − r_cut + w)/w)) between,
    0 from r_cut on; w = 0 is a hard cutoff (f = 1 below r_cut, df = 0). Without
    ``width``, Behler's f = ½(1 + cos(π r / r_cut)) over the whole range, for r ≤ r_cut
    (callers pass pairs within the cutoff).
    """
    if width is None:
        t = np.pi * r / r_cut
        return 0.5 * (1 + np.cos(t)), -0.5 * np.pi / r_cut * np.sin(t)
    if width == 0:
        return (r < r_cut).astype(np.float64), np.zeros_like(r)
    t = np.clip((r - r_cut + width) / width, 0.0, 1.0)
    f = 0.5 * (1.0 + np.cos(np.pi * t))
    df = np.where((t > 0) & (t < 1), -0.5 * np.pi / width * np.sin(np.pi * t), 0.0)
    return f, df
