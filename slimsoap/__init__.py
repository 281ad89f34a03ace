"""slimsoap: compressed SOAP power spectra and ACSF for many-element atomistic ML."""

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
from .recovery import RankReport, read_features, recover, write_features
from .soap import SOAP

__all__ = [
    "ACSF",
    "SOAP",
    "Features",
    "RankReport",
    "acsf_length",
    "behler_preset",
    "descriptor_length",
    "distance_correlation",
    "imbalance_plane",
    "information_imbalance",
    "read_features",
    "recover",
    "sensitivity_eigenvalues",
    "write_features",
]
__version__ = "0.1.0"
