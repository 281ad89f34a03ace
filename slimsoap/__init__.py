"""slimsoap: compressed SOAP power spectra and ACSF for many-element atomistic ML."""

from slimsoap._runtime.buffers import free_cached_buffers
from slimsoap._runtime.limits import MemoryLimitError, memory_limit, set_memory_limit
from slimsoap.acsf.calculator import ACSF, acsf_length
from slimsoap.acsf.presets import behler_preset
from slimsoap.analysis import (
    distance_correlation,
    imbalance_plane,
    information_imbalance,
    sensitivity_eigenvalues,
)
from slimsoap.features import Features
from slimsoap.io.store import FeatureStore
from slimsoap.soap.calculator import SOAP
from slimsoap.soap.compressions import descriptor_length
from slimsoap.soap.gradients.layout import SparseGradients
from slimsoap.soap.recovery import RankReport, recover
from slimsoap.study.featurize import featurize
from slimsoap.study.run import StudyConfig, run_study

__all__ = [
    "ACSF",
    "SOAP",
    "FeatureStore",
    "Features",
    "MemoryLimitError",
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
    "memory_limit",
    "recover",
    "run_study",
    "sensitivity_eigenvalues",
    "set_memory_limit",
]
__version__ = "0.1.0"
