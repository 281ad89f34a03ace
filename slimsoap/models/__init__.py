"""Models that judge descriptors by the accuracy they give (paper §II.6, §II.7, §IV.5).

- ``EnergyModel``: chemical potentials + (kernel) ridge on total energies (primal, exact
  dual, or sparse Nyström), σ by k-fold cross-validation.
- ``learning_curve``: errors against training-set size for several descriptors.
- ``SparseGP``: sparse GP force field on energies, forces and virials (gap_fit-like), with
  an optional jointly fitted ``PairBaseline``; ``errors_by_config_type`` reports it.
- ``select_sparse_points``, ``cur_selection``, ``farthest_point_sampling``: representative
  environments.
- ``load``: any saved model (``model.save(path)``), whichever registered class it is.
"""

from pathlib import Path

from slimsoap.models.learning_curve import LearningCurve, learning_curve
from slimsoap.models.pair_baseline import PairBaseline
from slimsoap.models.ridge import EnergyModel
from slimsoap.models.selection import cur_selection, farthest_point_sampling, select_sparse_points
from slimsoap.models.sparse_gp import (
    Prediction,
    SparseGP,
    Targets,
    errors_by_config_type,
    read_targets,
)


def load(path: str | Path):
    """The model saved at ``path`` by ``model.save(path)``, descriptor included.

    The file's class is looked up among the registered model classes
    (:func:`slimsoap.io.register_model`); nothing named in the file is imported. Raises
    ValueError naming the file and field for anything else.
    """
    from slimsoap.io.npz import load_model

    return load_model(path)


__all__ = [
    "EnergyModel",
    "LearningCurve",
    "PairBaseline",
    "Prediction",
    "SparseGP",
    "Targets",
    "cur_selection",
    "errors_by_config_type",
    "farthest_point_sampling",
    "learning_curve",
    "load",
    "read_targets",
    "select_sparse_points",
]
