"""Judging descriptors: distance correlations, information imbalance, sensitivity matrix.

All functions take plain arrays (or any calculator with ``compute(..., gradients=True)``
for the sensitivity), so they work on descriptors from any code.
"""

from slimsoap.analysis.distances import (
    DistanceCorrelation,
    distance_blocks,
    distance_correlation,
    environment_ranks,
    max_distance,
    pairwise_distances,
    scaled_distances,
)
from slimsoap.analysis.imbalance import ImbalancePlane, imbalance_plane, information_imbalance
from slimsoap.analysis.sensitivity import (
    jacobian_from_features,
    sensitivity_eigenvalues,
    sensitivity_from_jacobian,
)

__all__ = [
    "DistanceCorrelation",
    "ImbalancePlane",
    "distance_blocks",
    "distance_correlation",
    "environment_ranks",
    "imbalance_plane",
    "information_imbalance",
    "jacobian_from_features",
    "max_distance",
    "pairwise_distances",
    "scaled_distances",
    "sensitivity_eigenvalues",
    "sensitivity_from_jacobian",
]
