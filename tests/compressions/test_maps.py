"""Every compression equals the packed block W1^T P_l W2 of the full ν=2 spectrum.

P_l is rebuilt (unpacked) from the ``nu2`` output of the same environment through its
labels; the maps of the compressions defined by a formula (densities, projections,
embedding presets, groups, masks) are rebuilt here from that formula, the random and
fitted ones are read from the calculator (they are its definition). Tolerance: 1e-10
relative to the largest entry.
"""

import numpy as np
import pytest
from structures import random_cluster

from slimsoap import SOAP

SPECIES = ["H", "C", "O"]
N, L, R_CUT = 3, 3, 4.0
SQ2 = np.sqrt(2.0)


@pytest.fixture(scope="module")
def atoms():
    return random_cluster(["H", "C", "O", "C", "H", "O", "H", "C"], seed=7, box=3.0)


def make(compression, n_max=N, **options):
    return SOAP(SPECIES, R_CUT, n_max, L, sigma=0.5, compression=compression, **options)


def full_spectrum(atoms, n_max=N):
    """Unpacked P_l, (n_atoms, L+1, S·N, S·N), from the packed nu2 output and its labels."""
    soap = make("nu2", n_max)
    x = soap.compute(atoms).values
    C = len(SPECIES) * n_max
    index = {f"{s}:n{n}": a * n_max + n for a, s in enumerate(SPECIES) for n in range(n_max)}
    P = np.zeros((len(atoms), L + 1, C, C))
    for col, (l, a, b) in enumerate(soap.labels()):
        i, j = index[a], index[b]
        v = x[:, col] / (1.0 if i == j else SQ2)
        P[:, l, i, j] = v
        P[:, l, j, i] = v
    return P


def pack(block, pattern):
    """Packed entries of a (n, K1, K2) block; pattern: 'tri', 'full', 'diag' or (rows, cols)."""
    k1, k2 = block.shape[1:]
    if pattern == "full":
        return block.reshape(len(block), -1)
    if pattern == "diag":
        return np.einsum("naa->na", block)
    if pattern == "tri":
        rows, cols = np.triu_indices(k1)
    else:
        rows, cols = pattern
    return block[:, rows, cols] * np.where(rows == cols, 1.0, SQ2)


def expected(P, maps):
    """Concatenated packed W1^T P_l W2 over l; maps: per l (W1, W2, pattern)."""
    out = []
    for l, (w1, w2, pattern) in enumerate(maps):
        out.append(pack(np.einsum("ak,nab,bq->nkq", w1, P[:, l], w2), pattern))
    return np.concatenate(out, axis=1)


def check(soap, atoms, maps, P):
    got = soap.compute(atoms).values
    ref = expected(P, maps)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    assert np.abs(ref).max() > 0


def densities(h):
    """Per l maps of the four densities for S species, N radial functions."""
    S, C = len(SPECIES), len(SPECIES) * N
    eye = np.eye(C)
    total = np.zeros((C, N))
    for a in range(S):
        total[a * N : (a + 1) * N] = np.eye(N)
    out = []
    for l in range(L + 1):
        proj = np.zeros((C, S))
        for a in range(S):
            proj[a * N : (a + 1) * N, a] = h[l]
        out.append(
            {
                "element": eye,
                "total": total,
                "element_projected": proj,
                "total_projected": proj.sum(axis=1, keepdims=True),
            }
        )
    return out


PAIRED = {
    "nu2": ("element", "element"),
    "nu1mu1": ("element", "total"),
    "mu2": ("total", "total"),
    "nu1nuhat1": ("element", "element_projected"),
    "nu1muhat1": ("element", "total_projected"),
    "nuhat1mu1": ("element_projected", "total"),
    "mu1muhat1": ("total", "total_projected"),
    "nuhat2": ("element_projected", "element_projected"),
    "nuhat1muhat1": ("element_projected", "total_projected"),
    "muhat2": ("total_projected", "total_projected"),
}


@pytest.mark.parametrize("projection", ["exact", "sum"])
@pytest.mark.parametrize("name", sorted(PAIRED))
def test_paired_densities(atoms, name, projection):
    P = full_spectrum(atoms)
    soap = make(name, projection=projection)
    h = soap.basis.projection() if projection == "exact" else np.ones((L + 1, N))
    d1, d2 = PAIRED[name]
    maps = [(d[d1], d[d2], "tri" if d1 == d2 else "full") for d in densities(h)]
    check(soap, atoms, maps, P)


