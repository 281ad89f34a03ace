"""Figures in the style of the paper: distance correlations, imbalance plane, sensitivity.

Every function takes computed results (from :mod:`slimsoap.analysis`) or plain arrays and a
path; the format follows the suffix (``.png``, ``.pdf``, ``.svg``). Figures are drawn on a
bare :class:`matplotlib.figure.Figure`, so no pyplot state or interactive backend is
touched (works headless). Needs matplotlib (extra ``slimsoap[plot]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from slimsoap.analysis.distances import DistanceCorrelation
from slimsoap.analysis.imbalance import ImbalancePlane


def _figure(size: tuple[float, float]):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'slimsoap[plot]'") from exc
    return Figure(figsize=size, layout="constrained")


def _save(fig, path: str | Path, dpi: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def plot_histogram2d(
    counts: np.ndarray,
    edges: np.ndarray,
    path: str | Path,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    dpi: int = 200,
) -> Path:
    """Log-scaled 2-D histogram (first index of ``counts`` on x) with the y = x line.

    Args:
        counts: (bins, bins) counts; empty bins are left blank.
        edges: (bins + 1,) bin edges, shared by both axes.
        path: output file.
    """
    from matplotlib.colors import LogNorm

    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"counts must be a square 2-D array, got shape {counts.shape}")
    if edges.shape != (counts.shape[0] + 1,):
        raise ValueError(f"edges must have {counts.shape[0] + 1} entries, got {edges.shape}")
    if counts.max() <= 0:
        raise ValueError("the histogram is empty")
    fig = _figure((4.0, 3.4))
    ax = fig.add_subplot()
    shown = np.ma.masked_less_equal(counts.T, 0)
    mesh = ax.pcolormesh(
        edges, edges, shown, norm=LogNorm(vmin=1, vmax=counts.max()), cmap="viridis"
    )
    ax.plot(edges[[0, -1]], edges[[0, -1]], "--", color="grey", lw=0.8)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(edges[0], edges[-1])
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize="medium")
    fig.colorbar(mesh, ax=ax, label="pairs")
    return _save(fig, path, dpi)


def plot_distance_correlation(
    result: DistanceCorrelation,
    path: str | Path,
    kind: str = "distance",
    names: tuple[str, str] = ("A", "B"),
    dpi: int = 200,
) -> Path:
    """Distance–distance (``kind="distance"``) or rank–rank (``"rank"``) histogram (Fig. S5).

    The title carries the Pearson coefficient (distances) or the rank correlation.
    """
    if kind == "distance":
        counts, coeff, what = result.distance_hist, result.pearson, "scaled distance"
        label = f"Pearson {coeff:.3f}, Spearman {result.spearman:.3f}"
    elif kind == "rank":
        counts, coeff, what = result.rank_hist, result.rank_pearson, "scaled rank"
        label = f"rank correlation {coeff:.3f}"
    else:
        raise ValueError(f"kind must be 'distance' or 'rank', got {kind!r}")
    return plot_histogram2d(
        counts,
        result.edges,
        path,
        xlabel=f"{what}, {names[0]}",
        ylabel=f"{what}, {names[1]}",
        title=label,
        dpi=dpi,
    )


def plot_imbalance_plane(
    plane: ImbalancePlane, path: str | Path, reference_name: str = "ν=2", dpi: int = 200
) -> Path:
    """Information imbalance plane (Figs. 5, 6): x = Δ(ref→D), y = Δ(D→ref), diagonal.

    Bottom left: same information as the reference; top left: less; along the diagonal:
    different. Error bars are the standard errors over repeats.
    """
    fig = _figure((4.0, 4.0))
    ax = fig.add_subplot()
    for i, name in enumerate(plane.names):
        ax.errorbar(
            plane.from_reference[i],
            plane.to_reference[i],
            xerr=plane.from_reference_err[i],
            yerr=plane.to_reference_err[i],
            fmt="o",
            capsize=2,
            label=name,
        )
    top = max(
        1.05,
        float(np.max(plane.from_reference + plane.from_reference_err)) + 0.05,
        float(np.max(plane.to_reference + plane.to_reference_err)) + 0.05,
    )
    ax.plot([0, top], [0, top], "--", color="grey", lw=0.8)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel(f"Δ({reference_name} → descriptor)")
    ax.set_ylabel(f"Δ(descriptor → {reference_name})")
    ax.legend(fontsize="small", frameon=False)
    return _save(fig, path, dpi)


def plot_sensitivity_scatter(
    reference: Sequence[np.ndarray] | np.ndarray,
    compressed: dict[str, Sequence[np.ndarray] | np.ndarray],
    path: str | Path,
    n_zero: int = 6,
    floor: float = 1e-12,
    reference_name: str = "ν=2",
    dpi: int = 200,
) -> Path:
    """Scatter of scaled sensitivity eigenvalues, compressed vs reference (Fig. 9), log-log.

    Args:
        reference: per environment, the descending scaled eigenvalues of the reference
            descriptor ((n_env, n_coordinates) array or a list of 1-D arrays).
        compressed: name → eigenvalues of a compressed descriptor, same environments and
            shapes as ``reference``.
        n_zero: number of smallest eigenvalues left out per environment (the 6 zero modes).
        floor: values below are drawn at ``floor``.
    """
    ref = [np.asarray(e, dtype=float) for e in reference]
    fig = _figure((4.0, 4.0))
    ax = fig.add_subplot()
    for name, eigs in compressed.items():
        eigs = [np.asarray(e, dtype=float) for e in eigs]
        if len(eigs) != len(ref):
            raise ValueError(f"{name!r}: {len(eigs)} environments, reference has {len(ref)}")
        xs, ys = [], []
        for r, c in zip(ref, eigs, strict=True):
            if r.shape != c.shape:
                raise ValueError(f"{name!r}: eigenvalue shapes differ ({c.shape} vs {r.shape})")
            keep = max(r.size - n_zero, 0)
            xs.append(r[:keep])
            ys.append(c[:keep])
        ax.scatter(
            np.maximum(np.concatenate(xs), floor),
            np.maximum(np.concatenate(ys), floor),
            s=6,
            alpha=0.6,
            label=name,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    lo, hi = floor, 1.5
    ax.plot([lo, hi], [lo, hi], "--", color="grey", lw=0.8)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(f"λ, {reference_name}")
    ax.set_ylabel("λ, compressed")
    ax.legend(fontsize="small", frameon=False)
    return _save(fig, path, dpi)
