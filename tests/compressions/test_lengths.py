"""Descriptor lengths equal the DESIGN §4 / paper Table 1 formulas."""

import numpy as np
import pytest

from slimsoap import descriptor_length


def formulas(N, L, S):
    """Lengths from DESIGN §4 (2L+1 < N·S assumed for random / random_sym)."""
    NS = N * S
    return {
        "nu2": NS * (NS + 1) // 2 * (L + 1),
        "nu1mu1": N * N * S * (L + 1),
        "mu2": N * (N + 1) // 2 * (L + 1),
        "nu1nuhat1": N * S * S * (L + 1),
        "nu1muhat1": N * S * (L + 1),
        "nuhat1mu1": S * N * (L + 1),
        "mu1muhat1": N * (L + 1),
        "nuhat2": S * (S + 1) // 2 * (L + 1),
        "nuhat1muhat1": S * (L + 1),
        "muhat2": L + 1,
        "nu1mustar1": NS * (L + 1) ** 2,
        "random": NS * (L + 1) ** 2,
        "random_sym": sum((2 * l + 1) * (NS - l) for l in range(L + 1)),
        "species_diagonal": S * N * (N + 1) // 2 * (L + 1),
        "diagonal_radial": S * (S + 1) // 2 * N * (L + 1),
    }


@pytest.mark.parametrize("N, L, S", [(3, 2, 2), (4, 3, 3), (6, 4, 5), (12, 9, 4), (8, 6, 39)])
def test_lengths_match_formulas(N, L, S):
    for name, expected in formulas(N, L, S).items():
        assert descriptor_length(name, N, L, S) == expected, name


@pytest.mark.parametrize("N, L, S", [(3, 2, 2), (4, 3, 3), (12, 9, 4)])
def test_option_lengths(N, L, S):
    for d_j, emb in [(2, "atomic_number"), (3, "periodic_table"), (4, np.ones((S, 4)))]:
        got = descriptor_length("embed", N, L, S, embedding=emb)
        assert got == N * d_j * (N * d_j + 1) // 2 * (L + 1)
    K = 5
    assert descriptor_length("tensor_reduced", N, L, S, n_channels=K) == K * (K + 1) // 2 * (L + 1)
    assert descriptor_length("tensor_reduced", N, L, S, n_channels=K, sym_mix=False) == K * K * (
        L + 1
    )
    assert descriptor_length(
        "tensor_reduced", N, L, S, n_channels=K, coupling="elementwise"
    ) == K * (L + 1)
    M = K * N  # species-only mixing keeps the radial channels
    assert descriptor_length("tensor_reduced", N, L, S, n_channels=K, mix="species") == M * (
        M + 1
    ) // 2 * (L + 1)
    u = min(7, N * S)  # at most N·S principal components exist
    assert descriptor_length("optimal_radial", N, L, S, n_components=7) == u * (u + 1) // 2 * (
        L + 1
    )


def test_species_groups_length():
    groups = [["H", "C"], ["N", "O", "F"]]
    N, L = 4, 3
    G = 2
    assert descriptor_length("species_groups", N, L, 5, groups=groups) == (
        N * G * (N * G + 1) // 2 * (L + 1)
    )
    groups2 = [["H"], ["C"], ["N", "O", "F"]]
    assert descriptor_length("species_groups", N, L, 5, groups=groups, groups2=groups2) == (
        N * G * N * 3 * (L + 1)
    )


def test_paper_figure_s2_table():
    """Lengths printed in the paper's Fig. S2 table (N=12, L=9, S=4)."""
    N, L, S = 12, 9, 4
    assert descriptor_length("nu2", N, L, S) == 11760
    assert descriptor_length("nu1mu1", N, L, S) == 5760
    assert descriptor_length("nu1mustar1", N, L, S) == 4800
    assert descriptor_length("nu1muhat1", N, L, S) == 480
    assert descriptor_length("embed", N, L, S, embedding="atomic_number") == 3000
    assert descriptor_length("random", N, L, S) == 4800


def test_random_falls_back_to_nu2_blocks_when_2l_plus_1_reaches_ns():
    # N·S = 4: l = 0, 1 compress (1, 3 < 4); l = 2, 3 are stored as ν=2 triangles (10 each)
    assert descriptor_length("random", 2, 3, 2) == 4 * 1 + 4 * 3 + 10 + 10
    assert descriptor_length("random_sym", 2, 3, 2) == 1 * 4 + 3 * 3 + 10 + 10