def test_exact_projection_is_the_radial_integral():
    """h_nl = ∫ r² g_nl(r) dr, by quadrature of the basis functions."""
    soap = make("nuhat2")
    r = np.linspace(0.0, 30.0, 300001)
    g = soap.basis.functions(r)  # (R, L+1, N)
    h = np.trapezoid(r[:, None, None] ** 2 * g, r, axis=0)
    np.testing.assert_allclose(soap.basis.projection(), h, rtol=1e-7, atol=1e-9)


def test_random(atoms):
    P = full_spectrum(atoms)
    soap = make("random", seed=11)
    maps = []
    for l, block in enumerate(soap.channels.blocks):
        w = block.w2
        assert w.shape == (len(SPECIES) * N, 2 * l + 1)
        maps.append((np.eye(len(SPECIES) * N), w, "full"))
    check(soap, atoms, maps, P)


def test_random_sym(atoms):
    P = full_spectrum(atoms)
    soap = make("random_sym", seed=5)
    C = len(SPECIES) * N
    maps = []
    for l, block in enumerate(soap.channels.blocks):
        q = block.w2
        assert q.shape == (C, C)
        k = 2 * l + 1
        rows = np.concatenate([np.full(C - a, a) for a in range(k)])
        cols = np.concatenate([np.arange(a, C) for a in range(k)])
        maps.append((q, q, (rows, cols)))
    check(soap, atoms, maps, P)


def test_random_and_random_sym_store_nu2_blocks_where_2l_plus_1_reaches_ns(atoms):
    """With N·S = 3 (N=1): l=0 compresses; l ≥ 1 (2l+1 ≥ 3) is stored as the ν=2 triangle."""
    P = full_spectrum(atoms, n_max=1)
    for name in ("random", "random_sym"):
        soap = make(name, n_max=1, seed=2)
        w0 = soap.channels.blocks[0]
        first = (
            (np.eye(3), w0.w2, "full")
            if name == "random"
            else (w0.w2, w0.w2, (np.zeros(3, int), np.arange(3)))
        )
        maps = [first] + [(np.eye(3), np.eye(3), "tri")] * L
        check(soap, atoms, maps, P)


def embedding_maps(u):
    w = np.kron(u, np.eye(N))
    return [(w, w, "tri")] * (L + 1)


def test_embed_presets_follow_the_paper(atoms):
    """Paper §IV.2: d_J=2 → (1, rank by Z); d_J=3 → (1, period, group), S = (1, 3, 16)."""
    P = full_spectrum(atoms)
    # H, C, O: ranks 1, 2, 3; periods 1, 2, 2; groups 1, 14, 16
    u2 = np.array([[1, 1], [1, 2], [1, 3]], dtype=float)
    u3 = np.array([[1, 1, 1], [1, 2, 14], [1, 2, 16]], dtype=float)
    check(make("embed", embedding="atomic_number"), atoms, embedding_maps(u2), P)
    check(make("embed", embedding="periodic_table"), atoms, embedding_maps(u3), P)
    user = np.array([[0.3, -1.0], [2.0, 0.5], [-0.7, 0.1]])
    check(make("embed", embedding=user), atoms, embedding_maps(user), P)


def test_periodic_table_positions():
    from slimsoap.soap.compressions.embeddings import group, period

    # S, Fe, Xe, Cs, La, Lu, Hf, Rn, He, F
    cases = {
        16: (3, 16),
        26: (4, 8),
        54: (5, 18),
        55: (6, 1),
        57: (6, 3),
        71: (6, 3),
        72: (6, 4),
        86: (6, 18),
        2: (1, 18),
        9: (2, 17),
    }
    for z, (p, g) in cases.items():
        assert (period(z), group(z)) == (p, g), z


def test_species_diagonal_and_diagonal_radial(atoms):
    P = full_spectrum(atoms)
    C = len(SPECIES) * N
    rows, cols = np.triu_indices(C)
    same_species = rows // N == cols // N
    same_n = rows % N == cols % N
    eye = np.eye(C)
    sd = [(eye, eye, (rows[same_species], cols[same_species]))] * (L + 1)
    check(make("species_diagonal"), atoms, sd, P)
    dr = [(eye, eye, (rows[same_n], cols[same_n]))] * (L + 1)
    check(make("diagonal_radial"), atoms, dr, P)


