"""Amino-acid conformers with and without divalent cations, labelled with GFN2-xTB (tblite).

Systems (each an RDKit molecule built from SMILES of an L-amino acid):

- ``"amino_acid"``: the 20 proteinogenic amino acids, neutral (non-zwitterionic, gas phase);
- ``"capped"``: the same as N-acetyl / N'-methylamide dipeptide analogues (Ace-X-NMe);
- ``"amino_acid+M"``: the amino acid with its C-terminal carboxylate deprotonated and a
  cation M²⁺ (M in Ca, Sr, Ba, Cd, Hg, Pb) next to a carboxylate O, total charge +1;
- ``"capped+M"``: capped Asp / Glu with the side-chain carboxylate deprotonated, plus M²⁺.

Each configuration is one ETKDG (v3) conformer, relaxed with MMFF94 before the cation is
added, with the cation placed either monodentate (on the C→O axis) or bidentate (on the
O–C–O bisector, in-plane) at a typical M–O distance. Labels are a GFN2-xTB single point
(``tblite.ase.TBLite``) at the system's total charge: ``info["energy"]`` (eV) and
``arrays["forces"]`` (eV/Å); ``info["energy_kind"] = "gfn2_xtb"``. Configurations whose
SCF converges neither with the default mixing (100 cycles) nor with damping 0.2 (300
cycles) are skipped and counted in ``report["failed"]``, never written.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from ase import Atoms

#: Side chains R of H2N-CH(R)-COOH for the L-amino acids (Gly and Pro are special-cased).
SIDE_CHAINS: dict[str, str] = {
    "Ala": "C",
    "Arg": "CCCNC(=N)N",
    "Asn": "CC(N)=O",
    "Asp": "CC(=O)O",
    "Cys": "CS",
    "Gln": "CCC(N)=O",
    "Glu": "CCC(=O)O",
    "His": "Cc1c[nH]cn1",
    "Ile": "[C@@H](C)CC",
    "Leu": "CC(C)C",
    "Lys": "CCCCN",
    "Met": "CCSC",
    "Phe": "Cc1ccccc1",
    "Ser": "CO",
    "Thr": "[C@@H](C)O",
    "Trp": "Cc1c[nH]c2ccccc12",
    "Tyr": "Cc1ccc(O)cc1",
    "Val": "C(C)C",
}
AMINO_ACIDS: tuple[str, ...] = tuple(sorted([*SIDE_CHAINS, "Gly", "Pro"]))
#: Divalent cations and the M–O distance (Å) used to place them.
CATIONS: dict[str, float] = {"Ca": 2.35, "Sr": 2.50, "Ba": 2.70, "Cd": 2.30, "Hg": 2.35, "Pb": 2.45}
#: SCF attempts: tblite's default Broyden damping (0.4), then stronger damping. Cation
#: complexes (Ca, Sr, Ba) often oscillate with the first and converge with the second.
_SCF_SETTINGS = (
    {"mixer_damping": 0.4, "max_iterations": 100},
    {"mixer_damping": 0.2, "max_iterations": 300},
)
_CLASH = 1.8  # Å: the cation must be at least this far from every atom but its O ligands


def amino_smiles(name: str, capped: bool = False, deprotonated: bool = False) -> str:
    """SMILES of amino acid ``name`` (three-letter code).

    Args:
        capped: Ace-X-NMe instead of the free amino acid.
        deprotonated: replace the carboxylic acid that will bind the cation by a
            carboxylate: the C-terminal one of a free amino acid, the side chain of capped
            Asp/Glu (other capped residues have none and raise ValueError).
    """
    if name not in AMINO_ACIDS:
        raise ValueError(f"unknown amino acid {name!r}; valid: {list(AMINO_ACIDS)}")
    side = SIDE_CHAINS.get(name)
    if capped and deprotonated:
        if name not in ("Asp", "Glu"):
            raise ValueError(f"capped {name} has no carboxylate to deprotonate (Asp, Glu do)")
        side = side.replace("C(=O)O", "C(=O)[O-]")
    head, tail = (
        ("CC(=O)N", "C(=O)NC") if capped else ("N", "C(=O)[O-]" if deprotonated else "C(=O)O")
    )
    if name == "Gly":
        return f"{head}C{tail}"
    if name == "Pro":
        ring_n = "CC(=O)N1" if capped else "N1"
        return f"{ring_n}CCC[C@H]1{tail}"
    return f"{head}[C@@H]({side}){tail}"


def systems() -> list[tuple[str, bool, str | None]]:
    """Every (amino acid, capped, cation or None) the generator draws from (172 systems)."""
    out: list[tuple[str, bool, str | None]] = []
    for name in AMINO_ACIDS:
        out += [(name, False, None), (name, True, None)]
        out += [(name, False, m) for m in CATIONS]
        if name in ("Asp", "Glu"):
            out += [(name, True, m) for m in CATIONS]
    return out


def _conformer(smiles: str, seed: int):
    """One MMFF-relaxed ETKDG conformer: (RDKit mol with H, positions Å) or None."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    params.numThreads = 1
    if AllChem.EmbedMolecule(mol, params) != 0:
        return None
    AllChem.MMFFOptimizeMolecule(mol, maxIters=500)
    return mol, mol.GetConformer().GetPositions()


