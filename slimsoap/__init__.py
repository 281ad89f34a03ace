"""slimsoap: compressed SOAP power spectra and ACSF for many-element atomistic ML."""

from slimsoap._runtime.buffers import free_cached_buffers
from slimsoap._runtime.threads import get_num_threads, set_num_threads
from slimsoap.acsf.calculator import ACSF, acsf_length
from slimsoap.acsf.presets import behler_preset
from slimsoap.analysis import (
    distance_correlation,
    imbalance_plane,
    information_imbalance,
    sensitivity_eigenvalues,
)
from slimsoap.features import Features, SparseGradients
from slimsoap.io.store import FeatureStore
from slimsoap.soap.calculator import SOAP
from slimsoap.soap.compressions.vocabulary import descriptor_length
from slimsoap.soap.recovery import RankReport, read_features, recover, write_features
from slimsoap.study.pipeline import StudyConfig, featurize, run_study

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
    "get_num_threads",
    "imbalance_plane",
    "information_imbalance",
    "read_features",
    "recover",
    "run_study",
    "sensitivity_eigenvalues",
    "set_num_threads",
    "write_features",
]
__version__ = "0.1.0"
