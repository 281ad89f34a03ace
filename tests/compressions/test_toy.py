"""A compression registered here, and nowhere else, gets values, gradients, invariance,
labels and ``descriptor_length`` from the registry alone.

``toy_diag`` keeps the diagonal entries p_l[a, a] of every ν=2 block, odd l multiplied by
the option ``odd_weight``. Its values are checked against the diagonal of the unpacked ν=2
spectrum (computed by the ``nu2`` calculator and read through its labels).
"""

from dataclasses import dataclass

import numpy as np
import pytest
from cases import (
    SPECIES,
    check_gradients,
    check_invariance,
    check_length_and_labels,
    gradient_atoms,
    invariance_atoms,
)

from slimsoap import SOAP, descriptor_length
from slimsoap._validation import check_positive
from slimsoap.io import calculator_from_dict
from slimsoap.soap import compressions
from slimsoap.soap.compressions.densities import element_names
from slimsoap.soap.compressions.maps import ChannelMap, diagonal, make_block
from slimsoap.soap.compressions.spec import CompressionOptions, CompressionSpec

N, L = 3, 2


@dataclass(frozen=True)
class ToyOptions(CompressionOptions):
    odd_weight: float = 0.5

    def validated(self, compression):
        check_positive(f"{compression}: odd_weight", self.odd_weight)
        return self


def build_toy(ctx):
    names = element_names(ctx)
    blocks = []
    for l in range(ctx.l_max + 1):
        rows, cols, scale = diagonal(ctx.C)
        weight = ctx.options.odd_weight if l % 2 else 1.0
        blocks.append(make_block(None, None, names, names, True, (rows, cols, scale * weight)))
    return ChannelMap(blocks, ctx.n_max)


TOY = CompressionSpec(
    "toy_diag",
    build_toy,
    ToyOptions,
    "diagonal of the ν=2 blocks, odd l weighted",
    example_options=lambda symbols: [{"odd_weight": 0.25}],
)


@pytest.fixture
def toy():
    compressions.register(TOY)
    yield TOY
    compressions.unregister(TOY.name)


def make(**options):
    return SOAP(SPECIES, 3.5, N, L, sigma=0.5, compression="toy_diag", **options)


def test_values_are_the_diagonal_of_the_full_spectrum(toy):
    atoms = invariance_atoms()
    nu2 = SOAP(SPECIES, 3.5, N, L, sigma=0.5)
    x = nu2.compute(atoms).values
    ref = []
    for l in range(L + 1):
        diag = [col for col, (ll, a, b) in enumerate(nu2.labels()) if ll == l and a == b]
        ref.append(x[:, diag] * (0.25 if l % 2 else 1.0))
    ref = np.concatenate(ref, axis=1)
    got = make(odd_weight=0.25).compute(atoms).values
    assert got.shape == ref.shape == (len(atoms), len(SPECIES) * N * (L + 1))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_gradients_invariance_labels_and_length(toy):
    for options in toy.example_options(SPECIES):
        soap = make(**options)
        check_gradients(soap, gradient_atoms())
        check_invariance(soap, invariance_atoms())
        check_length_and_labels(soap)
    assert descriptor_length("toy_diag", 4, 3, 5) == 4 * 5 * 4
    assert make().labels()[:2] == [(0, "H:n0", "H:n0"), (0, "H:n1", "H:n1")]


def test_options_and_flags_come_from_the_spec(toy):
    with pytest.raises(ValueError, match="toy_diag: odd_weight must be > 0"):
        make(odd_weight=-1.0)
    with pytest.raises(ValueError, match=r"\['seed'\] do not apply to compression 'toy_diag'"):
        make(seed=1)
    soap = make()
    assert soap.seed is None and not soap.capabilities.recoverable
    assert calculator_from_dict(soap.to_dict()).options == {"odd_weight": 0.5}
    with pytest.raises(ValueError, match="already registered"):
        compressions.register(TOY)


def test_toy_is_unknown_outside_the_fixture():
    assert "toy_diag" not in compressions.names()
    with pytest.raises(ValueError, match="unknown compression 'toy_diag'"):
        make()
