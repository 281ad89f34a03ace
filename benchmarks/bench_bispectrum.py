"""Body-order-four invariants: slimsoap's Bispectrum vs featomic's DensityCorrelations.

Question: how many atoms per second does each code compute the full body-order-four
invariants (ν = 3, λ = 0, proper scalars) for, single-threaded, on the same structures with
a matched basis size — and how much do the species compressions save?

Structures: rattled fcc alloys of 3 elements (Ni, Cu, Pd), 32-atom cells; r_cut 4 Å,
n_max 4, l_max 3, σ 0.5 Å, cosine cutoff width 0.5 Å. featomic: SphericalExpansion (GTO,
max_radial = n_max - 1, max_angular = l_max), neighbour types moved to properties, then
``DensityCorrelations(n_correlations=2, skip_redundant=True)`` selecting
(o3_lambda, o3_sigma) = (0, 1), intermediate angular cutoff l_max; its blocks (one per
centre type and (l1, l2, k2, l3)) hold the full (S·N)³ property product, without the
symmetry reduction slimsoap stores (so featomic's length is larger for the same
information). slimsoap: ``Bispectrum(compression=..., parity="even")``. Both codes include
their own expansion. Every thread variable is set to 1 before anything is imported; one
warm-up, then the median of the repeats. flops/atom are those of slimsoap's contraction
kernels (:meth:`Bispectrum.flops_per_atom`, expansion excluded).

Run: ``python benchmarks/bench_bispectrum.py [--quick]`` (``--quick``: 1 frame, 3 repeats).

``--learning-curve [--quick]``: what body order four adds over ν=2 and ν,μ=1,1 at about
equal length: sparse-GP fits (energies and forces, polynomial kernel ζ=4) on EMT Cu/Ag/Au
configurations (``slimsoap.data.gen_alloy``), r_cut 5 Å, for SOAP ``nu2`` (N 4, L 4),
SOAP ``nu1mu1`` (N 5, L 4) and the bispectra ``nu3`` (N 2, L 2), ``nu1mu2`` (N 3, L 2),
``nu2muhat1`` (N 3, L 2); energy RMSE per atom and force-component RMSE on a fixed test set.
"""

from __future__ import annotations

import os
import sys

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "RAYON_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "MKL_NUM_THREADS"):  # fmt: skip
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

SPECIES = ["Ni", "Cu", "Pd"]
R_CUT, N_MAX, L_MAX, SIGMA, WIDTH = 4.0, 4, 3, 0.5, 0.5
COMPRESSIONS = ["nu3", "nu2mu1", "nu1mu2", "mu3", "nu1muhat2", "random"]


def frames(n):
    from ase.build import bulk

    rng = np.random.default_rng(42)
    out = []
    for _ in range(n):
        atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(2)
        atoms.symbols = rng.choice(SPECIES, len(atoms))
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        out.append(atoms)
    return out


def featomic_runner(data):
    """(run, n_features per atom) of featomic's ν = 3, λ = 0 invariants."""
    import featomic
    from featomic.clebsch_gordan import DensityCorrelations
    from metatensor import Labels

    expansion = featomic.SphericalExpansion(
        cutoff={"radius": R_CUT, "smoothing": {"type": "ShiftedCosine", "width": WIDTH}},
        density={"type": "Gaussian", "width": SIGMA},
        basis={
            "type": "TensorProduct",
            "max_angular": L_MAX,
            "radial": {"type": "Gto", "max_radial": N_MAX - 1},
        },
    )
    correlations = DensityCorrelations(n_correlations=2, max_angular=L_MAX, skip_redundant=True)
    keys = Labels(["o3_lambda", "o3_sigma"], np.array([[0, 1]]))

    def run():
        rho = expansion.compute(data).keys_to_properties("neighbor_type")
        return correlations.compute(rho, angular_cutoff=L_MAX, selected_keys=keys)

    out = run()
    per_type: dict[int, int] = {}
    for key, block in out.items():
        z = int(key["center_type"])
        per_type[z] = per_type.get(z, 0) + block.values.shape[-1]
    return run, max(per_type.values())


