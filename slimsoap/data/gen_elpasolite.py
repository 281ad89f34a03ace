"""Elpasolite ABC2D6 crystals (Fm-3m prototype) over 39 main-group elements, for scaling in S.

The prototype (space group 225, conventional cell A4 B4 C8 D24, primitive cell 10 atoms):
A on 4a (0, 0, 0), B on 4b (½, ½, ½), C on 8c (¼, ¼, ¼), D on 24e (x, 0, 0), as in Faber
et al., PRL 117, 135502 (2016). A, B, C, D are four distinct elements drawn from
``ELPASOLITE_ELEMENTS`` (or a subset given by the caller).

Geometry is a heuristic from covalent radii r, not relaxed: along the cube edge
A–D–B, a = 2 (r_A + r_D + r_B + r_D) and x = (r_A + r_D) / a; a is then raised if needed so
that the C–D distance a √((¼ − x)² + ⅛) is at least r_C + r_D.

By default no energies (``info["energy_kind"] = "none"``). With ``energies=True`` a
GFN1-xTB single point (tblite, periodic, neutral cell) gives ``info["energy"]`` (eV) and
``arrays["forces"]``, labelled ``info["energy_kind"] = "gfn1_proxy"``: a proxy for scaling
studies, not a DFT formation energy. SCF failures are skipped and counted.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii
from ase.spacegroup import crystal

#: Main-group elements (groups 1, 2, 13-18) of periods 1-6 up to Bi: 39 elements.
ELPASOLITE_ELEMENTS: tuple[str, ...] = (
    "H", "He",
    "Li", "Be", "B", "C", "N", "O", "F", "Ne",
    "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar",
    "K", "Ca", "Ga", "Ge", "As", "Se", "Br", "Kr",
    "Rb", "Sr", "In", "Sn", "Sb", "Te", "I", "Xe",
    "Cs", "Ba", "Tl", "Pb", "Bi",
)  # fmt: skip


def elpasolite(a_site: str, b_site: str, c_site: str, d_site: str) -> Atoms:
    """Primitive 10-atom cell of the elpasolite A B C2 D6 (module docstring for geometry)."""
    r = {s: covalent_radii[atomic_numbers[s]] for s in (a_site, b_site, c_site, d_site)}
    a = 2.0 * (r[a_site] + r[d_site] + r[b_site] + r[d_site])
    x = (r[a_site] + r[d_site]) / a
    a = max(a, (r[c_site] + r[d_site]) / np.sqrt((0.25 - x) ** 2 + 0.125))
    atoms = crystal(
        [a_site, b_site, c_site, d_site],
        basis=[(0.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), (x, 0.0, 0.0)],
        spacegroup=225,
        cellpar=[a, a, a, 90.0, 90.0, 90.0],
        primitive_cell=True,
    )
    atoms.info = {"prototype": "ABC2D6_Fm-3m"}
    atoms.info["sites"] = f"{a_site} {b_site} {c_site} {d_site}"
    return atoms


#: Least binding energy per atom (eV, against GFN1 isolated atoms) a proxy energy may have.
#: Real solids bind by less than ~10 eV/atom (GFN1 gives −3.2 to −3.4 for F₆KMg₂Na and
#: Cl₆KLi₂Na); all-metal cells such as InKMg₂Sr₆ come out of a "converged" SCF at −7,964.
MIN_BINDING = -15.0
#: Largest binding energy per atom (eV) a proxy energy may have. Compressed noble gases at
#: the fixed lattice constant come out unbound by a few eV/atom; beyond +15 the SCF has run
#: away (N S Br H: +4.5 million eV/atom), and ~2 % of such cells made the learning curves'
#: MAE tens of thousands of eV/atom.
MAX_BINDING = 15.0


@functools.cache
def _atom_energy(symbol: str) -> float:
    """GFN1-xTB energy (eV) of one isolated atom; NaN when its SCF fails."""
    from ase.calculators.calculator import CalculationFailed
    from tblite.ase import TBLite

    atom = Atoms(symbol, positions=[[0.0, 0.0, 0.0]])
    atom.calc = TBLite(method="GFN1-xTB", verbosity=0)
    try:
        return float(atom.get_potential_energy())
    except CalculationFailed:
        return float("nan")


def binding_energy(atoms: Atoms, energy: float) -> float:
    """(energy − Σ isolated-atom GFN1 energies) / n_atoms, eV/atom (NaN if an atom fails)."""
    return (energy - sum(_atom_energy(s) for s in atoms.get_chemical_symbols())) / len(atoms)


def _proxy_energy(atoms: Atoms) -> str:
    """Attach GFN1-xTB energy and forces: ``"ok"``, ``"failed"`` (the SCF fails) or
    ``"implausible"`` (binding energy outside :data:`MIN_BINDING` .. :data:`MAX_BINDING`,
    or not finite)."""
    from ase.calculators.calculator import CalculationFailed
    from tblite.ase import TBLite

    atoms.calc = TBLite(method="GFN1-xTB", verbosity=0)
    try:
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    except CalculationFailed:
        return "failed"
    finally:
        atoms.calc = None
    bind = binding_energy(atoms, energy)
    if not (np.isfinite(bind) and MIN_BINDING <= bind <= MAX_BINDING):
        return "implausible"
    atoms.info["energy"] = float(energy)
    atoms.arrays["forces"] = forces
    return "ok"


def generate_elpasolite(
    n: int = 2000,
    seed: int = 0,
    elements: Sequence[str] = ELPASOLITE_ELEMENTS,
    energies: bool = False,
    report: dict | None = None,
) -> Iterator[Atoms]:
    """Yield ``n`` distinct elpasolite cells with random A, B, C, D (all different).

    Args:
        n: number of cells; at most the number of ordered quadruples of ``elements``.
        seed: non-negative integer; the same arguments give identical output.
        elements: at least four of ``ELPASOLITE_ELEMENTS``.
        energies: attach GFN1-xTB proxy energies (slow: ~0.1-0.3 s per cell).
        report: if given, filled with ``written``, ``failed`` (SCF failures) and
            ``implausible`` (energies outside :data:`MIN_BINDING` .. :data:`MAX_BINDING`:
            the SCF of cells with metals on every site can converge to thousands of eV/atom
            below, and some runs away to millions above).
    """
    elements = tuple(elements)
    bad = [e for e in elements if e not in ELPASOLITE_ELEMENTS]
    if bad or len(set(elements)) < 4:
        raise ValueError(
            f"elements must be at least four distinct of {list(ELPASOLITE_ELEMENTS)}; "
            f"got {list(elements)}"
        )
    elements = tuple(sorted(set(elements), key=ELPASOLITE_ELEMENTS.index))
    k = len(elements)
    available = k * (k - 1) * (k - 2) * (k - 3)
    if n > available:
        raise ValueError(f"only {available} distinct ABC2D6 cells exist over {k} elements")
    report = {} if report is None else report
    report.update(written=0, failed=0, implausible=0)
    rng = np.random.default_rng([seed, 2])
    seen: set[tuple[int, ...]] = set()
    while report["written"] < n and len(seen) < available:
        quad = tuple(int(i) for i in rng.choice(k, size=4, replace=False))
        if quad in seen:
            continue
        seen.add(quad)
        atoms = elpasolite(*(elements[i] for i in quad))
        atoms.info["config_type"] = "elpasolite"
        atoms.info["energy_kind"] = "gfn1_proxy" if energies else "none"
        if energies and (outcome := _proxy_energy(atoms)) != "ok":
            report[outcome] += 1
            continue
        report["written"] += 1
        yield atoms
