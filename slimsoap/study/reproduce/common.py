"""Helpers shared by the sections: calculators, tables and figures."""

from __future__ import annotations

import csv
from pathlib import Path

#: Paper labels of slimsoap's compression names.
LABELS = {
    "nu2": "ν=2",
    "nu1mu1": "ν,μ=1,1",
    "nu1mustar1": "ν,μ*=1,1",
    "nu1muhat1": "ν,μ̂=1,1",
    "nu1nuhat1": "ν,ν̂=1,1",
    "nuhat1mu1": "ν̂,μ=1,1",
    "mu1muhat1": "μ,μ̂=1,1",
    "nuhat2": "ν̂=2",
    "nuhat1muhat1": "ν̂,μ̂=1,1",
    "muhat2": "μ̂=2",
    "mu2": "μ=2",
    "embed": "ν=2,d_J=2",
    "random": "WᵀP_l",
    "weighted": "wACSF",
}


def soap(species, compression: str, n_max: int, l_max: int, r_cut: float, sigma: float, **kw):
    """A SOAP calculator; ``embed`` gets the d_J=2 atomic-number embedding, ``random`` its
    seed (``seed`` in ``kw``, default 0)."""
    from slimsoap.soap.calculator import SOAP

    options = dict(kw)
    seed = options.pop("seed", 0)
    if compression == "embed":
        options["embedding"] = "atomic_number"
    if compression in ("random", "random_sym", "tensor_reduced"):
        options["seed"] = seed
    return SOAP(species, r_cut, n_max, l_max, sigma, compression=compression, **options)


def species_of(frames) -> list[int]:
    """Sorted atomic numbers present in ``frames``."""
    return sorted({int(z) for a in frames for z in a.numbers})


def write_csv(path: Path, rows: list[dict]) -> Path:
    """``rows`` as CSV (columns: the union of keys, in first-seen order)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    return path


def pyplot():
    """matplotlib.pyplot on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> Path:
    """Save and close ``fig`` (150 dpi)."""
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    pyplot().close(fig)
    return path