def main():
    from timing import median_time

    from slimsoap.bispectrum.calculator import Bispectrum
    from slimsoap.systems.neighbours import neighbour_list

    quick = "--quick" in sys.argv[1:]
    data = frames(1 if quick else 4)
    repeats = 3 if quick else 5
    n_atoms = sum(len(a) for a in data)
    pairs = np.mean([np.diff(neighbour_list(a, R_CUT).offsets).mean() for a in data])
    print(
        f"body order four, {len(SPECIES)}-element fcc, {len(data)} × {len(data[0])} atoms, "
        f"r_cut {R_CUT} Å, n_max {N_MAX}, l_max {L_MAX}, {pairs:.1f} neighbours/atom; "
        f"1 thread; median of {repeats}"
    )
    print(f"\n{'code':<26}{'features':>9}{'atoms/s':>10}{'Mflop/atom':>12}{'vs featomic':>13}")
    run, n_feat = featomic_runner(data)
    ref = n_atoms / median_time(run, repeats)
    print(f"{'featomic DensityCorr.':<26}{n_feat:>9}{ref:>10.0f}{'—':>12}{1.0:>13.2f}")
    for name in COMPRESSIONS:
        calc = Bispectrum(SPECIES, R_CUT, N_MAX, L_MAX, compression=name, sigma=SIGMA,
                          cutoff_width=WIDTH)  # fmt: skip
        rate = n_atoms / median_time(lambda c=calc: c.compute(data), repeats)
        mflop = calc.flops_per_atom(pairs) / 1e6
        print(f"{'slimsoap ' + name:<26}{calc.n_features:>9}{rate:>10.0f}{mflop:>12.2f}"
              f"{rate / ref:>13.2f}")  # fmt: skip
    calc = Bispectrum(SPECIES, R_CUT, N_MAX, L_MAX, sigma=SIGMA, cutoff_width=WIDTH)
    rate = n_atoms / median_time(lambda: calc.compute(data[:1], gradients=True), repeats)
    rate *= len(data[:1][0]) / n_atoms * len(data)
    mflop = calc.flops_per_atom(pairs, gradients=True) / 1e6
    print(f"{'slimsoap nu3 + gradients':<26}{calc.n_features:>9}{rate:>10.0f}{mflop:>12.2f}"
          f"{'(no peer)':>13}")  # fmt: skip


LC_ELEMENTS = ["Cu", "Ag", "Au"]


def lc_descriptors():
    """{name: calculator} of the learning curve, lengths within ~±15 % of each other."""
    from slimsoap import SOAP
    from slimsoap.bispectrum.calculator import Bispectrum

    kw = {"sigma": SIGMA, "cutoff_width": WIDTH}
    return {
        "SOAP nu2 (N4 L4)": SOAP(LC_ELEMENTS, 5.0, 4, 4, compression="nu2", **kw),
        "SOAP nu1mu1 (N5 L4)": SOAP(LC_ELEMENTS, 5.0, 5, 4, compression="nu1mu1", **kw),
        "B nu3 (N2 L2)": Bispectrum(LC_ELEMENTS, 5.0, 2, 2, compression="nu3", **kw),
        "B nu1mu2 (N3 L2)": Bispectrum(LC_ELEMENTS, 5.0, 3, 2, compression="nu1mu2", **kw),
        "B nu2muhat1 (N3 L2)": Bispectrum(LC_ELEMENTS, 5.0, 3, 2, compression="nu2muhat1", **kw),
    }


def learning_curve(quick: bool):
    from slimsoap.data.gen_alloy import generate_alloy
    from slimsoap.models.sparse_gp import SparseGP, read_targets

    n_frames, n_test, sizes = (60, 20, [10, 20, 40]) if quick else (240, 60, [15, 30, 60, 120])
    frames = list(generate_alloy(n=n_frames, seed=0, elements=LC_ELEMENTS))
    order = np.random.default_rng(0).permutation(len(frames))
    test = [frames[k] for k in order[:n_test]]
    pool = [frames[k] for k in order[n_test:]]
    truth = read_targets(test)
    n_atoms = np.array([len(a) for a in test])
    print(
        f"learning curve: EMT {'/'.join(LC_ELEMENTS)}, {len(pool)} training candidates, "
        f"{n_test} test frames ({n_atoms.sum()} atoms); sparse GP on energies + forces"
    )
    print(f"\n{'descriptor':<22}{'length':>7}" + "".join(f"{n:>14}" for n in sizes))
    print(f"{'':<29}" + "".join(f"{'meV/at  eV/Å':>14}" for _ in sizes))
    for name, calc in lc_descriptors().items():
        cells = []
        for n in sizes:
            model = SparseGP(calc, n_sparse=200, sigma_energy=0.002, sigma_force=0.05)
            model.fit(pool[:n])
            pred = model.predict(test)
            e = np.sqrt(np.mean(((pred.energy - truth.energy) / n_atoms) ** 2)) * 1e3
            f = np.sqrt(np.mean((pred.forces - truth.forces) ** 2))
            cells.append(f"{e:>7.1f} {f:>6.3f}")
        print(f"{name:<22}{calc.n_features:>7}" + "".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    if "--learning-curve" in sys.argv[1:]:
        learning_curve("--quick" in sys.argv[1:])
    else:
        main()