def test_species_groups(atoms):
    P = full_spectrum(atoms)
    g1 = np.array([[1, 0], [0, 1], [0, 1]], dtype=float)  # {H}, {C, O}
    w1 = np.kron(g1, np.eye(N))
    soap = make("species_groups", groups=[["H"], ["C", "O"]])
    check(soap, atoms, [(w1, w1, "tri")] * (L + 1), P)
    g2 = np.array([[1], [1], [1]], dtype=float)  # everything together: the total density
    w2 = np.kron(g2, np.eye(N))
    soap = make("species_groups", groups=[["H"], ["C", "O"]], groups2=[["H", "C", "O"]])
    check(soap, atoms, [(w1, w2, "full")] * (L + 1), P)


@pytest.mark.parametrize(
    "opts, pattern",
    [
        ({"n_channels": 4}, "tri"),
        ({"n_channels": 4, "sym_mix": False}, "full"),
        ({"n_channels": 4, "coupling": "elementwise"}, "diag"),
        ({"n_channels": 2, "mix": "species"}, "tri"),
        ({"n_channels": 2, "mix": "radial", "sym_mix": False, "coupling": "elementwise"}, "diag"),
    ],
)
def test_tensor_reduced(atoms, opts, pattern):
    P = full_spectrum(atoms)
    soap = make("tensor_reduced", seed=3, **opts)
    maps = [(b.w1, b.w2, pattern) for b in soap.channels.blocks]
    if opts.get("sym_mix", True):
        assert all(b.w1 is b.w2 for b in soap.channels.blocks)
    else:
        assert not np.allclose(maps[0][0], maps[0][1])
    check(soap, atoms, maps, P)


def test_optimal_radial_is_the_pca_of_the_coefficients(atoms):
    P = full_spectrum(atoms)
    soap = make("optimal_radial", n_components=4).fit([atoms])
    maps = []
    for l, b in enumerate(soap.channels.blocks):
        moment = P[:, l].sum(axis=0)  # Σ_centres X_l^T X_l
        w = b.w1
        np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-10)
        lam = np.linalg.eigvalsh(moment)[::-1][:4]
        np.testing.assert_allclose(np.diag(w.T @ moment @ w), lam, rtol=1e-9, atol=1e-12)
        maps.append((w, w, "tri"))
    check(soap, atoms, maps, P)


def test_nu1mustar1_element_basis(atoms):
    n_max = 2 * L + 1
    P = full_spectrum(atoms, n_max=n_max)
    soap = make("nu1mustar1", n_max=n_max, mustar_basis="element")
    C = len(SPECIES) * n_max
    maps = []
    for l in range(L + 1):
        w2 = np.zeros((C, 2 * l + 1))
        for a in range(len(SPECIES)):
            w2[a * n_max : a * n_max + 2 * l + 1] = np.eye(2 * l + 1)
        maps.append((np.eye(C), w2, "full"))
    check(soap, atoms, maps, P)


def test_nu1mustar1_separate_basis(atoms):
    """Second factor: the total density in a second basis of 2L+1 functions (same pass)."""
    soap = make("nu1mustar1")
    c = soap.expand(atoms).coefficients
    n_star = 2 * L + 1
    assert c.shape[2] == N + n_star
    elem = make("nu2").expand(atoms).coefficients
    star = make("nu2", n_max=n_star).expand(atoms).coefficients
    np.testing.assert_array_equal(c[:, :, :N], elem)
    np.testing.assert_array_equal(c[:, :, N:], star)
    ref = []
    for l in range(L + 1):
        x = elem[..., l * l : (l + 1) ** 2]  # (n, S, N, 2l+1)
        t = star[:, :, : 2 * l + 1, l * l : (l + 1) ** 2].sum(axis=1)  # (n, 2l+1, 2l+1)
        ref.append(np.einsum("iarm,ikm->iark", x, t).reshape(len(atoms), -1))
    ref = np.concatenate(ref, axis=1)
    got = soap.compute(atoms).values
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
