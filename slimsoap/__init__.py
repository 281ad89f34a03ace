"""slimsoap: compressed SOAP power spectra and ACSF for many-element atomistic ML."""

from .channels import descriptor_length
from .features import Features
from .soap import SOAP

__all__ = ["SOAP", "Features", "descriptor_length"]
__version__ = "0.1.0"
