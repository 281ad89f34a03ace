"""slimsoap: compressed SOAP power spectra and ACSF for many-element atomistic ML."""

from ._memory import free_cached_buffers
from .acsf import ACSF, acsf_length
from .acsf_params import behler_preset
from .analysis import (
    distance_correlation,
    imbalance_plane,
    information_imbalance,
    sensitivity_eigenvalues,
)
from .channels import descriptor_length
from .features import Features
from .pipeline import StudyConfig, featurize, run_study
from .recovery import RankReport, read_features, recover, write_features
from .soap import SOAP
from .sparse_gradients import SparseGradients
from .store import FeatureStore

__all__ = [
    "ACSF",
    "SOAP",
    "FeatureStore",
    "Features",
    "SparseGradients",
    "StudyConfig",
    "RankReport",
    "acsf_length",
    "behler_preset",
    "descriptor_length",
    "distance_correlation",
    "featurize",
    "free_cached_buffers",
    "imbalance_plane",
    "information_imbalance",
    "read_features",
    "recover",
    "run_study",
    "sensitivity_eigenvalues",
    "write_features",
]
__version__ = "0.1.0"
