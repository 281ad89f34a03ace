"""One calculator per compression (small N, L), shared by the gradient/invariance tests."""

from slimsoap import SOAP

SPECIES = ["H", "C", "O"]

#: (compression, options) for every name of the vocabulary and the option variants.
CASES = [
    ("nu2", {}),
    ("nu1mu1", {}),
    ("mu2", {}),
    ("nu1nuhat1", {}),
    ("nu1muhat1", {}),
    ("nuhat1mu1", {}),
    ("mu1muhat1", {}),
    ("nuhat2", {}),
    ("nuhat1muhat1", {}),
    ("muhat2", {"projection": "sum"}),
    ("nu1mustar1", {}),
    ("nu1mustar1", {"mustar_basis": "element", "n_max": 5}),
    ("random", {"seed": 4}),
    ("random_sym", {"seed": 4}),
    ("embed", {"embedding": "periodic_table"}),
    ("species_diagonal", {}),
    ("diagonal_radial", {}),
    ("species_groups", {"groups": [["H"], ["C", "O"]], "groups2": [["H", "C"], ["O"]]}),
    ("tensor_reduced", {"n_channels": 3}),
    ("tensor_reduced", {"n_channels": 3, "sym_mix": False, "coupling": "elementwise"}),
    ("optimal_radial", {"n_components": 3}),
]

IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def make(name, options, fit_frames=None, **kwargs):
    """Calculator for a case; optimal_radial is fitted on ``fit_frames``."""
    options = dict(options)
    n_max = options.pop("n_max", 3)
    soap = SOAP(SPECIES, 3.5, n_max, 2, sigma=0.5, compression=name, **options, **kwargs)
    if name == "optimal_radial":
        soap.fit(fit_frames)
    return soap
