"""Summaries of a data set: elements, sizes, config types, S_env, energy range."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from slimsoap._validation import check_positive
from slimsoap.systems.neighbours import neighbour_list


def species_per_environment(atoms: Atoms, r_cut: float) -> np.ndarray:
    """S_env of every atom: distinct species among the atom and its neighbours within r_cut.

    Returns:
        (n_atoms,) int64 counts, each ≥ 1.
    """
    nl = neighbour_list(atoms, r_cut)
    z = atoms.numbers.astype(np.int64)
    n = len(atoms)
    centres = np.concatenate([np.arange(n), nl.centres])
    species = np.concatenate([z, z[nl.neighbours]])
    pairs = np.unique(centres * (len(chemical_symbols) + 1) + species)
    return np.bincount(pairs // (len(chemical_symbols) + 1), minlength=n).astype(np.int64)


def summarize(frames: Iterable[Atoms], r_cut: float = 5.0) -> dict:
    """Summarise a stream of labelled frames in one pass.

    Args:
        frames: any iterable of ``ase.Atoms`` (labels as the readers store them).
        r_cut: cutoff (Å) for the species-per-environment (S_env) count.

    Returns:
        A dict with ``n_frames``, ``n_atoms``, ``atoms_per_frame`` (min/mean/max),
        ``elements`` (symbol → {"atoms", "frames"}, by atomic number), ``n_elements``,
        ``config_types`` (name → frames), ``periodic_frames``, ``frames_with_forces``,
        ``frames_with_virial``, ``s_env`` ({"r_cut", "histogram" (S → atoms), "mean",
        "max"}) and ``energy`` ({"min", "max", "mean", "per_atom_min", "per_atom_max"} in
        eV, over frames that have an energy; ``None`` when none has).
    """
    r_cut = check_positive("r_cut", r_cut)
    n_frames = n_atoms = periodic = with_forces = with_virial = 0
    sizes, energies, per_atom = [], [], []
    atom_count, frame_count, config_types, s_env = Counter(), Counter(), Counter(), Counter()
    for atoms in frames:
        n_frames += 1
        n_atoms += len(atoms)
        sizes.append(len(atoms))
        z, counts = np.unique(atoms.numbers, return_counts=True)
        atom_count.update(dict(zip(z.tolist(), counts.tolist())))
        frame_count.update(z.tolist())
        config_types[str(atoms.info.get("config_type", "unknown"))] += 1
        periodic += bool(atoms.pbc.any())
        with_forces += "forces" in atoms.arrays
        with_virial += "virial" in atoms.info
        if "energy" in atoms.info:
            energies.append(float(atoms.info["energy"]))
            per_atom.append(energies[-1] / len(atoms))
        s_env.update(species_per_environment(atoms, r_cut).tolist())
    if n_frames == 0:
        raise ValueError("summarize() got no frames")
    total_env = sum(s_env.values())
    energy = None
    if energies:
        energy = {
            "min": min(energies),
            "max": max(energies),
            "mean": float(np.mean(energies)),
            "per_atom_min": min(per_atom),
            "per_atom_max": max(per_atom),
            "frames": len(energies),
        }
    return {
        "n_frames": n_frames,
        "n_atoms": n_atoms,
        "atoms_per_frame": {"min": min(sizes), "mean": n_atoms / n_frames, "max": max(sizes)},
        "elements": {
            chemical_symbols[z]: {"atoms": atom_count[z], "frames": frame_count[z]}
            for z in sorted(atom_count)
        },
        "n_elements": len(atom_count),
        "config_types": dict(sorted(config_types.items())),
        "periodic_frames": periodic,
        "frames_with_forces": with_forces,
        "frames_with_virial": with_virial,
        "s_env": {
            "r_cut": float(r_cut),
            "histogram": dict(sorted(s_env.items())),
            "mean": sum(s * c for s, c in s_env.items()) / total_env,
            "max": max(s_env),
        },
        "energy": energy,
    }


def format_summary(summary: dict) -> str:
    """Human-readable multi-line text of a ``summarize`` result."""
    apf = summary["atoms_per_frame"]
    lines = [
        f"frames: {summary['n_frames']}   atoms: {summary['n_atoms']}   "
        f"atoms/frame: {apf['min']}-{apf['max']} (mean {apf['mean']:.1f})",
        f"periodic frames: {summary['periodic_frames']}   with forces: "
        f"{summary['frames_with_forces']}   with virial: {summary['frames_with_virial']}",
        f"elements ({summary['n_elements']}): "
        + ", ".join(f"{s} {v['atoms']}" for s, v in summary["elements"].items()),
        "config types: " + ", ".join(f"{k} {v}" for k, v in summary["config_types"].items()),
    ]
    env = summary["s_env"]
    lines.append(
        f"S_env within {env['r_cut']} Å (species per environment → atoms): "
        + ", ".join(f"{s}: {c}" for s, c in env["histogram"].items())
        + f"   mean {env['mean']:.2f}, max {env['max']}"
    )
    e = summary["energy"]
    if e is None:
        lines.append("energy: none")
    else:
        lines.append(
            f"energy (eV, {e['frames']} frames): {e['min']:.6g} to {e['max']:.6g}, "
            f"per atom {e['per_atom_min']:.6g} to {e['per_atom_max']:.6g}"
        )
    return "\n".join(lines)