def _place_cation(mol, pos: np.ndarray, cation: str, rng: np.random.Generator):
    """Position (3,) of the cation next to the charged carboxylate, or None on a clash."""
    o_minus = next(a for a in mol.GetAtoms() if a.GetFormalCharge() == -1)
    carbon = o_minus.GetNeighbors()[0]
    oxygens = [a.GetIdx() for a in carbon.GetNeighbors() if a.GetSymbol() == "O"]
    c = pos[carbon.GetIdx()]
    d = CATIONS[cation]
    if rng.random() < 0.5:  # monodentate on the C→O axis of a random carboxylate O
        o = pos[oxygens[int(rng.integers(len(oxygens)))]]
        u = (o - c) / np.linalg.norm(o - c)
        site, ligands = o + d * u, oxygens
    else:  # bidentate on the O-C-O bisector, at distance d from both O
        mid = pos[oxygens].mean(axis=0)
        u = (mid - c) / np.linalg.norm(mid - c)
        half = 0.5 * np.linalg.norm(pos[oxygens[0]] - pos[oxygens[1]])
        along = float(np.dot(mid - c, u))
        site, ligands = c + (along + np.sqrt(max(d * d - half * half, 0.0))) * u, oxygens
    others = np.delete(pos, ligands, axis=0)
    if np.min(np.linalg.norm(others - site, axis=1)) < _CLASH:
        return None
    return site


def _label(atoms: Atoms, charge: int) -> Atoms | None:
    """GFN2-xTB energy and forces at total ``charge``; None when the SCF fails.

    The SCF is tried with tblite's default mixing first; if it does not converge, once
    more with stronger damping and more cycles (same converged solution, slower path).
    """
    from ase.calculators.calculator import CalculationFailed
    from tblite.ase import TBLite

    for settings in _SCF_SETTINGS:
        atoms.calc = TBLite(
            method="GFN2-xTB", charge=charge, multiplicity=1, verbosity=0, **settings
        )
        try:
            energy = atoms.get_potential_energy()
            forces = atoms.get_forces()
        except CalculationFailed:
            continue
        finally:
            atoms.calc = None
        atoms.info["energy"] = float(energy)
        atoms.arrays["forces"] = forces
        return atoms
    return None


def generate_amino(n: int = 1000, seed: int = 0, report: dict | None = None) -> Iterator[Atoms]:
    """Yield up to ``n`` GFN2-xTB-labelled amino-acid configurations (module docstring).

    Systems are visited in a seeded random order, cycling; each visit embeds a new conformer.
    At most ``2 n`` attempts are made.

    Args:
        n: number of configurations wanted (≥ 1).
        seed: non-negative integer; the same (n, seed) gives the same structures.
        report: if given, filled with ``attempts``, ``failed`` (SCF failures),
            ``no_geometry`` (embedding failures or cation clashes) and ``written``.
    """
    from rdkit import Chem

    report = {} if report is None else report
    report.update(attempts=0, failed=0, no_geometry=0, written=0)
    pool = systems()
    order = np.random.default_rng([seed, 0]).permutation(len(pool))
    for attempt in range(2 * n):
        if report["written"] == n:
            return
        report["attempts"] += 1
        name, capped, cation = pool[order[attempt % len(pool)]]
        rng = np.random.default_rng([seed, 1, attempt])
        smiles = amino_smiles(name, capped=capped, deprotonated=cation is not None)
        built = _conformer(smiles, int(rng.integers(2**31 - 1)))
        if built is None:
            report["no_geometry"] += 1
            continue
        mol, pos = built
        symbols = [a.GetSymbol() for a in mol.GetAtoms()]
        charge = Chem.GetFormalCharge(mol)
        if cation is not None:
            site = _place_cation(mol, pos, cation, rng)
            if site is None:
                report["no_geometry"] += 1
                continue
            symbols.append(cation)
            pos = np.vstack([pos, site])
            charge += 2
        atoms = Atoms(symbols=symbols, positions=pos, pbc=False)
        kind = "capped" if capped else "amino_acid"
        atoms.info.update(
            config_type=kind + (f"+{cation}" if cation else ""),
            amino_acid=name,
            cation=cation or "none",
            total_charge=int(charge),
            smiles=smiles,
            energy_kind="gfn2_xtb",
        )
        if _label(atoms, int(charge)) is None:
            report["failed"] += 1
            continue
        report["written"] += 1
        yield atoms
