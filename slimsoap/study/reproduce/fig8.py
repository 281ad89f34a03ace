"""Figs. 8 and S3: force-field errors (energy, force, virial) against the number of sparse
points for ν=2, ν,μ=1,1 and ν,μ̂=1,1 on the alloy set, per configuration type."""

from __future__ import annotations

import numpy as np

from slimsoap.study.reproduce.common import LABELS, pyplot, save, soap, species_of, write_csv
from slimsoap.study.reproduce.context import Context, ReproduceConfig, Section

KEY = "fig8"
TITLE = "Figs. 8, S3: sparse-GP force fields on the alloy set"
DESCRIPTORS = ("nu2", "nu1mu1", "nu1muhat1")
#: SOAP of the force fields (tuned in benchmarks/bench_models.py emt, see
#: benchmarks/results/README.md): ASE's EMT reaches ≈5.4-5.9 Å, and σ 0.5 → 0.2 Å took the
#: surface slabs' energy errors from 14 to 3.5 meV/atom; n_max 4, l_max 3 keeps ν=2 at 840
#: features for 5 species (at the other sections' 8, 6 it has 5 740 and its descriptor
#: gradients dominate the fit).
SOAP_SETTINGS = {"n_max": 4, "l_max": 3, "r_cut": 5.5, "sigma": 0.2, "cutoff_width": 1.0}
#: SparseGP settings: the paper's ζ=4; noise σ_E 2 meV/atom, σ_F 0.05 eV/Å, σ_V 20 meV/atom
#: and δ 0.5 eV as bench_models.py emt; a jointly fitted 16-Gaussian pair baseline.
GP_SETTINGS = {"zeta": 4, "delta": 0.5, "sigma_energy": 0.002, "sigma_force": 0.05,
               "sigma_virial": 0.02}  # fmt: skip
BASELINE = {"r_cut": 5.5, "n_basis": 16}


def params(config: ReproduceConfig) -> dict:
    keys = ("alloy_n", "alloy_elements", "sparse_points", "gp_frames", "seed")
    return {k: getattr(config, k) for k in keys} | {
        "soap": SOAP_SETTINGS,
        "gp": GP_SETTINGS,
        "baseline": BASELINE,
        "selection": "nested cur",
        "version": 2,
    }


def headline(numbers: dict) -> list[dict]:
    """Force (meV/Å) and energy (meV/atom) RMSEs on the test frames per sparse size."""
    return [
        {"sparse points per species": m}
        | {f"force {LABELS[d]}": 1000 * numbers["force_rmse_all"][d][k] for d in DESCRIPTORS}
        | {
            f"energy {LABELS[d]}": 1000 * numbers["energy_rmse_per_atom_all"][d][k]
            for d in DESCRIPTORS
        }
        for k, m in enumerate(numbers["sparse_points"])
    ]


def run(ctx: Context) -> Section:
    """SparseGP (ζ=4, energies + forces + virials) for each descriptor and sparse size: one
    design matrix per descriptor (:meth:`SparseGP.fit_sizes`, nested CUR sets)."""
    from slimsoap.models import PairBaseline, SparseGP, errors_by_config_type, read_targets

    c = ctx.config
    out = ctx.section_dir(KEY)
    frames = ctx.frames("alloy")
    order = np.random.default_rng(c.seed).permutation(len(frames))[: c.gp_frames]
    n_train = int(0.8 * len(order))
    train = [frames[i] for i in order[:n_train]]
    test = [frames[i] for i in order[n_train:]]
    targets = read_targets(test)
    n_atoms = np.array([len(a) for a in test])
    species = species_of(frames)
    rows = []
    for name in DESCRIPTORS:
        calc = soap(species, name, **SOAP_SETTINGS)
        gp = SparseGP(calc, **GP_SETTINGS, baseline=PairBaseline(**BASELINE), random_state=c.seed)
        models = gp.fit_sizes(train, c.sparse_points)
        for m, model in zip(c.sparse_points, models, strict=True):
            errors = errors_by_config_type(model.predict(test), targets, n_atoms)
            for ct, e in errors.items():
                rows.append({"compression": name, "n_sparse": m, "config_type": ct, **e})
            ctx.say(f"  {name} M={m}: force RMSE {errors['all']['force_rmse']:.3f} eV/Å")
    write_csv(out / "fig8.csv", rows)
    overall = {name: [r for r in rows if r["compression"] == name and r["config_type"] == "all"]
               for name in DESCRIPTORS}  # fmt: skip
    force = {name: [r["force_rmse"] for r in sel] for name, sel in overall.items()}
    energy = {name: [r["energy_rmse_per_atom"] for r in sel] for name, sel in overall.items()}
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    keys = ("energy_rmse_per_atom", "force_rmse", "virial_rmse_per_atom")
    units = ("energy RMSE (meV/atom)", "force RMSE (meV/Å)", "virial RMSE (meV/atom)")
    for ax, key, unit in zip(axes, keys, units, strict=True):
        for name, sel in overall.items():
            ax.plot([r["n_sparse"] for r in sel], [1000 * r[key] for r in sel], "-o",
                    label=LABELS[name])  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(list(c.sparse_points), [str(m) for m in c.sparse_points])
        ax.xaxis.set_minor_formatter("")
        ax.set_xlabel("sparse points per species")
        ax.set_ylabel(unit)
    axes[0].legend()
    save(fig, out / "fig8.png")
    gain = {name: f[0] / f[-1] for name, f in force.items()}
    holds = force["nu1mu1"][-1] <= 1.1 * force["nu2"][-1] and gain["nu1muhat1"] < gain["nu2"]
    return Section(
        key=KEY,
        title=TITLE,
        claim="Fig. 8: force errors of ν,μ̂=1,1 start lower than ν=2's but plateau quickly "
        "while ν=2 keeps improving with more sparse points; the best model uses ν,μ=1,1.",
        criterion="at the most sparse points, force RMSE(ν,μ=1,1) ≤ 1.1 × force RMSE(ν=2); "
        "ν,μ̂=1,1 improves less than ν=2 from the fewest to the most sparse points",
        holds=bool(holds),
        numbers={
            "sparse_points": list(c.sparse_points),
            "force_rmse_all": force,
            "energy_rmse_per_atom_all": energy,
            "improvement_factor": gain,
            "n_train": n_train,
            "n_test": len(test),
        },
        files=[f"{KEY}/fig8.png", f"{KEY}/fig8.csv"],
        notes="EMT alloys (generated) instead of the DFT HEA set; slimsoap SparseGP (ζ=4, δ 0.5 "
        "eV, σ_E 2 meV/atom, σ_F 0.05 eV/Å, σ_V 20 meV/atom) with a jointly fitted "
        "16-Gaussian pair baseline (r_cut 5.5 Å) instead of the paper's 2b+3b GAP terms; "
        "SOAP n_max 4, l_max 3, r_cut 5.5 Å, cutoff width 1 Å, σ 0.2 Å (tuned in "
        "benchmarks/bench_models.py emt); nested CUR sparse sets (the points of each size "
        "are the first of one per-species CUR ranking), so all sizes share one design matrix.",
    )
