"""Environments that three-body descriptors cannot tell apart: the ν=2-degenerate pair X±.

The pair of Pozdnyakov et al., "Incompleteness of atomic structure representations",
Phys. Rev. Lett. 125, 166001 (2020), Fig. 1(b), the top row of Fig. S1 of the compressed-SOAP
paper. Its default coordinates are those of that figure as reproduced (integer coordinates,
here scaled by 0.4 Å) in the "three-body counterexample" of Joshi et al., "On the expressive
power of geometric graph neural networks", ICML 2023 (github.com/chaitjo/geometric-gnn-dojo,
``experiments/incompleteness.ipynb``, ``create_three_body_envs``); the PRL's own text was not
available here, so the general family and its proof below are ours.

Construction (one family, seven parameters). A centre O at the origin and four neighbours

    A = (a_x, 0, a_z),   B = (b_x, b_y, b_z),   B' = (-b_x, -b_y, b_z),   C± = (0, ±c_y, c_z);

X+ holds C+, X- holds C-; atoms correspond by name (A ↔ A, B ↔ B, B' ↔ B', C+ ↔ C-), and a
colouring gives each name one element in both members. Let R be the rotation by π about z
and σ the mirror y → -y. Then σA = A and σC+ = C-, so the triangles O-A-C+ and O-A-C- are
congruent; RB = B' and RC+ = C-, so O-B-C+ ≅ O-B'-C- and O-B'-C+ ≅ O-B-C-; every other
triangle (O with two of A, B, B') is shared. The multisets of triangles are therefore equal,
and so is every descriptor that is a sum over neighbour pairs of a function of their
triangle: the SOAP power spectrum (ν=2) for any radial basis, cutoff and smearing, since
p^{ab}_{nn'l} = Σ_{i,j} [s_i = a][s_j = b] F_{nn'l}(r_i, r_j, cos θ_ij). With two elements
the pair stays degenerate exactly when B and B' have the same element (the swapped triangles
then carry the same labels); otherwise the labelled multisets differ — and they differ for
ν,μ=1,1 too, whose pair sum keeps the element of one of the two neighbours (Fig. S1).

The two members are not congruent for generic parameters: no element-preserving
correspondence of the neighbours preserves all distances (:func:`congruent`); the sorted list
of distances is the same in both (the pair is homometric), so that list cannot tell them
apart either. Four-body correlations (the bispectrum) do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from slimsoap._validation import check_finite, species_to_numbers

#: Names of the four neighbours of :func:`pozdnyakov_pair`, in the order of the atoms.
NEIGHBOURS = ("A", "B", "B'", "C")


def _floats(name: str, values: Sequence[float], n: int) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {n} numbers, got {values!r}") from exc
    if out.shape != (n,):
        raise ValueError(f"{name} must be {n} numbers, got {values!r}")
    return check_finite(name, out)


def _symbol(name: str, element: str) -> str:
    if not isinstance(element, str):
        raise TypeError(f"{name} must be a chemical symbol, got {element!r}")
    species_to_numbers([element])  # ValueError for an unknown symbol
    return element


def pozdnyakov_pair(
    colouring: Sequence[str] = ("Cu", "Cu", "Cu", "Cu"),
    centre: str = "Cu",
    *,
    a: Sequence[float] = (2.0, 2.0),
    b: Sequence[float] = (2.0, 2.0, 2.0),
    c: Sequence[float] = (2.0, 2.0),
) -> tuple[Atoms, Atoms]:
    """The ν=2-degenerate pair (X+, X-) of Pozdnyakov et al. (2020), Fig. 1(b).

    Args:
        colouring: elements of the neighbours A, B, B', C (:data:`NEIGHBOURS`), the same
            in both members.
        centre: element of the centre atom (atom 0, at the origin).
        a: (a_x, a_z) of A = (a_x, 0, a_z), Å.
        b: (b_x, b_y, b_z) of B; B' = (-b_x, -b_y, b_z), Å.
        c: (c_y, c_z) of C± = (0, ±c_y, c_z), Å.

    Returns:
        X+ and X-: five-atom non-periodic Atoms, centre first, then A, B, B', C±. Their
        ν=2 spectra are equal whenever B and B' share an element (module docstring).

    Raises:
        ValueError: a colouring of the wrong length or an unknown element, non-finite
            coordinates, two atoms closer than 1e-6 Å, or parameters for which X+ and X- are
            congruent as point sets (e.g. c_y = 0 or a_x = 0), whatever the colouring.
        TypeError: non-numeric coordinates or a non-string element.
    """
    if isinstance(colouring, str) or len(colouring) != len(NEIGHBOURS):
        raise ValueError(
            f"colouring must give one element for each of {NEIGHBOURS}, got {colouring!r}"
        )
    symbols = [_symbol("centre", centre)]
    symbols += [_symbol(f"colouring[{k}]", e) for k, e in enumerate(colouring)]
    (ax, az), (bx, by, bz), (cy, cz) = _floats("a", a, 2), _floats("b", b, 3), _floats("c", c, 2)
    common = [[0.0, 0.0, 0.0], [ax, 0.0, az], [bx, by, bz], [-bx, -by, bz]]
    plus = Atoms(symbols, positions=np.array([*common, [0.0, cy, cz]]))
    minus = Atoms(symbols, positions=np.array([*common, [0.0, -cy, cz]]))
    d = plus.get_all_distances()[np.triu_indices(len(plus), 1)]
    if d.min() < 1e-6:
        raise ValueError(f"two atoms of X+ are {d.min():.3g} Å apart (a={a}, b={b}, c={c})")
    blind = [Atoms("H5", positions=atoms.positions) for atoms in (plus, minus)]
    if congruent(*blind):  # a property of the geometry, whatever the colouring
        raise ValueError(
            f"a={a}, b={b}, c={c} give congruent X+ and X- (a symmetric special case), "
            "not a degenerate pair"
        )
    return plus, minus


def _relative(atoms: Atoms, centre: int) -> np.ndarray:
    if not 0 <= centre < len(atoms):
        raise ValueError(f"centre {centre} is not an atom index (0..{len(atoms) - 1})")
    pos = atoms.positions - atoms.positions[centre]
    return np.delete(pos, centre, axis=0)


def congruent(first: Atoms, second: Atoms, centre: int = 0, atol: float = 1e-8) -> bool:
    """Whether two environments are related by a rotation or reflection about the centre
    combined with a permutation of like neighbours.

    Exact test: point sets with the centre fixed are O(3)-equivalent exactly when some
    correspondence preserves all distances to the centre and between neighbours (equal Gram
    matrices); the correspondence is searched by backtracking over element-preserving
    assignments. Positions are taken as given (no periodic images).

    Args:
        first, second: the environments; atom ``centre`` of each is the centre.
        centre: index of the centre atom in both.
        atol: tolerance on distances, Å.
    """
    p, q = _relative(first, centre), _relative(second, centre)
    if len(first) != len(second) or first.numbers[centre] != second.numbers[centre]:
        return False
    sp, sq = np.delete(first.numbers, centre), np.delete(second.numbers, centre)
    dp, dq = np.linalg.norm(p[:, None] - p[None], axis=-1), np.linalg.norm(q[:, None] - q, axis=-1)
    rp, rq = np.linalg.norm(p, axis=1), np.linalg.norm(q, axis=1)
    match: list[int] = []

    def extend(i: int) -> bool:
        if i == len(p):
            return True
        for j in range(len(q)):
            if j in match or sq[j] != sp[i] or abs(rq[j] - rp[i]) > atol:
                continue
            if all(abs(dq[j, match[k]] - dp[i, k]) <= atol for k in range(i)):
                match.append(j)
                if extend(i + 1):
                    return True
                match.pop()
        return False

    return extend(0)


def triangle_multiset(
    atoms: Atoms,
    centre: int = 0,
    resolve: tuple[bool, bool] = (True, True),
    decimals: int = 8,
) -> list[tuple]:
    """Sorted (s_i, s_j, r_i, r_j, r_ij) over ordered neighbour pairs (i, j), i = j included.

    Three-body descriptors are functions of this multiset: ν=2 of it with the elements of
    both neighbours (``resolve=(True, True)``), ν,μ=1,1 with that of the first only
    (``(True, False)``), μ=2 with neither (``(False, False)``); an element not resolved is
    written ``"*"``. Equal multisets imply equal descriptors; unequal ones do not prove
    different descriptors (a finite basis may not resolve the difference).

    Args:
        atoms: the environment (positions as given, no periodic images).
        centre: index of the centre atom.
        resolve: whether the element of the first / second neighbour is kept.
        decimals: distances (Å) are rounded to this many decimals.
    """
    pos = _relative(atoms, centre)
    sym = np.delete(np.array(atoms.get_chemical_symbols()), centre)
    r = np.round(np.linalg.norm(pos, axis=1), decimals)
    d = np.round(np.linalg.norm(pos[:, None] - pos[None], axis=-1), decimals)
    out = []
    for i in range(len(pos)):
        for j in range(len(pos)):
            si = str(sym[i]) if resolve[0] else "*"
            sj = str(sym[j]) if resolve[1] else "*"
            out.append((si, sj, float(r[i]), float(r[j]), float(d[i, j])))
    return sorted(out)
