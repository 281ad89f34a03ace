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
    return {k: getattr(config, k) for k in keys} | {"version": 7}


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
    l_of = np.array([l for l, _, _ in nu2_calc.labels()])
    recovery = recovery_by_l(full, np.asarray(ref.values()), report, l_of, len(species) * n_max)
    write_csv(out / "fig2.csv", rows)
    recovery = {"environments": int(x.shape[0]), **recovery, "n_max": n_max}
    plt = pyplot()
    fig, (ax, ax_l) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax.bar([r["label"] for r in rows], [max(r["relative_distance"], 1e-17) for r in rows])
    ax.set_yscale("log")
    ax.set_ylabel("|x_A − x_B| / |x_A|")
    ax.set_title("mirror pair", fontsize=9)
    unverifiable = recovery["l_without_verified_environments"]
    ls = np.arange(len(recovery["verified_fraction_by_l"]))

    def curve(key):
        return [np.nan if v is None else max(v, 1e-17) for v in recovery[key]]

    ax_l.semilogy(ls, curve("median_relative_error_verified_by_l"), "o-", label="verified: median")
    ax_l.semilogy(ls, curve("max_relative_error_unverified_by_l"), "x", label="unverified: max")
    bound = np.array(curve("median_condition_verified_by_l")) * np.finfo(float).eps
    ax_l.semilogy(ls, bound * len(species) * n_max, ":", color="grey", label="n·eps·cond(G)")
    ax_l.set_xlabel("l")
    ax_l.set_xticks(ls)
    ax_l.set_ylabel("error / max |ν=2|")
    ax_l.set_title(
        f"ν=2 rebuilt from ν,μ*=1,1 (N = {n_max}): {recovery['verified_fraction']:.0%} verified"
        + (f"\nnone verifiable at l = {', '.join(map(str, unverifiable))}" if unverifiable else ""),
        fontsize=9,
    )
    ax_l.legend(fontsize="small")
    save(fig, out / "fig2.png")
    by = {r["compression"]: r["relative_distance"] for r in rows}
    holds = (
        by["nu2"] > 1e-3
        and by["nu1mu1"] < 1e-10
        and recovery["rank_within_min_2l+1_neighbours+1"]
        and not unverifiable
        and recovery["max_error_over_rounding_bound_verified"] <= 1.0
    )
    return Section(
        key=KEY,
        title=TITLE,
        claim="Fig. 2: two environments distinct under ν=2 are identical under ν,μ=1,1 because "
        "the total density is mirror symmetric (rank(C_n)=2 < rank(c_n)=4). In the absence of "
        "such symmetries ν,μ*=1,1 (2l+1 radial functions for the total density) is lossless; "
        "ranks are at most min(2l+1, neighbours).",
        criterion="relative distance > 1e-3 for ν=2 and < 1e-10 for ν,μ=1,1; ν=2 rebuilt "
        "from ν,μ*=1,1, l by l, on every liquid-alloy environment whose rank condition at that "
        "l is verified, with a relative error within the rounding bound n·eps·cond(G) of the "
        "recovery (G: the (2l+1)² Gram matrix it diagonalises; n = S·N, the longest sum), "
        "verified environments at every l, and every rank ≤ min(2l+1, neighbours+1)",
        holds=bool(holds),
        numbers={"mirror_pair": rows, "recovery": recovery},
        files=[f"{KEY}/fig2.png", f"{KEY}/fig2.csv"],
        notes=f"recovery with n_max = 2·l_max+1 = {n_max} and the element μ* basis; the pair "
        "is a hand-made four-neighbour analogue of the paper's (Cu/Ag); "
        "neighbours+1 counts the centre, which contributes at l=0. Lossless means exact in "
        "exact arithmetic: the total density in the first 2l+1 GTO functions is "
        "ill-conditioned at the highest l (cond(G) ~1e12-1e13 at l=3 in --quick), so the "
        "rounding error of the rebuilt ν=2 is ~1e-6 there (~1e-14 at l=1), below "
        "eps·cond(G): the median error is reported beside the bound, l by l. Where the "
        "first 2l+1 GTO functions of the total density are numerically rank-deficient "
        "(rank(T) below 2l+1 and below the neighbours, as at l ≥ 5 with N = 13), exactness "
        "cannot be verified in float64 and the rebuilt block is not exact: such l are listed "
        "with the largest error of their unverified environments, and the claim does not hold "
        "there."
        + (f" Here: no verified environment at l = {unverifiable}." if unverifiable else ""),
    )


def recovery_by_l(
    full: np.ndarray, nu2: np.ndarray, report, l_of: np.ndarray, n_columns: int
) -> dict:
    """Errors of ν=2 rebuilt from ν,μ*=1,1, l by l, against the computed ν=2.

    Args:
        full, nu2: (n_env, n_nu2) rebuilt and computed spectra; ``l_of``: (n_nu2,) the l of
            each column. report: the :class:`~slimsoap.soap.recovery.RankReport` of the
            recovery (``exact``, ``condition``, ``rank``, ``max_rank``, ``n_neighbours``:
            (n_env, L+1) and (n_env,)). n_columns: S·N, the length of the longest sum of the
            recovery (the factor n of the rounding bound n·eps·cond(G)).

    Returns:
        JSON-ready numbers: per l the verified fraction, median error and condition of the
        verified environments and the largest error of the others (errors relative to
        max |ν=2|); over all verified (environment, l) the largest error over the bound; the
        l without any verified environment; whether every rank ≤ min(2l+1, neighbours+1).
    """
    scale = float(np.max(np.abs(nu2)))
    n_l = report.exact.shape[1]
    diff = np.abs(full - nu2)
    err = np.stack([diff[:, l_of == l].max(axis=1) for l in range(n_l)], axis=1) / scale
    verified = report.exact
    bound = n_columns * np.finfo(np.float64).eps * report.condition
    ratio = err[verified] / bound[verified]

    def per_l(values, mask, stat):
        return [
            float(stat(values[mask[:, l], l])) if mask[:, l].any() else None for l in range(n_l)
        ]

    limit = np.minimum(report.max_rank[None, :], report.n_neighbours[:, None] + 1)
    return {
        "verified_fraction": float(verified.mean()),
        "verified_fraction_by_l": verified.mean(axis=0).tolist(),
        "median_relative_error_verified_by_l": per_l(err, verified, np.median),
        "median_condition_verified_by_l": per_l(report.condition, verified, np.median),
        "max_relative_error_unverified_by_l": per_l(err, ~verified, np.max),
        "max_error_over_rounding_bound_verified": float(ratio.max()) if ratio.size else np.inf,
        "l_without_verified_environments": [l for l in range(n_l) if not verified[:, l].any()],
        "rank_within_min_2l+1_neighbours+1": bool(np.all(report.rank <= limit)),
        "condition_quantiles_0_50_100": np.quantile(report.condition, [0, 0.5, 1]).tolist(),
    }
