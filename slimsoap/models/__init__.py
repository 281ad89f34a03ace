"""Models that judge descriptors by the accuracy they give (paper §II.6, §II.7, §IV.5).

- ``EnergyModel``: chemical potentials + (kernel) ridge on total energies (primal, exact
  dual, or sparse Nyström), σ by k-fold cross-validation.
- ``learning_curve``: errors against training-set size for several descriptors.
- ``SparseGP``: sparse GP force field on energies, forces and virials (gap_fit-like), with
  an optional jointly fitted ``PairBaseline``; ``errors_by_config_type`` reports it.
- ``select_sparse_points``, ``cur_selection``, ``farthest_point_sampling``: representative
  environments; ``rank_sparse_points``: nested ones (every prefix a selection).
- ``load``: any saved model (``model.save(path)``), whichever registered class it is.

The names load on first use (PEP 562), except ``learning_curve`` (see below).
"""

from pathlib import Path

from slimsoap._lazy import lazy_attributes

# Imported now: the module of the same name, once imported anywhere, would otherwise stand
# where the function should (a package attribute found is never looked up lazily).
from slimsoap.models.learning_curve import learning_curve  # noqa: F401 (in __all__)

_EXPORTS = {
    "LearningCurve": "slimsoap.models.learning_curve",
    "PairBaseline": "slimsoap.models.pair_baseline",
    "EnergyModel": "slimsoap.models.ridge",
    "cur_selection": "slimsoap.models.selection",
    "farthest_point_sampling": "slimsoap.models.selection",
    "select_sparse_points": "slimsoap.models.selection",
    "rank_sparse_points": "slimsoap.models.selection",
    "Prediction": "slimsoap.models.sparse_gp",
    "SparseGP": "slimsoap.models.sparse_gp",
    "Targets": "slimsoap.models.sparse_gp",
    "errors_by_config_type": "slimsoap.models.sparse_gp",
    "read_targets": "slimsoap.models.sparse_gp",
}


def load(path: str | Path):
    """The model saved at ``path`` by ``model.save(path)``, descriptor included.

    The file's class is looked up among the registered model classes
    (:func:`slimsoap.io.register_model`); nothing named in the file is imported. Raises
    ValueError naming the file and field for anything else.
    """
    from slimsoap.io.npz import load_model

    return load_model(path)


__all__ = sorted([*_EXPORTS, "learning_curve", "load"])
__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
