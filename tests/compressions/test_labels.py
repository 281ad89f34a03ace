"""Every registered compression: length = descriptor_length = number of labels, labels
unique and ordered by l; the capability flags agree with what the calculator does."""

import numpy as np
import pytest
from cases import CASES, IDS, check_length_and_labels, gradient_atoms, make

from slimsoap.soap import compressions
from slimsoap.soap.recovery import recover


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_length_and_labels(case):
    name, options = case
    check_length_and_labels(make(name, options, [gradient_atoms()]))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_flags_match_behaviour(case):
    """seeded ⇔ a seed changes the maps; needs_fit ⇔ compute refuses before fit();
    extra_basis ⇔ a second basis; recoverable ⇔ recover() rebuilds the ν=2 spectrum."""
    name, options = case
    atoms = gradient_atoms()
    soap = make(name, options, [atoms])
    caps = soap.capabilities
    assert caps == soap.spec.capabilities(soap.compression_options)
    assert (soap.seed is not None) == caps.seeded
    assert (soap.extra_basis is not None) == caps.extra_basis == (soap.channels.n_extra > 0)
    assert soap.options.keys() == set(soap.spec.option_names())
    assert set(soap.spec.option_names()) <= soap.to_dict()["params"].keys()
    if caps.needs_fit:
        assert soap.fitted_arrays()
        unfitted = make(name, options)
        with pytest.raises(ValueError, match=r"call soap.fit\(frames\) first"):
            unfitted.compute(atoms)
    else:
        assert soap.fitted_arrays() == {}
        with pytest.raises(ValueError, match=r"fit\(\) only applies to"):
            soap.fit([atoms])
    if caps.seeded:
        other = make(name, {**options, "seed": soap.seed + 1}, [atoms])
        assert np.abs(other.compute(atoms).values - soap.compute(atoms).values).max() > 1e-6
    if caps.recoverable:
        nu2 = make("nu2", {"n_max": soap.n_max})
        full = nu2.compute(atoms).values
        rec, report = recover(soap.compute(atoms), soap, frames=atoms, return_report=True)
        ls = np.array([lab[0] for lab in nu2.labels()])
        ok = report.exact & (report.condition <= 1e8)  # where the report vouches for it
        assert ok[:, 1:].any()
        for i, l in zip(*np.nonzero(ok)):
            ref = full[i, ls == l]
            np.testing.assert_allclose(rec[i, ls == l], ref, rtol=0, atol=1e-8 * np.abs(ref).max())
    else:
        with pytest.raises(ValueError, match="recover|lossless"):
            recover(soap.compute(atoms), soap)


def test_flag_queries_of_the_registry():
    assert set(compressions.names(recoverable=True)) >= {"random", "random_sym", "nu1mustar1"}
    assert "optimal_radial" in compressions.names(needs_fit=True)
    assert "nu2" not in compressions.names(recoverable=True)
    every = compressions.names()
    assert len(every) == len(set(every)) and set(compressions.names(seeded=True)) <= set(every)
    for name in every:
        spec = compressions.get(name)
        assert spec.name == name and spec.description
        assert spec.example_options(["H", "C", "O"])
