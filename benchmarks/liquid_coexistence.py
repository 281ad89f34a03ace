"""Is a 1,200 K EMT liquid above or below the melting point? A solid–liquid coexistence run.

A 3×3×6 cubic fcc cell (216 atoms; ``--composition`` random on the sites, Vegard lattice
constant) is equilibrated at ``--temperature`` (NPT, P = 0, 500 steps); its upper half is
then melted at 3,000 K with the lower half fixed (Langevin NVT, 400 steps), cooled back
(100 steps) and the whole cell run NPT at ``--temperature``. E_pot per atom every 0.5 ps
says which phase grows: towards the solid's value (printed first), the crystal grows
(below the melting point, so a homogeneous liquid there is supercooled); upwards, the
solid melts. Used for the ``bench_liquid.py`` docstring (EMT, 2 fs, seed 0).

    python benchmarks/liquid_coexistence.py --composition Cu:0.6,Ag:0.4 --steps 5000
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.constraints import FixAtoms
from ase.md.langevin import Langevin
from ase.md.langevinbaoab import LangevinBAOAB
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from bench_liquid import parse_composition

from slimsoap.data.gen_alloy import emt_lattice_constant


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--composition", type=parse_composition, default="Cu:0.6,Ag:0.4")
    p.add_argument("--temperature", type=float, default=1200.0, help="K")
    p.add_argument("--steps", type=int, default=5000, help="coexistence steps of 2 fs")
    args = p.parse_args(argv)
    n = 216
    counts = {k: int(round(x * n)) for k, x in args.composition.items()}
    counts[max(counts, key=counts.get)] += n - sum(counts.values())
    symbols = [k for k, c in counts.items() for _ in range(c)]
    symbols = list(np.random.default_rng(1).permutation(symbols))
    a = float(np.mean([emt_lattice_constant(s) for s in symbols]))
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat((3, 3, 6))
    atoms.symbols = symbols
    atoms.calc = EMT()
    rng = np.random.default_rng(0)
    thermalize_momenta(atoms, args.temperature, rng=rng)
    Stationary(atoms)
    dt = 2 * units.fs

    def npt() -> LangevinBAOAB:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return LangevinBAOAB(
                atoms, dt, temperature_K=args.temperature, externalstress=0.0,
                hydrostatic=True, T_tau=100 * units.fs, P_tau=500 * units.fs, rng=rng,
            )  # fmt: skip

    npt().run(500)
    e_solid = atoms.get_potential_energy() / len(atoms)
    atoms.set_constraint(FixAtoms(mask=atoms.get_scaled_positions()[:, 2] < 0.5))
    Langevin(atoms, dt, temperature_K=3000, friction=0.02 / units.fs, rng=rng).run(400)
    atoms.set_constraint()
    Langevin(atoms, dt, temperature_K=args.temperature, friction=0.02 / units.fs, rng=rng).run(100)
    dyn = npt()
    energies = []
    for _ in range(args.steps // 250):
        dyn.run(250)
        energies.append(atoms.get_potential_energy() / len(atoms))
    print(
        f"{atoms.get_chemical_formula()} {args.temperature:.0f} K: E_solid {e_solid:.4f} "
        f"eV/atom; coexistence E_pot every 0.5 ps: {' '.join(f'{e:.4f}' for e in energies)}"
    )


if __name__ == "__main__":
    main()
