"""SOAP with GAP's radial basis against quippy's ``soap`` descriptor, values and gradients.

Conventions (read from GAP's ``descriptors.F90``; fixed, not fitted):

- Radial basis ``EQUISPACED_GAUSS`` (GAP's default): ``radial_basis="gaussian"``.
- GAP's radial coefficients omit the 4π of the density expansion and every l-block is
  multiplied by 1/√(2l+1), so  p_quippy = p_slimsoap / (16π² √(2l+1)). Both put √2 on the
  off-diagonal entries of symmetric blocks.
- Order: GAP runs over the channel pairs (a over density 1; b ≤ a for a symmetric block, all b
  otherwise) and puts l innermost; slimsoap puts l outermost and stores the upper triangle
  (a ≤ b). The permutation is built from ``labels()``.
- quippy appends one trailing column, ``covariance_sigma0`` (0 by default), not a feature.
- ``cutoff_transition_width`` is slimsoap's ``cutoff_width`` (same cosine), ``central_weight``
  is ``center_weight`` (the centre's Gaussian goes to its own species channel, GAP's default
  ``central_reference_all_species=F``).
- (nu_R, nu_S) of GAP's generalised SOAP are the paired compressions of DESIGN §4, with GAP's
  unit-sphere projection, the plain sum over n (``projection="sum"``). GAP's ``Z_map`` is
  ``species_groups`` (groups, then ":" and the groups of the second density), and GAP's
  ``diagonal_radial`` is ``diagonal_radial``; both keep GAP's order of the stored pairs.
- quippy's gradients come per neighbour image; summed over images of the same atom they are
  slimsoap's ∂x_centre/∂r_atom.
"""

import numpy as np
import pytest
from ase.build import molecule

descriptors = pytest.importorskip("quippy.descriptors")

from structures import random_alloy  # noqa: E402

from slimsoap import SOAP  # noqa: E402

#: GAP (nu_R, nu_S) → slimsoap compression (DESIGN §4 table).
GAP_SETTINGS = {
    (2, 2): "nu2",
    (2, 1): "nu1mu1",
    (2, 0): "mu2",
    (1, 2): "nu1nuhat1",
    (1, 1): "nu1muhat1",
    (1, 0): "mu1muhat1",
    (0, 2): "nuhat2",
    (0, 1): "nuhat1muhat1",
    (0, 0): "muhat2",
}


def gap_columns(soap):
    """For each quippy column (but the trailing one): slimsoap's column and the factor to it.

    Pairs a compression does not store (``diagonal_radial``) are absent from both codes.
    """
    labels = soap.labels()
    index = {lab: k for k, lab in enumerate(labels)}
    names1 = list(dict.fromkeys(lab[1] for lab in labels if lab[0] == 0))
    names2 = list(dict.fromkeys(lab[2] for lab in labels if lab[0] == 0))
    symmetric = set(names1) == set(names2)  # then names1 is in channel order
    cols, scale = [], []
    for a, name_a in enumerate(names1):
        for name_b in names1[: a + 1] if symmetric else names2:
            if (0, name_b, name_a) not in index and (0, name_a, name_b) not in index:
                continue
            for l in range(soap.l_max + 1):
                cols.append(index[(l, name_b, name_a) if symmetric else (l, name_a, name_b)])
                scale.append(1.0 / (16.0 * np.pi**2 * np.sqrt(2 * l + 1)))
    assert sorted(cols) == list(range(soap.n_features))
    return np.array(cols), np.array(scale)


def quippy_soap(soap, atoms, gap_options):
    """quippy's values (n_atoms, n_features + 1) and gradients summed per (centre, atom)."""
    z = " ".join(str(z) for z in soap.species_z)
    desc = descriptors.Descriptor(
        f"soap cutoff={soap.r_cut} l_max={soap.l_max} n_max={soap.n_max} "
        f"atom_sigma={soap.sigma} cutoff_transition_width={soap.cutoff_width} "
        f"central_weight={soap.center_weight} normalise=F n_species={len(soap.species_z)} "
        f"species_Z={{{z}}} n_Z={len(soap.species_z)} Z={{{z}}} {gap_options}"
    )
    out = desc.calc(atoms, grad=True)
    n = len(atoms)
    grads = np.zeros((n * n, 3, out["data"].shape[1]))
    pairs = out["grad_index_0based"]
    np.add.at(grads, pairs[:, 0] * n + pairs[:, 1], out["grad_data"])
    return out["data"], grads


