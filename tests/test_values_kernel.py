"""The values kernel (panels of p_l = (X_l W1)^T (X_l W2), projections in the kernel) against
a plain NumPy einsum on random inputs, for several widths, maps and packed patterns."""

import numpy as np
import pytest

import slimsoap
from slimsoap._kernels.contraction import packed_values
from slimsoap.soap.compressions.maps import full, make_block, triangle
from slimsoap.soap.panels import value_arrays

C = 12  # coefficient channels
RADIAL = 4  # radial channels per species of the "species" maps (3 species)


def _map(kind: str, rng, k: int) -> np.ndarray | None:
    if kind == "identity":
        return None
    if kind == "dense":
        return rng.normal(size=(C, k))
    if kind == "total":  # one non-zero per row, weighted
        w = np.zeros((C, k))
        w[np.arange(C), np.arange(C) % k] = rng.uniform(0.5, 2.0, C)
        return w
    if kind == "species":  # 3 species × 4 radial onto k/4 groups: a weight per species
        groups = k // RADIAL
        A = np.zeros((C // RADIAL, groups))
        A[np.arange(C // RADIAL), np.arange(C // RADIAL) % groups] = rng.uniform(-2, 2, 3)
        return np.kron(A, np.eye(RADIAL))
    # banded, with a zero row: rows non-zero over different column ranges
    w = rng.normal(size=(C, k))
    for c in range(C):
        w[c, : c % 3] = 0.0
        w[c, k - (c % 2) :] = 0.0
    w[C // 2] = 0.0
    return w


def _pattern(name: str, k1: int, k2: int, symmetric: bool, rng):
    if name == "default":
        return triangle(k1, k2) if symmetric else full(k1, k2)
    rows, cols, scale = triangle(k1, k2) if symmetric else full(k1, k2)
    if name == "first_rows":  # random_sym's truncation
        keep = rows < 3
    elif name == "diagonal":
        keep = rows == cols
    else:  # any subset, in order
        keep = rng.random(len(rows)) < 0.4
        keep[0] = True
    return rows[keep], cols[keep], scale[keep]


def _project(xl, w):
    return xl if w is None else np.einsum("imc,ck->imk", xl, w)


def _packed(x, blocks, magnitude=False):
    """Σ_m (X W1)[m, a] (X W2)[m, b] of the stored entries, l by l, concatenated; with
    ``magnitude`` the same sums over |X|, |W1|, |W2| (the size of the terms summed)."""
    f = abs if magnitude else (lambda a: a)
    parts = []
    for xl, b in zip(x, blocks):
        w2 = b.w1 if b.symmetric else b.w2
        y1 = _project(f(xl), None if b.w1 is None else f(b.w1))
        y2 = _project(f(xl), None if w2 is None else f(w2))
        parts.append(np.einsum("ima,imb->iab", y1, y2)[:, b.rows, b.cols] * b.scale)
    return np.concatenate(parts, 1)


def _reference(x, blocks):
    """The packed values and the size of their terms (for the rounding bound)."""
    return _packed(x, blocks), _packed(x, blocks, magnitude=True)


CASES = [
    # (map 1, map 2 or "sym", K1, K2, pattern)
    ("identity", "sym", C, C, "default"),  # ν=2
    ("identity", "total", C, 3, "default"),  # ν,μ=1,1 (transposed panels: K1 > K2)
    ("identity", "total", C, 1, "default"),
    ("identity", "total", C, 8, "default"),  # K2 ≥ 4: four interleaved rows per panel
    ("dense", "sym", 5, 5, "first_rows"),
    ("dense", "dense", 4, 9, "default"),  # K1 < K2: row panels
    ("banded", "banded", 7, 6, "subset"),
    ("total", "sym", 4, 4, "diagonal"),
    ("identity", "identity", C, C, "subset"),
    ("banded", "sym", 8, 8, "subset"),
    ("identity", "species", C, 4, "default"),  # ν,μ=1,1 of weighted species: diagonal runs
    ("species", "sym", 8, 8, "default"),  # μ=2-like over two groups, runs in map 1
    ("species", "species", 4, 8, "subset"),
]


@pytest.mark.parametrize("kind1,kind2,k1,k2,pattern", CASES)
def test_values_kernel_equals_einsum(kind1, kind2, k1, k2, pattern):
    rng = np.random.default_rng(k1 * 31 + k2)
    symmetric = kind2 == "sym"
    L, n = 4, 7
    blocks = []
    for _ in range(L + 1):
        w1 = _map(kind1, rng, k1)
        w2 = w1 if symmetric else _map(kind2, rng, k2)
        widths = (k1, k1 if symmetric else k2)
        names = [[f"{i}" for i in range(k)] for k in widths]
        block = make_block(w1, w2, *names, symmetric, _pattern(pattern, *widths, symmetric, rng))
        blocks.append(block)
    x = tuple(rng.normal(size=(n, 2 * l + 1, C)) for l in range(L + 1))
    x[2][3] = 0.0  # a centre with a zero block
    for xl in x:  # zero channels, whose sums the kernel skips: centre 1 has only channels
        xl[1][:, :4] = 0.0  # 4:8 (one species of three), centre 4 lacks the last three,
        xl[1][:, 8:] = 0.0  # centre 5 one in the middle
        xl[4][:, 9:] = 0.0
        xl[5][:, 6] = 0.0
    want, size = _reference(x, blocks)
    plan = value_arrays(blocks, C)
    got = np.full_like(want, np.nan)
    packed_values(x, plan, got, 0, n)
    assert np.all(np.isfinite(got))
    np.testing.assert_array_less(np.abs(got - want), 1e-14 * size + 1e-300)
    # any split of the centres gives the same bits
    parts = np.full_like(want, np.nan)
    for a, b in [(0, 2), (2, 3), (3, n)]:
        packed_values(x, plan, parts, a, b)
    np.testing.assert_array_equal(parts, got)
    # float32 output: the float64 values rounded once
    got32 = np.empty(want.shape, dtype=np.float32)
    packed_values(x, plan, got32, 0, n)
    np.testing.assert_array_equal(got32, got.astype(np.float32))


def test_column_major_blocks_store_four_rows_at_a_time():
    """ν,μ=1,1-like blocks ((X W)^T X stored column-major, K2 = 8) take the interleaved store
    (four consecutive packed columns per step), so the case above exercises it; row-major
    blocks (ν=2) do not."""
    rng = np.random.default_rng(5)
    total = make_block(None, _map("total", rng, 8), [str(i) for i in range(C)],
                       [str(i) for i in range(8)], False, full(C, 8))  # fmt: skip
    nu2 = make_block(None, None, *[[str(i) for i in range(C)]] * 2, True, triangle(C, C))
    for block, expected in ((total, True), (nu2, False)):
        plan = value_arrays([block], C)
        assert plan.panels[:, 13].any() == expected


def _panel_stores(panel):
    """(row, entries, columns) stored by each row of one panel."""
    r, c, n, step, n_rows = panel[:5]
    for i in range(n_rows):
        e, d = panel[5 + 2 * i], panel[6 + 2 * i]
        yield r + i, e + step * np.arange(n - d), c + d + np.arange(n - d)


def test_panels_cover_every_entry_once():
    from slimsoap.soap.panels import _row_panels, _transposed_panels

    rows9, cols9, _ = triangle(9, 9)
    some = np.random.default_rng(0).random(len(rows9)) < 0.5
    n_rows = set()
    for rows, cols in [(rows9, cols9), full(6, 4)[:2], full(3, 5)[:2], (rows9[some], cols9[some])]:
        seen = np.zeros(len(rows), dtype=int)
        for panel in _row_panels(rows, cols, 0):
            assert panel[3] == 1 and panel[4] in (1, 2, 4)
            n_rows.add(int(panel[4]))
            for r, entries, columns in _panel_stores(panel):
                seen[entries] += 1
                assert np.all(rows[entries] == r) and np.all(cols[entries] == columns)
        np.testing.assert_array_equal(seen, 1)
    assert n_rows == {1, 2, 4}
    for k2 in (1, 3, 5, 8):
        seen = np.zeros(6 * k2, dtype=int)
        for panel in _transposed_panels(6, k2, 0):
            # row b of p^T over all 6 columns a: entry (a, b) of the row-major block is a·k2 + b
            for b, entries, columns in _panel_stores(panel):
                np.testing.assert_array_equal(columns, np.arange(6))
                np.testing.assert_array_equal(entries, columns * k2 + b)
                seen[entries] += 1
        np.testing.assert_array_equal(seen, 1)


def _one_row_panels(plan):
    """The plan with every panel cut into one-row panels over the same columns."""
    panels, ptr = [], [0]
    for l in range(len(plan.panel_ptr) - 1):
        for panel in plan.panels[plan.panel_ptr[l] : plan.panel_ptr[l + 1]]:
            for i in range(panel[4]):
                one = np.zeros_like(panel)
                one[:5] = panel[0] + i, panel[1], panel[2], panel[3], 1
                one[5:7] = panel[5 + 2 * i : 7 + 2 * i]
                panels.append(one)
        ptr.append(len(panels))
    return plan._replace(panels=np.array(panels), panel_ptr=np.array(ptr, dtype=np.int64))


def _random_blocks(kind1, kind2, k1, k2, pattern, rng, n_l):
    """``n_l`` blocks (l = 0 .. n_l - 1) of random maps of the kinds given, storing
    ``pattern`` (map 2 "sym": symmetric blocks)."""
    symmetric = kind2 == "sym"
    blocks = []
    for _ in range(n_l):
        w1 = _map(kind1, rng, k1)
        w2 = w1 if symmetric else _map(kind2, rng, k2)
        widths = (k1, k1 if symmetric else k2)
        names = [[f"{i}" for i in range(k)] for k in widths]
        stored = _pattern(pattern, *widths, symmetric, rng)
        blocks.append(make_block(w1, w2, *names, symmetric, stored))
    return blocks


@pytest.mark.parametrize("kind1,kind2,k1,k2,pattern", CASES)
def test_panel_rows_do_not_change_the_bits(kind1, kind2, k1, k2, pattern):
    """Rows computed four or two at a time give the numbers of rows computed one by one."""
    rng = np.random.default_rng(k1 * 7 + k2)
    blocks = _random_blocks(kind1, kind2, k1, k2, pattern, rng, 5)
    x = tuple(rng.normal(size=(6, 2 * l + 1, C)) for l in range(5))
    plan = value_arrays(blocks, C)
    grouped = np.full((6, len(plan.scale)), np.nan)
    packed_values(x, plan, grouped, 0, 6)
    single = np.full_like(grouped, np.nan)
    packed_values(x, _one_row_panels(plan), single, 0, 6)
    np.testing.assert_array_equal(grouped, single)


def test_calculator_values_equal_einsum_of_the_expansion():
    """The whole values path (per-l blocks from the expansion, the kernel) against einsum of
    the expansion's coefficients, for ν=2, ν,μ=1,1 and a random map."""
    from ase.build import bulk

    rng = np.random.default_rng(5)
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    atoms.symbols = rng.choice(["Ni", "Cu", "Pd"], len(atoms))
    atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
    for name, options in [("nu2", {}), ("nu1mu1", {}), ("random", {"seed": 1})]:
        soap = slimsoap.SOAP(["Ni", "Cu", "Pd"], 4.0, 4, 3, compression=name, **options)
        c = soap.expand(atoms).coefficients
        x = tuple(
            c[..., l * l : (l + 1) ** 2].reshape(len(c), -1, 2 * l + 1).transpose(0, 2, 1)
            for l in range(4)
        )
        want, size = _reference(x, soap.channels.blocks)
        got = soap.compute(atoms).values
        np.testing.assert_array_less(np.abs(got - want), 1e-13 * size + 1e-300)


def test_stream_blocks_are_the_expansion_coefficients_bit_for_bit():
    """expand_blocks accumulates X_l in place: the same sums, in the same order, as
    expand_density's coefficients."""
    from ase.build import bulk, molecule

    from slimsoap.soap.expansion import coefficient_blocks
    from slimsoap.systems.neighbours import neighbour_list

    rng = np.random.default_rng(2)
    cell = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    cell.symbols = rng.choice(["Ni", "Cu", "H"], len(cell))
    cell.positions += rng.normal(scale=0.1, size=cell.positions.shape)
    for atoms in (cell, molecule("CH3OH")):
        soap = slimsoap.SOAP(["H", "C", "O", "Ni", "Cu"], 4.0, 5, 4, center_weight=0.7)
        species = np.searchsorted(soap.species_z, atoms.numbers)
        stream, _ = soap._coefficient_stream(species, neighbour_list(atoms, 4.0, 0), False)
        want = coefficient_blocks(soap.expand(atoms).coefficients, 4)
        for got, ref in zip(stream.blocks(0, len(atoms)), want):
            np.testing.assert_array_equal(got, ref)
        parts = [stream.blocks(a, b) for a, b in [(0, 3), (3, len(atoms))]]
        for l, ref in enumerate(want):
            np.testing.assert_array_equal(np.concatenate([p[l] for p in parts]), ref)


def _cut_columns(plan, width):
    """The plan with every panel cut into one-row panels of at most ``width`` columns."""
    panels, ptr = [], [0]
    one_row = _one_row_panels(plan)
    for l in range(len(one_row.panel_ptr) - 1):
        for p in one_row.panels[one_row.panel_ptr[l] : one_row.panel_ptr[l + 1]]:
            r, c, n, step, _, e, d = p[:7]
            for s in range(0, n, width):
                dd = max(d - s, 0)  # the piece's first stored column, from its start
                if s + dd >= n or s + dd >= s + width:
                    continue
                piece = np.zeros_like(p)
                piece[:7] = r, c + s, min(width, n - s), step, 1, e + (s + dd - d) * step, dd
                panels.append(piece)
        ptr.append(len(panels))
    return plan._replace(panels=np.array(panels), panel_ptr=np.array(ptr, dtype=np.int64))


@pytest.mark.parametrize("kind2,k2", [("sym", 40), ("total", 8)])
def test_long_runs_and_absent_species_groups(kind2, k2):
    """40 channels (5 species × 8): all-zero channel groups anywhere (an absent species in
    the middle of the order; rows on them skipped, columns summed) give exact zeros, in
    symmetric blocks and in blocks against species sums; the values equal einsum, and the
    bits equal those of the same plan cut into one-row panels of 8 columns."""
    c40 = 40
    rng = np.random.default_rng(k2)
    symmetric = kind2 == "sym"
    blocks = []
    for _ in range(5):
        w2 = None
        if not symmetric:  # species sums, weighted
            w2 = np.zeros((c40, k2))
            w2[np.arange(c40), np.arange(c40) % k2] = rng.uniform(0.5, 2.0, c40)
        names = [[f"{i}" for i in range(k)] for k in (c40, k2)]
        stored = triangle(c40, c40) if symmetric else full(c40, k2)
        blocks.append(make_block(None, w2, *names, symmetric, stored))
    n = 6
    x = tuple(rng.normal(size=(n, 2 * l + 1, c40)) for l in range(5))
    for xl in x:
        xl[1][:, 8:16] = 0.0  # species 2 absent
        xl[2][:, 16:32] = 0.0  # species 3 and 4 absent
        xl[3][:, :8] = 0.0  # species 1 and 5 absent
        xl[3][:, 32:] = 0.0
        xl[4][:, 4:8] = 0.0  # half a species' channels zero
    want, size = _reference(x, blocks)
    plan = value_arrays(blocks, c40)
    got = np.full_like(want, np.nan)
    packed_values(x, plan, got, 0, n)
    np.testing.assert_array_less(np.abs(got - want), 1e-14 * size + 1e-300)
    assert np.all(got[1][want[1] == 0.0] == 0.0) and np.count_nonzero(want[1] == 0.0) > 0
    short = np.full_like(got, np.nan)
    packed_values(x, _cut_columns(plan, 8), short, 0, n)
    np.testing.assert_array_equal(short, got)


@pytest.mark.parametrize("kind1,kind2,k1,k2,pattern", [c for c in CASES if "species" in c[:2]])
def test_diagonal_runs_give_the_bits_of_the_map_rows(kind1, kind2, k1, k2, pattern):
    """Species maps with identity radial blocks project by diagonal runs; the same plan
    projecting by the rows of its maps gives the same bits."""
    rng = np.random.default_rng(k1 + 3 * k2)
    blocks = _random_blocks(kind1, kind2, k1, k2, pattern, rng, 4)
    plan = value_arrays(blocks, C)
    for i, kind in enumerate((kind1, kind2)):
        used = plan.run_ptr[i, 1:] > plan.run_ptr[i, :-1]
        assert used.all() == (kind == "species"), (i, kind)
    x = tuple(rng.normal(size=(5, 2 * l + 1, C)) for l in range(4))
    x[1][2][:, :RADIAL] = 0.0  # a species absent
    runs = np.full((5, len(plan.scale)), np.nan)
    packed_values(x, plan, runs, 0, 5)
    by_rows = plan._replace(run_ptr=np.zeros_like(plan.run_ptr))
    rows = np.full_like(runs, np.nan)
    packed_values(x, by_rows, rows, 0, 5)
    np.testing.assert_array_equal(runs, rows)


def test_diagonal_runs_of_maps():
    from slimsoap.soap.panels import diagonal_runs

    A = np.array([[1.0, 0.0], [0.0, -0.5], [2.0, 0.0]])
    w = np.kron(A, np.eye(4))
    runs, weights = diagonal_runs(w)
    np.testing.assert_array_equal(runs, [[0, 0, 4], [4, 4, 4], [8, 0, 4]])
    np.testing.assert_array_equal(weights, [1.0, -0.5, 2.0])
    rebuilt = np.zeros_like(w)
    for (s, t, n), v in zip(runs, weights, strict=True):
        rebuilt[s + np.arange(n), t + np.arange(n)] = v
    np.testing.assert_array_equal(rebuilt, w)
    # a zero row is in no run; equal weights on one diagonal make one run
    w[5] = 0.0
    runs, _ = diagonal_runs(w)
    np.testing.assert_array_equal(runs, [[0, 0, 4], [4, 4, 1], [6, 6, 2], [8, 0, 4]])
    assert diagonal_runs(np.eye(6))[0].tolist() == [[0, 0, 6]]
    # declined: two non-zeros in a row, runs of one on average, nothing to project
    assert diagonal_runs(np.ones((4, 2))) is None
    assert diagonal_runs(np.diag([1.0, 2.0, 3.0, 4.0])) is None
    assert diagonal_runs(np.zeros((4, 4))) is None
    assert diagonal_runs(np.zeros((0, 3))) is None
