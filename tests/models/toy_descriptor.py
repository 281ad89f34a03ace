"""A small smooth descriptor with analytic position and strain gradients, for model tests.

x_i[s, k] = Σ_{j≠i, species s, r_ij<r_cut} exp(−(r_ij − c_k)²/2w²) · ½(1 + cos(π r_ij/r_cut))

(species-resolved Gaussian-smeared pair-distance histograms), returned in the layout of
``slimsoap.features.Features``.
"""

import numpy as np

from slimsoap.features import Features
from slimsoap.systems.neighbours import neighbour_list


class PairHistogram:
    def __init__(self, species, r_cut=4.0, n_bins=5, width=0.5):
        self.species = np.array(sorted(species))
        self.r_cut, self.width = r_cut, width
        self.centres = np.linspace(1.5, r_cut, n_bins)
        self.n_features = len(self.species) * n_bins

    def _radial(self, r):
        g = np.exp(-((r[:, None] - self.centres) ** 2) / (2 * self.width**2))
        dg = -(r[:, None] - self.centres) / self.width**2 * g
        fc = 0.5 * (1 + np.cos(np.pi * r / self.r_cut))
        dfc = -0.5 * np.pi / self.r_cut * np.sin(np.pi * r / self.r_cut)
        return g * fc[:, None], dg * fc[:, None] + g * dfc[:, None]

    def compute(self, frames, gradients=False):
        frames = [frames] if not isinstance(frames, list) else frames
        K = len(self.centres)
        values, fidx, pairs_all, grads_all, strain_all = [], [], [], [], []
        offset = 0
        for f, atoms in enumerate(frames):
            n = len(atoms)
            nl = neighbour_list(atoms, self.r_cut)
            spc = np.searchsorted(self.species, atoms.numbers)
            phi, dphi = self._radial(nl.distances)
            x = np.zeros((n, len(self.species), K))
            np.add.at(x, (nl.centres, spc[nl.neighbours]), phi)
            values.append(x.reshape(n, -1))
            fidx.append(np.full(n, f))
            if gradients:
                unit = nl.vectors / nl.distances[:, None]
                # d x_i / d r_j for one image pair: dphi * unit, in the species slot of j
                g = np.zeros((len(nl.centres), 3, len(self.species), K))
                g[np.arange(len(nl.centres)), :, spc[nl.neighbours], :] = (
                    unit[:, :, None] * dphi[:, None, :]
                )
                g = g.reshape(len(nl.centres), 3, -1)
                keys = np.concatenate([nl.centres * n + nl.neighbours, np.arange(n) * (n + 1)])
                uniq, inv = np.unique(keys, return_inverse=True)
                out = np.zeros((len(uniq), 3, self.n_features))
                np.add.at(out, inv[: len(nl.centres)], g)
                np.subtract.at(out, inv[len(nl.centres) + nl.centres], g)
                pairs_all.append(np.stack([uniq // n, uniq % n], axis=1) + offset)
                grads_all.append(out)
                strain = np.zeros((n, 3, 3, self.n_features))
                np.add.at(strain, nl.centres, nl.vectors[:, :, None, None] * g[:, None, :, :])
                strain_all.append(strain)
            offset += n
        return Features(
            values=np.concatenate(values),
            frame_index=np.concatenate(fidx),
            gradient_pairs=np.concatenate(pairs_all) if gradients else None,
            gradients=np.concatenate(grads_all) if gradients else None,
            strain_gradients=np.concatenate(strain_all) if gradients else None,
        )
