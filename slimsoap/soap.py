"""The SOAP calculator: density expansion → channel maps → one contraction (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from .channels import build_channels
from .contraction import Contraction
from .errors import as_frames, check_positive, species_index, species_to_numbers
from .expansion import expand
from .features import Features
from .radial import make_basis

#: Bytes of pair gradients processed at once (bounds the temporary memory of gradients).
_GRADIENT_CHUNK_BYTES = 256 * 2**20


class SOAP:
    """SOAP power spectrum and its compressions, with position gradients.

    Args:
        species: elements the calculator handles (symbols or atomic numbers); sorted by Z.
        r_cut: cutoff radius (Å, > 0).
        n_max: radial functions N (≥ 1).
        l_max: largest angular momentum L (≥ 0).
        sigma: Gaussian width of each atom's density (Å).
        radial_basis: name of the radial basis (``"gto"``).
        cutoff_width: width of the cosine cutoff transition (Å, 0 = hard cutoff, < r_cut).
        center_weight: weight of the centre atom's own Gaussian (0 removes it).
        compression: a name of the compression vocabulary (DESIGN §4), default ``"nu2"``.
        normalize: divide each descriptor by its norm (gradients projected accordingly).
        dtype: float64 or float32 output.
    """

    def __init__(
        self,
        species: Sequence[str | int],
        r_cut: float,
        n_max: int,
        l_max: int,
        sigma: float = 0.5,
        radial_basis: str = "gto",
        cutoff_width: float = 0.5,
        center_weight: float = 1.0,
        compression: str = "nu2",
        normalize: bool = False,
        dtype: type = np.float64,
    ):
        self.species_z = species_to_numbers(species)
        self.r_cut = check_positive("r_cut", r_cut)
        self.cutoff_width = check_positive("cutoff_width", cutoff_width, strict=False)
        if self.cutoff_width >= self.r_cut:
            raise ValueError(
                f"cutoff_width ({cutoff_width} Å) must be smaller than r_cut ({r_cut} Å)"
            )
        self.center_weight = float(center_weight)
        if not np.isfinite(self.center_weight):
            raise ValueError(f"center_weight must be finite, got {center_weight}")
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        self.dtype = np.dtype(dtype)
        self.normalize = bool(normalize)
        self.basis = make_basis(radial_basis, n_max, l_max, r_cut, sigma)
        self.n_max, self.l_max, self.sigma = self.basis.n_max, self.basis.l_max, self.basis.sigma
        self.radial_basis = radial_basis
        self.compression = compression
        self.channels = build_channels(
            compression, self.species_z, self.n_max, self.basis.projection()
        )
        self._contraction = Contraction(
            self.channels, len(self.species_z), self.n_max, self.l_max
        )

    @property
    def species(self) -> list[str]:
        """Chemical symbols, in the order of the species channels (ascending Z)."""
        return [chemical_symbols[z] for z in self.species_z]

    @property
    def n_features(self) -> int:
        """Length of one descriptor vector."""
        return self._contraction.n_features

    def labels(self) -> list[tuple[int, str, str]]:
        """What each column is: (l, channel of density 1, channel of density 2).

        Channels are named ``"<El>:n<k>"`` (element density), ``"total:n<k>"``,
        ``"<El>:proj"``, ``"total:proj"``. Columns run over l, then over the block:
        the upper triangle row by row for symmetric compressions, the whole block row by
        row otherwise.
        """
        out = []
        for l in range(self.l_max + 1):
            names1, names2 = self.channels.labels1[l], self.channels.labels2[l]
            if self.channels.symmetric:
                out += [(l, names1[a], names1[b]) for a, b in zip(*np.triu_indices(len(names1)))]
            else:
                out += [(l, a, b) for a in names1 for b in names2]
        return out

    def compute(self, frames: Atoms | Sequence[Atoms], gradients: bool = False) -> Features:
        """Descriptors of every atom of ``frames`` (rows in order), optionally with gradients.

        Returns a :class:`~slimsoap.features.Features` with values (n_atoms, n_features)
        and, with ``gradients=True``, sparse pair gradients (n_pairs, 3, n_features) in 1/Å
        units of the features.
        """
        frames = as_frames(frames)
        values, frame_index, gpairs, grads = [], [], [], []
        offset = 0
        for f, atoms in enumerate(frames):
            species = species_index(atoms.numbers, self.species_z, f)
            exp = expand(atoms, species, len(self.species_z), self.basis, self.cutoff_width,
                         self.center_weight, gradients, f)
            x = self._contraction.values(exp.coefficients, self.dtype)
            if gradients:
                pairs, g = self._gradients(exp, x)
                gpairs.append(pairs + offset)
                grads.append(g)
            if self.normalize:
                x = self._normalize(x, gpairs[-1] - offset if gradients else None,
                                    grads[-1] if gradients else None)
            values.append(x)
            frame_index.append(np.full(len(atoms), f, dtype=np.int64))
            offset += len(atoms)
        return Features(
            values=np.concatenate(values),
            frame_index=np.concatenate(frame_index),
            gradient_pairs=np.concatenate(gpairs) if gradients else None,
            gradients=np.concatenate(grads) if gradients else None,
        )

    def _gradients(self, exp, x):
        """Per (centre, atom) gradients of one frame, centre included, atoms sorted."""
        nl = exp.neighbours
        n = len(nl.offsets) - 1
        # output entries: every (i, j) of the pairs plus (i, i); unique, sorted by (i, j)
        keys = np.concatenate([nl.centres * n + nl.neighbours, np.arange(n) * (n + 1)])
        uniq, inverse = np.unique(keys, return_inverse=True)
        out = np.zeros((len(uniq), 3, self.n_features), dtype=self.dtype)
        pair_out, centre_out = inverse[: len(nl.centres)], inverse[len(nl.centres) :]
        duplicates = len(uniq) < len(keys)
        per_pair = 3 * self.n_features * 8 * 4
        chunk = max(1, _GRADIENT_CHUNK_BYTES // per_pair)
        for start in range(0, len(nl.centres), chunk):
            sl = slice(start, min(start + chunk, len(nl.centres)))
            i = nl.centres[sl]
            g = self._contraction.pair_gradients(
                exp.coefficients[i], exp.pair_gradients[sl], exp.pair_species[sl], self.dtype
            )
            if duplicates:
                np.add.at(out, pair_out[sl], g)
            else:
                out[pair_out[sl]] = g
            np.subtract.at(out, centre_out[i], g)
        pairs = np.stack([uniq // n, uniq % n], axis=1).astype(np.int64)
        return pairs, out

    @staticmethod
    def _normalize(x, pairs, grads):
        norm = np.linalg.norm(x, axis=1)
        norm = np.where(norm > 0, norm, 1.0)
        xh = x / norm[:, None]
        if grads is not None:
            rows = pairs[:, 0]
            proj = np.einsum("pdf,pf->pd", grads, xh[rows])
            grads -= proj[:, :, None] * xh[rows][:, None, :]
            grads /= norm[rows][:, None, None]
        return xh