def compare(soap, atoms, gap_options=""):
    """Max relative deviation of values and gradients from quippy, per l-block scale."""
    ref, ref_grad = quippy_soap(soap, atoms, gap_options)
    assert ref.shape == (len(atoms), soap.n_features + 1)
    np.testing.assert_array_equal(ref[:, -1], 0.0)  # covariance_sigma0, not a feature
    cols, scale = gap_columns(soap)
    feats = soap.compute(atoms, gradients=True)
    ours = feats.values[:, cols] * scale
    n = len(atoms)
    grads = np.zeros_like(ref_grad[..., :-1])
    grads[feats.gradient_pairs[:, 0] * n + feats.gradient_pairs[:, 1]] = (
        feats.gradients[:, :, cols] * scale
    )
    l_of = np.tile(np.arange(soap.l_max + 1), len(cols) // (soap.l_max + 1))
    worst = []
    for mine, theirs in ((ours, ref[:, :-1]), (grads, ref_grad[..., :-1])):
        for l in range(soap.l_max + 1):
            block = theirs[..., l_of == l]
            assert np.abs(block).max() > 0
            worst.append(np.abs(mine[..., l_of == l] - block).max() / np.abs(block).max())
    return max(worst)


@pytest.mark.parametrize(
    "atoms, species, options",
    [
        (
            molecule("CH3CH2OH"),
            ["H", "C", "N", "O"],  # N absent: its channels stay zero in both codes
            dict(r_cut=4.0, n_max=5, l_max=4, sigma=0.5, cutoff_width=0.5, center_weight=1.0),
        ),
        (
            molecule("HCOOH"),
            ["H", "C", "O"],
            dict(r_cut=3.2, n_max=6, l_max=6, sigma=0.4, cutoff_width=1.0, center_weight=0.0),
        ),
    ],
)
def test_full_spectrum_matches_quippy_molecule(atoms, species, options):
    soap = SOAP(species, radial_basis="gaussian", **options)
    assert compare(soap, atoms) <= 1e-8


def test_full_spectrum_matches_quippy_periodic(periodic):
    # a 4-atom sheared cell smaller than the cutoff: many periodic images of each atom
    soap = SOAP(
        ["Cu", "Ag", "Au"], r_cut=4.5, n_max=5, l_max=4, sigma=0.6, radial_basis="gaussian",
        cutoff_width=0.8, center_weight=0.7,
    )  # fmt: skip
    assert compare(soap, periodic) <= 1e-8


def test_full_spectrum_matches_quippy_alloy():
    atoms = random_alloy(["Cu", "Ag", "Au", "Ni"], repeat=2, seed=2, rattle=0.15)
    soap = SOAP(["Ni", "Cu", "Ag", "Au"], r_cut=4.0, n_max=4, l_max=3, radial_basis="gaussian")
    assert compare(soap, atoms) <= 1e-8


@pytest.mark.parametrize("nu", sorted(GAP_SETTINGS))
def test_generalised_soap_matches_quippy(nu):
    atoms = molecule("CH3CH2OH")
    atoms.positions += np.random.default_rng(0).normal(scale=0.05, size=atoms.positions.shape)
    soap = SOAP(
        ["H", "C", "N", "O"], r_cut=3.5, n_max=3, l_max=3, sigma=0.5, radial_basis="gaussian",
        compression=GAP_SETTINGS[nu], projection="sum",
    )  # fmt: skip
    assert compare(soap, atoms, f"nu_R={nu[0]} nu_S={nu[1]}") <= 1e-8


@pytest.mark.parametrize(
    "compression, options, gap_options",
    [
        ("diagonal_radial", {}, "diagonal_radial=T"),
        ("species_groups", {"groups": [["H", "C"], ["O"]]}, "Z_map={1 6, 8}"),
        (
            "species_groups",
            {"groups": [["H"], ["C", "O"]], "groups2": [["H", "C", "O"]]},
            "Z_map={1, 6 8 : 1 6 8}",
        ),
    ],
)
def test_gap_channel_options_match_quippy(compression, options, gap_options):
    atoms = molecule("CH3CH2OH")
    soap = SOAP(
        ["H", "C", "O"], r_cut=3.5, n_max=3, l_max=3, sigma=0.5, radial_basis="gaussian",
        compression=compression, **options,
    )  # fmt: skip
    assert compare(soap, atoms, gap_options) <= 1e-8
