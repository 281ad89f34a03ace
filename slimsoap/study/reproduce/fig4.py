"""Figs. 4 and S5: distance and ranked-distance correlations against ν=2 for liquid
multi-element environments, every 3-body compression of Fig. 3."""

from __future__ import annotations

import numpy as np

from slimsoap.study.reproduce.common import LABELS, pyplot, save, soap, species_of, write_csv
from slimsoap.study.reproduce.context import Context, ReproduceConfig, Section

KEY = "fig4"
TITLE = "Figs. 4, S5: distance correlations with ν=2 (liquid alloys)"
COMPRESSIONS = (
    "nu1mu1", "nu1mustar1", "nu1muhat1", "nu1nuhat1", "nuhat1mu1", "mu1muhat1",
    "nuhat2", "nuhat1muhat1", "muhat2", "mu2", "embed",
)  # fmt: skip


def params(config: ReproduceConfig) -> dict:
    keys = ("n_max", "l_max", "r_cut", "sigma", "alloy_n", "alloy_elements", "seed",
            "max_environments")  # fmt: skip
    return {k: getattr(config, k) for k in keys} | {"version": 2}


def liquid_features(ctx: Context, names) -> dict[str, np.ndarray]:
    """Normalised, centre-weight-0 descriptors of the liquid alloy environments."""
    c = ctx.config
    liquid = ctx.frames("liquid")
    species = species_of(liquid)
    out = {}
    for name in names:
        calc = soap(species, name, c.n_max, c.l_max, c.r_cut, c.sigma, center_weight=0.0,
                    normalize=True, seed=c.seed)  # fmt: skip
        out[name] = np.asarray(ctx.features("liquid_cw0", liquid, calc).values())
    return out


def neighbour_composition(frames, species, r_cut: float, width: float = 0.5) -> np.ndarray:
    """(n_environments, S) fraction of each species among the neighbours of every atom,
    each neighbour weighted by the cosine cutoff (the weights the densities use)."""
    from ase.neighborlist import neighbor_list

    out = []
    for a in frames:
        i, j, d = neighbor_list("ijd", a, r_cut)
        w = np.where(
            d < r_cut - width, 1.0, 0.5 * (1 + np.cos(np.pi * (d - r_cut + width) / width))
        )
        col = np.searchsorted(species, a.numbers[j])
        counts = np.zeros((len(a), len(species)))
        np.add.at(counts, (i, col), w)
        out.append(counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-300))
    return np.vstack(out)


def headline(numbers: dict) -> list[dict]:
    """Correlation of each compression's distances with ν=2's."""
    keys = ("label", "pearson", "spearman", "rank_pearson", "n_environments")
    return [{k: r[k] for k in keys if k in r} for r in numbers["rows"]]


def run(ctx: Context) -> Section:
    """Correlations of every compression with ν=2 and the Fig. 4 histograms."""
    from slimsoap.analysis import distance_correlation

    c = ctx.config
    out = ctx.section_dir(KEY)
    values = liquid_features(ctx, ("nu2", *COMPRESSIONS))
    n = values["nu2"].shape[0]
    idx = np.sort(np.random.default_rng(c.seed).permutation(n)[: c.max_environments])
    rows, results = [], {}
    for name in COMPRESSIONS:
        r = distance_correlation(values["nu2"][idx], values[name][idx], seed=c.seed)
        results[name] = r
        rows.append({"compression": name, "label": LABELS[name], "pearson": r.pearson,
                     "spearman": r.spearman, "rank_pearson": r.rank_pearson,
                     "n_environments": r.n_environments})  # fmt: skip
    liquid = ctx.frames("liquid")
    composition = neighbour_composition(liquid, species_of(liquid), c.r_cut)[idx]
    explained = {
        name: distance_correlation(composition, values[name][idx], seed=c.seed).pearson
        for name in ("nu2", "nu1mu1", "nu1mustar1", "mu2", "embed")
    }
    write_csv(out / "fig4.csv", rows)
    shown = ("nu1mu1", "embed", "mu2")
    plt = pyplot()
    fig, axes = plt.subplots(2, len(shown), figsize=(3.2 * len(shown), 6.2))
    for j, name in enumerate(shown):
        r = results[name]
        for i, (hist, kind) in enumerate(((r.distance_hist, "distance"), (r.rank_hist, "rank"))):
            ax = axes[i, j]
            ax.imshow(np.log1p(hist.T), origin="lower", extent=(0, 1, 0, 1), cmap="viridis")
            ax.set_xlabel(f"ν=2 {kind} (scaled)")
            ax.set_ylabel(f"{LABELS[name]} {kind}")
            value = r.pearson if kind == "distance" else r.rank_pearson
            ax.set_title(f"r = {value:.3f}", fontsize=9)
    save(fig, out / "fig4.png")
    by = {r["compression"]: r for r in rows}
    holds = (
        by["nu1mu1"]["pearson"] > 0.9
        and by["nu1mu1"]["rank_pearson"] > by["mu2"]["rank_pearson"]
        and by["nu1mu1"]["rank_pearson"] > by["embed"]["rank_pearson"]
    )
    return Section(
        key=KEY,
        title=TITLE,
        claim="Fig. 4: the distance and ranked-distance correlations of ν,μ=1,1 with ν=2 are "
        "strong; for ν=2,d_J=2 (and μ=2) many environments well separated by ν=2 are poorly "
        "distinguished and the ranked correlation is nearly uniform.",
        criterion="Pearson(ν,μ=1,1) > 0.9 and its ranked-distance correlation exceeds those of "
        "μ=2 and ν=2,d_J=2",
        holds=bool(holds),
        numbers={"rows": rows, "pearson_with_neighbour_composition_distance": explained},
        files=[f"{KEY}/fig4.png", f"{KEY}/fig4.csv"],
        notes=f"EMT liquid snapshots (≥3 of {', '.join(c.alloy_elements)}) instead of the HEA "
        f"DFT set; {len(idx)} environments; centre weight 0, normalised descriptors. Checked "
        "by hand: μ=2 and ν,μ=1,1 equal sums of ν=2's species blocks (to 1e-15) and the "
        "correlations equal brute-force ones. On this liquid the ν=2 distance is mostly the "
        "neighbours' composition (Pearson with the distance between neighbour-composition "
        f"vectors {explained['nu2']:.2f}), which the element-agnostic μ=2, μ,μ̂, μ̂=2 do not see "
        f"(μ=2: {explained['mu2']:.2f}), hence their ~0 correlation with ν=2. ν,μ*=1,1 "
        "(separate μ* basis of 2L+1 GTOs; only the first 2l+1 at each l, i.e. one function "
        "at l=0, the innermost) has its length dominated by the outer functions at the "
        "highest l, so its distances weigh the environment differently from ν=2's: its "
        "correlation depends strongly on the basis (higher with the GAP Gaussian basis), "
        "although it is recoverable in exact arithmetic.",
    )
