"""slimsoap: compressed SOAP power spectra and ACSF for many-element atomistic ML.

The public names below load on first use (PEP 562), so ``import slimsoap`` imports
neither numba nor scipy nor the analyses and models until they are needed.
"""

from slimsoap._lazy import lazy_attributes

_EXPORTS = {
    "ACSF": "slimsoap.acsf.calculator",
    "acsf_length": "slimsoap.acsf.calculator",
    "behler_preset": "slimsoap.acsf.presets",
    "Bispectrum": "slimsoap.bispectrum.calculator",
    "bispectrum_length": "slimsoap.bispectrum.compressions",
    "distance_correlation": "slimsoap.analysis.distances",
    "imbalance_plane": "slimsoap.analysis.imbalance",
    "information_imbalance": "slimsoap.analysis.imbalance",
    "sensitivity_eigenvalues": "slimsoap.analysis.sensitivity",
    "Features": "slimsoap.features",
    "FeatureStore": "slimsoap.io.store",
    "free_cached_buffers": "slimsoap._runtime.buffers",
    "get_num_threads": "slimsoap._runtime.threads",
    "set_num_threads": "slimsoap._runtime.threads",
    "MemoryLimitError": "slimsoap._runtime.limits",
    "memory_limit": "slimsoap._runtime.limits",
    "set_memory_limit": "slimsoap._runtime.limits",
    "SOAP": "slimsoap.soap.calculator",
    "descriptor_length": "slimsoap.soap.compressions",
    "SparseGradients": "slimsoap.features",
    "RankReport": "slimsoap.soap.recovery",
    "recover": "slimsoap.soap.recovery",
    "featurize": "slimsoap.study.featurize",
    "StudyConfig": "slimsoap.study.run",
    "run_study": "slimsoap.study.run",
}
_SUBPACKAGES = ("acsf", "analysis", "data", "io", "models", "soap", "study", "systems")

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"
__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS, _SUBPACKAGES)
