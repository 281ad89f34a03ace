"""Result containers shared by every calculator (SOAP, ACSF) and consumed by analysis/models:
:class:`Features`, and :class:`SparseGradients` for species-block sparse gradients."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Entries gathered at once when SparseGradients are read or multiplied.
_GROUP_ENTRIES = 2048


class SparseGradients:
    """Gradients stored per entry as a dense block over the entry's pattern of columns.

    Entry p holds ``inner + (len(columns[pattern[p]]),)`` values, C order, at
    ``data[start[p]:]``; column t of the block is global feature ``columns[pattern[p]][t]``
    and every other feature of the entry is exactly zero.

    Behaves like the dense ``(n_entries, *inner, n_features)`` array where it is read:
    ``len``, ``shape``, ``dtype``, indexing by an int, a slice or an integer array returns
    the dense rows; ``np.asarray`` densifies all of it (use with care).

    Attributes:
        data: flat float array of every block.
        start: (n_entries,) int64 offset of each block in ``data``.
        pattern: (n_entries,) int32 pattern of each entry.
        columns: per pattern, the global feature columns it stores, in stored order.
        n_features: width of the dense rows.
        inner: (3,) for position gradients, (3, 3) for strain gradients.
    """

    def __init__(
        self,
        data: np.ndarray,
        start: np.ndarray,
        pattern: np.ndarray,
        columns: list[np.ndarray],
        n_features: int,
        inner: tuple[int, ...] = (3,),
    ):
        self.data, self.start, self.pattern = data, start, pattern
        self.columns, self.n_features, self.inner = columns, int(n_features), tuple(inner)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the dense array this stands for."""
        return (len(self.start), *self.inner, self.n_features)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def nbytes(self) -> int:
        """Bytes of values and indices held."""
        return int(
            self.data.nbytes
            + self.start.nbytes
            + self.pattern.nbytes
            + sum(c.nbytes for c in self.columns)
        )

    def __len__(self) -> int:
        return len(self.start)

    def _groups(self, index: np.ndarray):
        """(positions in index, pattern, values (n, *inner, width)) per pattern present, in
        chunks of at most ``_GROUP_ENTRIES`` entries (bounds the temporaries)."""
        k_inner = int(np.prod(self.inner))
        pats = self.pattern[index]
        for k in np.unique(pats):
            width = len(self.columns[k])
            every = np.flatnonzero(pats == k)
            for a in range(0, len(every), _GROUP_ENTRIES):
                where = every[a : a + _GROUP_ENTRIES]
                flat = self.start[index[where]][:, None] + np.arange(k_inner * width)
                yield where, k, self.data[flat].reshape(len(where), *self.inner, width)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self[np.array([key])][0]
        if isinstance(key, slice):
            index = np.arange(len(self))[key]
        else:
            index = np.asarray(key)
            if index.dtype == bool:
                index = np.flatnonzero(index)
            index = np.arange(len(self))[index]  # bounds and negative indices
        out = np.zeros((len(index), *self.inner, self.n_features), dtype=self.dtype)
        for where, k, values in self._groups(index):
            out[where[:, None], ..., self.columns[k][None, :]] = np.moveaxis(values, -1, 1)
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def dot(self, vectors: np.ndarray) -> np.ndarray:
        """Σ_f g[p, ..., f] vectors[p, f] for every entry: ``(n_entries, *inner)``.

        Args:
            vectors: (n_entries, n_features), one vector per entry (e.g. ∂E_i/∂x_i of the
                entry's row).
        """
        if vectors.shape != (len(self), self.n_features):
            raise ValueError(f"vectors must have shape {(len(self), self.n_features)}")
        out = np.zeros((len(self), *self.inner))
        for where, k, values in self._groups(np.arange(len(self))):
            out[where] = np.einsum("p...f,pf->p...", values, vectors[where][:, self.columns[k]])
        return out

    def tocsr(self) -> sp.csr_matrix:
        """The dense array as CSR of shape (n_entries·prod(inner), n_features)."""
        k_inner = int(np.prod(self.inner))
        widths = np.array([len(c) for c in self.columns], dtype=np.int64)[self.pattern]
        indptr = np.zeros(len(self) * k_inner + 1, dtype=np.int64)
        np.cumsum(np.repeat(widths, k_inner), out=indptr[1:])
        indices = np.empty(indptr[-1], dtype=np.int64)
        data = np.empty(indptr[-1], dtype=self.dtype)
        for where, k, values in self._groups(np.arange(len(self))):
            cols = self.columns[k]
            rows = (where[:, None] * k_inner + np.arange(k_inner)).ravel()
            pos = indptr[rows][:, None] + np.arange(len(cols))
            indices[pos] = cols
            data[pos] = values.reshape(-1, len(cols))
        return sp.csr_matrix((data, indices, indptr), shape=(len(self) * k_inner, self.n_features))


@dataclass
class Features:
    """Descriptors of every atom of a list of frames, optionally with position gradients.

    Rows are every atom of every frame, in order (frame 0 atoms first), unless the
    calculator was asked for ``centers=`` (the selected atoms, in the given order) or an
    ``average`` (one row per frame). Atom indices in ``gradient_pairs`` are global over the
    concatenated frames.

    Attributes:
        values: (n_atoms, n_features) float array, or a ``scipy.sparse.csr_matrix`` when the
            calculator was asked for sparse output.
        frame_index: (n_atoms,) int64, the frame each row belongs to.
        gradient_pairs: (n_pairs, 2) int64 ``[row, atom]``: ``gradients[p]`` is the
            derivative of row ``gradient_pairs[p, 0]`` with respect to the position of
            global atom ``gradient_pairs[p, 1]``. Pairs of one row are contiguous; the
            centre's own pair is included. ``None`` without gradients.
        gradients: (n_pairs, 3, n_features) float array, ∂x/∂r in 1/Å (feature units per Å),
            or a :class:`SparseGradients` standing for it; ``None`` without gradients.
        strain_gradients: (n_atoms, 3, 3, n_features), Σ_pairs r_ij ⊗ ∂x_i/∂r_j, the
            derivative of each row with respect to a homogeneous strain (feature units),
            dense or :class:`SparseGradients`; ``None`` unless asked for.
    """

    values: np.ndarray | sp.csr_matrix
    frame_index: np.ndarray
    gradient_pairs: np.ndarray | None = None
    gradients: np.ndarray | SparseGradients | None = None
    strain_gradients: np.ndarray | SparseGradients | None = None

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

    def to_tensormap(self, calculator, frames):
        """These features as a metatensor ``TensorMap`` (needs the ``metatensor`` extra):
        :func:`slimsoap.io.metatensor.to_tensormap` with the ``calculator`` that computed
        them and the ``frames`` (or atomic numbers of the rows) they came from."""
        from slimsoap.io.metatensor import to_tensormap

        return to_tensormap(self, calculator, frames)
