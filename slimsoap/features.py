"""Result container shared by every calculator (SOAP, ACSF) and consumed by analysis/models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class Features:
    """Descriptors of every atom of a list of frames, optionally with position gradients.

    Rows are every atom of every frame, in order (frame 0 atoms first). Atom indices in
    ``gradient_pairs`` are global over the concatenated frames, so the centre of row ``r``
    is global atom ``r``.

    Attributes:
        values: (n_atoms, n_features) float array, or a ``scipy.sparse.csr_matrix`` when the
            calculator was asked for sparse output.
        frame_index: (n_atoms,) int64, the frame each row belongs to.
        gradient_pairs: (n_pairs, 2) int64 ``[row, atom]``: ``gradients[p]`` is the
            derivative of row ``gradient_pairs[p, 0]`` with respect to the position of
            global atom ``gradient_pairs[p, 1]``. Pairs of one row are contiguous; the
            centre's own pair is included. ``None`` without gradients.
        gradients: (n_pairs, 3, n_features) float array, ∂x/∂r in 1/Å (feature units per Å),
            ``None`` without gradients.
        strain_gradients: (n_atoms, 3, 3, n_features), Σ_pairs r_ij ⊗ ∂x_i/∂r_j, the
            derivative of each row with respect to a homogeneous strain (feature units);
            ``None`` unless asked for.
    """

    values: np.ndarray | sp.csr_matrix
    frame_index: np.ndarray
    gradient_pairs: np.ndarray | None = None
    gradients: np.ndarray | None = None
    strain_gradients: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.frame_index[-1]) + 1 if len(self.frame_index) else 0

    @property
    def frame_offsets(self) -> np.ndarray:
        """(n_frames + 1,) row of the first atom of each frame, then the total."""
        out = np.zeros(self.n_frames + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.frame_index, minlength=self.n_frames), out=out[1:])
        return out

    def frame(self, f: int) -> np.ndarray | sp.csr_matrix:
        """Rows of frame ``f``."""
        o = self.frame_offsets
        return self.values[o[f] : o[f + 1]]
