"""Models that judge descriptors by the accuracy they give (paper §II.6, §II.7, §IV.5).

- ``EnergyModel``: chemical potentials + (kernel) ridge on total energies (primal, exact
  dual, or sparse Nyström), σ by k-fold cross-validation.
- ``select_sparse_points``, ``cur_selection``, ``farthest_point_sampling``: representative
  environments.
"""

from .ridge import EnergyModel
from .selection import cur_selection, farthest_point_sampling, select_sparse_points

__all__ = ["EnergyModel", "cur_selection", "farthest_point_sampling", "select_sparse_points"]
