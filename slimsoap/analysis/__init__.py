"""Judging descriptors: distance correlations, information imbalance, sensitivity matrix;
ν=2-degenerate environments (the Pozdnyakov pair); and the radial distribution function of
simulated structures.

All functions take plain arrays (or any calculator with ``compute(..., gradients=True)``
for the sensitivity), so they work on descriptors from any code.
"""

from slimsoap._lazy import lazy_attributes

_EXPORTS = {
    "congruent": "slimsoap.analysis.degenerate",
    "pozdnyakov_pair": "slimsoap.analysis.degenerate",
    "triangle_multiset": "slimsoap.analysis.degenerate",
    "DistanceCorrelation": "slimsoap.analysis.distances",
    "distance_blocks": "slimsoap.analysis.distances",
    "distance_correlation": "slimsoap.analysis.distances",
    "environment_ranks": "slimsoap.analysis.distances",
    "max_distance": "slimsoap.analysis.distances",
    "pairwise_distances": "slimsoap.analysis.distances",
    "scaled_distances": "slimsoap.analysis.distances",
    "ImbalancePlane": "slimsoap.analysis.imbalance",
    "imbalance_plane": "slimsoap.analysis.imbalance",
    "information_imbalance": "slimsoap.analysis.imbalance",
    "jacobian_from_features": "slimsoap.analysis.sensitivity",
    "RDF": "slimsoap.analysis.rdf",
    "radial_distribution": "slimsoap.analysis.rdf",
    "sensitivity_eigenvalues": "slimsoap.analysis.sensitivity",
    "sensitivity_from_jacobian": "slimsoap.analysis.sensitivity",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
