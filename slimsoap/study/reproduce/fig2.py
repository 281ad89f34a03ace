"""Fig. 2: a mirror-symmetric pair distinct under ν=2 and identical under ν,μ=1,1; and
lossless recovery of ν=2 from ν,μ*=1,1 with its rank conditions."""

from __future__ import annotations

import numpy as np
from ase import Atoms

from slimsoap.study.reproduce.common import LABELS, pyplot, save, soap, species_of, write_csv
from slimsoap.study.reproduce.context import Context, ReproduceConfig, Section

KEY = "fig2"
TITLE = "Fig. 2: mirror-symmetric pair and recovery conditions"
_R1, _R3 = np.array([1.5, 0.8, 0.6]), np.array([-0.9, 1.2, 1.0])
_MIRROR = np.array([1.0, 1.0, -1.0])


def params(config: ReproduceConfig) -> dict:
    """Basis, cutoff and alloy data (the recovery test environments)."""
    keys = ("n_max", "l_max", "r_cut", "sigma", "alloy_n", "alloy_elements", "seed")
    return {k: getattr(config, k) for k in keys} | {"version": 6}


def mirror_pair() -> tuple[Atoms, Atoms]:
    """Cu centre (weight 0) with Cu at r1, r3 and Ag at M r1, M r3 (M: z → −z), and the same
    with the elements at r3 and M r3 swapped: the total density is mirror symmetric in both,
    and the second is neither a rotation nor a reflection of the first."""
    pos = np.array([[0, 0, 0], _R1, _R1 * _MIRROR, _R3, _R3 * _MIRROR])
    return Atoms("CuCuAgCuAg", positions=pos), Atoms("CuCuAgAgCu", positions=pos)


def run(ctx: Context) -> Section:
    """Distances of the mirror pair per descriptor; recovery of ν=2 on liquid alloys."""
    c = ctx.config
    out = ctx.section_dir(KEY)
    a, b = mirror_pair()
    rows = []
    for name in ("nu2", "nu1mu1", "nu1mustar1", "mu2"):
        calc = soap(["Cu", "Ag"], name, c.n_max, c.l_max, 4.0, c.sigma, center_weight=0.0)
        xa = np.asarray(calc.compute(a).values[0])
        xb = np.asarray(calc.compute(b).values[0])
        rel = float(np.linalg.norm(xa - xb) / np.linalg.norm(xa))
        rows.append({"compression": name, "label": LABELS[name], "relative_distance": rel})

    from slimsoap.soap.recovery import recover

    liquid = ctx.frames("liquid")
    species = species_of(liquid)
    n_max = 2 * c.l_max + 1  # N ≥ 2l+1 for every l: the condition of lossless recovery
    mustar = soap(species, "nu1mustar1", n_max, c.l_max, c.r_cut, c.sigma, mustar_basis="element")
    nu2_calc = soap(species, "nu2", n_max, c.l_max, c.r_cut, c.sigma)
    ref = ctx.features("liquid", liquid, nu2_calc)
    x = ctx.features("liquid", liquid, mustar).values()
    full, report = recover(x, mustar, frames=liquid, return_report=True)
    nu2 = np.asarray(ref.values())
    verified = report.exact.all(axis=1)  # the rank condition holds at every l
    err = np.max(np.abs(full - nu2), axis=1) / np.max(np.abs(nu2))
    rel_err = float(np.median(err[verified])) if verified.any() else float("nan")
    # rounding bound of the recovery (soap.recovery): relative error ~ eps · cond(G)
    bound = np.finfo(np.float64).eps * report.condition.max(axis=1)
    over_bound = float(np.max(err[verified] / bound[verified])) if verified.any() else np.inf
    l_of = np.array([l for l, _, _ in nu2_calc.labels()])
    per_l_error = (
        [
            float(np.median(np.max(np.abs(full - nu2)[verified][:, l_of == l], axis=1)))
            / float(np.max(np.abs(nu2)))
            for l in range(c.l_max + 1)
        ]
        if verified.any()
        else []
    )
    n_neigh = report.n_neighbours[:, None]
    bound = np.minimum(report.max_rank[None, :], n_neigh + 1)
    rank_ok = bool(np.all(report.rank <= bound))
    exact = float(report.exact.mean())
    write_csv(out / "fig2.csv", rows)
    recovery = {
        "environments": int(x.shape[0]),
        "verified_fraction": float(verified.mean()),
        "median_relative_error_verified": rel_err,
        "max_relative_error_verified": float(err[verified].max()) if verified.any() else 0.0,
        "max_error_over_rounding_bound_verified": over_bound,
        "median_relative_error_verified_by_l": per_l_error,
        "median_condition_verified_by_l": np.median(report.condition[verified], axis=0).tolist()
        if verified.any()
        else [],
        "condition_quantiles_0_50_100": np.quantile(report.condition, [0, 0.5, 1]).tolist(),
        "max_relative_error_unverified": float(err[~verified].max()) if (~verified).any() else 0.0,
        "exact_fraction_env_l": exact,
        "rank_within_min_2l+1_neighbours+1": rank_ok,
        "max_condition": float(report.condition.max()),
        "n_max": n_max,
    }
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar([r["label"] for r in rows], [max(r["relative_distance"], 1e-17) for r in rows])
    ax.set_yscale("log")
    ax.set_ylabel("|x_A − x_B| / |x_A| (mirror pair)")
    ax.set_title(
        f"ν=2 from ν,μ*=1,1: median rel. error {rel_err:.1e} ({verified.mean():.0%} verified)",
        fontsize=9,
    )
    save(fig, out / "fig2.png")
    by = {r["compression"]: r["relative_distance"] for r in rows}
    holds = (
        by["nu2"] > 1e-3
        and by["nu1mu1"] < 1e-10
        and rank_ok
        and verified.any()
        and over_bound <= 1.0
    )
    return Section(
        key=KEY,
        title=TITLE,
        claim="Fig. 2: two environments distinct under ν=2 are identical under ν,μ=1,1 because "
        "the total density is mirror symmetric (rank(C_n)=2 < rank(c_n)=4). In the absence of "
        "such symmetries ν,μ*=1,1 (2l+1 radial functions for the total density) is lossless; "
        "ranks are at most min(2l+1, neighbours).",
        criterion="relative distance > 1e-3 for ν=2 and < 1e-10 for ν,μ=1,1; ν=2 rebuilt "
        "from ν,μ*=1,1 on every liquid-alloy environment whose rank condition is verified "
        "with a relative error within the rounding bound eps·cond(G) of the recovery (G: "
        "the (2l+1)² Gram matrix it diagonalises, worst l), and every rank ≤ min(2l+1, "
        "neighbours+1)",
        holds=bool(holds),
        numbers={"mirror_pair": rows, "recovery": recovery},
        files=[f"{KEY}/fig2.png", f"{KEY}/fig2.csv"],
        notes=f"recovery with n_max = 2·l_max+1 = {n_max} and the element μ* basis; the pair "
        "is a hand-made four-neighbour analogue of the paper's (Cu/Ag); "
        "neighbours+1 counts the centre, which contributes at l=0. Lossless means exact in "
        "exact arithmetic: the total density in the first 2l+1 GTO functions is "
        "ill-conditioned at the highest l (cond(G) ~1e12-1e13 at l=3 in --quick), so the "
        "rounding error of the rebuilt ν=2 is ~1e-6 there (~1e-14 at l=1), always below "
        "eps·cond(G): the median error is reported beside the bound.",
    )
