"""Figs. 5 and 6: information-imbalance planes of amino acids (with and without cations,
centre excluded) and of the liquid multi-element environments."""

from __future__ import annotations

import numpy as np

from slimsoap.study.reproduce.common import LABELS, pyplot, save, soap, species_of, write_csv
from slimsoap.study.reproduce.context import Context, ReproduceConfig, Section
from slimsoap.study.reproduce.fig4 import liquid_features

KEY = "fig5_6"
TITLE = "Figs. 5, 6: information-imbalance planes (amino acids, liquid alloys)"
COMPRESSIONS = ("nu1mu1", "nu1muhat1", "nu1mustar1", "mu2", "embed")


def params(config: ReproduceConfig) -> dict:
    keys = ("n_max", "l_max", "r_cut", "sigma", "alloy_n", "alloy_elements", "amino_n",
            "seed", "max_environments")  # fmt: skip
    return {k: getattr(config, k) for k in keys} | {"version": 1}


def _plane(values: dict, c) -> dict:
    from slimsoap.analysis import imbalance_plane

    n = values["nu2"].shape[0]
    sub = n > c.max_environments
    plane = imbalance_plane(
        values["nu2"],
        {k: values[k] for k in COMPRESSIONS},
        n_samples=c.max_environments if sub else None,
        n_repeats=3 if sub else 1,
        seed=c.seed,
    )
    return {
        name: {
            "from_nu2": float(plane.from_reference[i]),
            "to_nu2": float(plane.to_reference[i]),
            "to_nu2_err": float(plane.to_reference_err[i]),
        }
        for i, name in enumerate(plane.names)
    } | {"_n_samples": plane.n_samples}


def headline(numbers: dict) -> list[dict]:
    """Information imbalances with ν=2 per data set and compression."""
    return [
        {"data": data, "descriptor": LABELS.get(name, name)} | values
        for data, plane in numbers["planes"].items()
        for name, values in plane.items()
        if not name.startswith("_")
    ]


def run(ctx: Context) -> Section:
    """Three planes: amino acids without and with cations, liquid alloys."""
    c = ctx.config
    out = ctx.section_dir(KEY)
    amino = ctx.frames("amino")
    species = species_of(amino)
    planes = {}
    for label, keep in (("amino", lambda t: "+" not in t), ("amino+cation", lambda t: "+" in t)):
        frames = [a for a in amino if keep(a.info.get("config_type", ""))]
        values = {}
        for name in ("nu2", *COMPRESSIONS):
            calc = soap(species, name, c.n_max, c.l_max, c.r_cut, c.sigma, center_weight=0.0,
                        normalize=True, seed=c.seed)  # fmt: skip
            values[name] = np.asarray(ctx.features(label, frames, calc).values())
        planes[label] = _plane(values, c)
    planes["liquid"] = _plane(liquid_features(ctx, ("nu2", *COMPRESSIONS)), c)
    rows = [
        {"data": data, "compression": name, "label": LABELS[name], **v}
        for data, plane in planes.items()
        for name, v in plane.items()
        if not name.startswith("_")
    ]
    write_csv(out / "fig5_6.csv", rows)
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, (data, plane) in zip(axes, planes.items(), strict=True):
        for i, name in enumerate(COMPRESSIONS):
            p = plane[name]
            ax.scatter(p["from_nu2"], p["to_nu2"], color=f"C{i}", label=LABELS[name])
        top = max(max(plane[n]["from_nu2"], plane[n]["to_nu2"]) for n in COMPRESSIONS)
        ax.plot([0, 1.05 * top], [0, 1.05 * top], "k--", lw=0.8)
        ax.set_xlabel("Δ(ν=2 → D)")
        ax.set_ylabel("Δ(D → ν=2)")
        ax.set_title(data)
    axes[0].legend(fontsize=8)
    save(fig, out / "fig5_6.png")
    mu2 = {d: planes[d]["mu2"]["to_nu2"] for d in planes}
    amino_max = max(mu2["amino"], mu2["amino+cation"])
    holds = amino_max < 0.1 and mu2["liquid"] > 2 * amino_max
    return Section(
        key=KEY,
        title=TITLE,
        claim="Figs. 5, 6: on the HEA liquid, ν=2,d_J=2 and μ=2 are significantly less "
        "informative than the other compressions; on the geometry-optimised amino acids they "
        "carry almost the same information as ν=2, Δ(μ=2 → ν=2) ≪ 1.",
        criterion="Δ(μ=2 → ν=2) < 0.1 on both amino-acid sets and more than twice as large "
        "on the liquid",
        holds=bool(holds),
        numbers={"planes": planes, "mu2_to_nu2": mu2},
        files=[f"{KEY}/fig5_6.png", f"{KEY}/fig5_6.csv"],
        notes=f"amino acids generated and optimised with GFN2-xTB (tblite), {len(amino)} "
        "structures, half with a cation; centre weight 0; EMT liquid alloys for Fig. 6.",
    )
