"""Hyper-parameters from DScribe and quippy, and to featomic, with the conversion factors.

Each translator builds the slimsoap calculator (or the peer's hyper-parameters) for the
same descriptor; the ``*_columns`` functions give, for every column of the peer's output,
slimsoap's column and the factor, so that ``features.values[:, cols] * scale`` is the
peer's array. The factors (checked against each peer in ``tests/ecosystem``, and in
``tests/peers``):

- **DScribe** (``rbf="gto"``): p_DScribe = π √(8/(2l+1)) · Σ_m c c'; slimsoap stores the same
  sum with √2 on the off-diagonal entries of symmetric blocks (so p·p' is the full kernel),
  DScribe stores no √2. Orders: ``off`` → ``nu2`` (species pairs Z_a ≤ Z_b, then l, then
  n ≤ n' when a = b, all n, n' otherwise); ``mu1nu1`` → ``nu1mu1`` (species, l, n, n');
  ``mu2`` → ``mu2`` (l, n ≤ n'); ``crossover`` → ``species_diagonal`` (species, l, n ≤ n').
  DScribe has no smooth cutoff (it keeps neighbours out to r_cut + σ√(2 ln 10³), weight 1):
  the numbers agree for environments whose neighbours all lie within r_cut − cutoff_width.
- **quippy/GAP** (``soap ...`` strings, ``radial_basis="gaussian"``): GAP's coefficients omit
  the 4π of the expansion and every l-block is divided by √(2l+1):
  p_quippy = p_slimsoap / (16π² √(2l+1)); both put √2 on off-diagonal entries. Order: GAP
  runs over channel pairs (b ≤ a for symmetric blocks) with l innermost. quippy appends one
  trailing column (``covariance_sigma0``), not a feature. GAP's ``normalise=T`` (its default)
  normalises its own scaled vector, so then p_quippy = normalise(p_raw[:, cols] · scale) with
  p_raw from the same calculator without ``normalize``: no fixed factor relates the two
  normalised vectors.
- **featomic** (``SoapPowerSpectrum``): :func:`soap_to_featomic` hands featomic slimsoap's
  own radial integrals I_nl(r) as tabulated splines (``Explicit`` basis of ``Tabulated``
  radial functions, a ``DiracDelta`` density, ``ShiftedCosine`` smoothing = slimsoap's
  cosine cutoff), so the coefficients are slimsoap's for any radial basis. featomic reports
  p = (-1)^l Σ_m c^a c^b / √(2l+1) (its Clebsch–Gordan coupling) for every (n_1, n_2), with
  √2 when a ≠ b, under keys (centre, a ≤ b): so
  p_featomic = (-1)^l p_slimsoap / (√(2l+1) · (√2 if a = b and n_1 ≠ n_2)).
"""

from __future__ import annotations

import re

import numpy as np
from ase.data import chemical_symbols

from slimsoap.soap.calculator import SOAP

#: DScribe compression mode → slimsoap compression.
DSCRIBE_MODES = {"off": "nu2", "mu1nu1": "nu1mu1", "mu2": "mu2", "crossover": "species_diagonal"}
#: GAP's (nu_R, nu_S) → slimsoap compression (DESIGN §4).
GAP_NU = {
    (2, 2): "nu2",
    (2, 1): "nu1mu1",
    (2, 0): "mu2",
    (1, 2): "nu1nuhat1",
    (1, 1): "nu1muhat1",
    (1, 0): "mu1muhat1",
    (0, 2): "nuhat2",
    (0, 1): "nuhat1muhat1",
    (0, 0): "muhat2",
}
#: quippy keys read by :func:`soap_from_quippy` (others are refused).
QUIPPY_KEYS = {
    "cutoff", "cutoff_transition_width", "n_max", "l_max", "atom_sigma", "central_weight",
    "normalise", "n_species", "species_z", "n_z", "z", "nu_r", "nu_s", "diagonal_radial",
    "z_map", "covariance_sigma0", "radial_basis",
}  # fmt: skip


# --- DScribe -------------------------------------------------------------------------


def soap_from_dscribe(dscribe_soap, cutoff_width: float = 0.5) -> SOAP:
    """The slimsoap SOAP of a ``dscribe.descriptors.SOAP`` (``rbf="gto"``).

    Args:
        dscribe_soap: the DScribe calculator (its species, r_cut, n_max, l_max, sigma and
            compression mode are read).
        cutoff_width: slimsoap's cosine cutoff width (Å; DScribe has none, see the module
            docstring; 0 gives a hard cutoff at r_cut).

    Raises:
        ValueError: for DScribe options slimsoap does not translate (the polynomial basis,
            ``weighting``, ``average``, ``species_weighting``).
    """
    d = dscribe_soap
    if d._rbf != "gto":
        raise ValueError(f"only DScribe's 'gto' basis translates, not rbf={d._rbf!r}")
    for name, value, off in (
        ("weighting", d._weighting or None, None),
        ("average", d.average, "off"),
    ):
        if value != off:
            raise ValueError(f"DScribe's {name}={value!r} has no slimsoap translation yet")
    compression = dict(d._compression)
    if compression.get("species_weighting") is not None:
        raise ValueError("DScribe's species_weighting has no slimsoap translation yet")
    mode = compression.get("mode", "off")
    if mode not in DSCRIBE_MODES:
        raise ValueError(f"DScribe compression mode {mode!r}; valid: {sorted(DSCRIBE_MODES)}")
    return SOAP(
        species=sorted(int(z) for z in d._atomic_number_set),
        r_cut=float(d._r_cut),
        n_max=int(d._n_max),
        l_max=int(d._l_max),
        sigma=float(d._sigma),
        radial_basis="gto",
        cutoff_width=cutoff_width,
        center_weight=1.0,
        compression=DSCRIBE_MODES[mode],
    )


def dscribe_columns(soap: SOAP) -> tuple[np.ndarray, np.ndarray]:
    """(cols, scale): DScribe's array is ``values[:, cols] * scale`` (module docstring)."""
    mode = {v: k for k, v in DSCRIBE_MODES.items()}.get(soap.compression)
    if mode is None:
        raise ValueError(f"DScribe has no counterpart of compression {soap.compression!r}")
    index = {lab: k for k, lab in enumerate(soap.labels())}
    sp, N, L = soap.species, soap.n_max, soap.l_max
    cols, scale = [], []

    def add(l, a, b, off_diagonal):
        cols.append(index[(l, a, b)])
        scale.append(np.pi * np.sqrt(8.0 / (2 * l + 1)) / (np.sqrt(2.0) if off_diagonal else 1))

    if mode == "off":
        for i, a in enumerate(sp):
            for b in sp[i:]:
                for l in range(L + 1):
                    for n in range(N):
                        for m in range(n if a == b else 0, N):
                            add(l, f"{a}:n{n}", f"{b}:n{m}", (a, n) != (b, m))
    elif mode == "mu1nu1":
        for a in sp:
            for l in range(L + 1):
                for n in range(N):
                    for m in range(N):
                        add(l, f"{a}:n{n}", f"total:n{m}", False)
    elif mode == "mu2":
        for l in range(L + 1):
            for n in range(N):
                for m in range(n, N):
                    add(l, f"total:n{n}", f"total:n{m}", n != m)
    else:
        for a in sp:
            for l in range(L + 1):
                for n in range(N):
                    for m in range(n, N):
                        add(l, f"{a}:n{n}", f"{a}:n{m}", n != m)
    return np.array(cols), np.array(scale)


# --- quippy / GAP --------------------------------------------------------------------


def _parse_quippy(text: str) -> dict[str, str]:
    text = text.strip()
    if not text.lower().startswith("soap"):
        raise ValueError(f"a quippy SOAP string starts with 'soap', got {text[:20]!r}")
    pairs = re.findall(r"(\w+)\s*=\s*(\{[^}]*\}|\S+)", text[4:])
    rest = re.sub(r"(\w+)\s*=\s*(\{[^}]*\}|\S+)", "", text[4:]).strip()
    if rest:
        raise ValueError(f"cannot read {rest!r} in the quippy string (expected key=value)")
    out = {k.lower(): v.strip("{}").strip() for k, v in pairs}
    unknown = sorted(set(out) - QUIPPY_KEYS)
    if unknown:
        raise ValueError(f"quippy options {unknown} have no slimsoap translation; "
                         f"known: {sorted(QUIPPY_KEYS)}")  # fmt: skip
    return out


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("t", "true", "1"):
        return True
    if v in ("f", "false", "0"):
        return False
    raise ValueError(f"expected a logical (T/F), got {value!r}")


def soap_from_quippy(text: str) -> SOAP:
    """The slimsoap SOAP of a quippy/GAP descriptor string, e.g.
    ``"soap cutoff=4 n_max=6 l_max=4 atom_sigma=0.5 n_species=2 species_Z={1 8}"``.

    Read: ``cutoff`` (r_cut, Å), ``n_max``, ``l_max``, ``atom_sigma`` (σ, Å),
    ``cutoff_transition_width`` (cutoff_width, default 0.5), ``central_weight``
    (center_weight, default 1), ``normalise`` (default T), ``species_Z`` (and
    ``n_species``), ``nu_R``/``nu_S`` (the compression, with ``projection="sum"``),
    ``diagonal_radial``, ``Z_map`` (species groups, ``":"`` before the second density's).
    ``Z``/``n_Z`` must cover every species (slimsoap describes every atom);
    ``covariance_sigma0`` only fills quippy's trailing column. The radial basis is
    ``"gaussian"`` (GAP's ``EQUISPACED_GAUSS``).
    """
    o = _parse_quippy(text)
    for key in ("cutoff", "n_max", "l_max", "atom_sigma", "species_z"):
        if key not in o:
            raise ValueError(f"the quippy string needs {key}=... to translate")
    if o.get("radial_basis", "EQUISPACED_GAUSS").upper() != "EQUISPACED_GAUSS":
        raise ValueError(f"only GAP's EQUISPACED_GAUSS basis translates, not {o['radial_basis']}")
    species = [int(z) for z in o["species_z"].split()]
    if "n_species" in o and int(o["n_species"]) != len(species):
        raise ValueError(f"n_species={o['n_species']} but species_Z lists {len(species)}")
    if "z" in o and set(int(z) for z in o["z"].split()) != set(species):
        raise ValueError(
            f"Z={{{o['z']}}} selects centres; slimsoap describes every atom, so Z must "
            f"list every species of species_Z ({species})"
        )
    nu = (int(o.get("nu_r", 2)), int(o.get("nu_s", 2)))
    if nu not in GAP_NU:
        raise ValueError(f"nu_R, nu_S = {nu}; valid: {sorted(GAP_NU)}")
    compression, options = GAP_NU[nu], {}
    if _bool(o.get("diagonal_radial", "F")):
        if nu != (2, 2):
            raise ValueError("diagonal_radial translates only with nu_R = nu_S = 2")
        compression = "diagonal_radial"
    if "z_map" in o:
        if nu != (2, 2) or compression != "nu2":
            raise ValueError("Z_map translates only with nu_R = nu_S = 2, no diagonal_radial")
        compression = "species_groups"
        parts = o["z_map"].split(":")
        groups = [[int(z) for z in g.split()] for g in parts[0].split(",")]
        options["groups"] = groups
        if len(parts) == 2:
            options["groups2"] = [[int(z) for z in g.split()] for g in parts[1].split(",")]
    return SOAP(
        species=species,
        r_cut=float(o["cutoff"]),
        n_max=int(o["n_max"]),
        l_max=int(o["l_max"]),
        sigma=float(o["atom_sigma"]),
        radial_basis="gaussian",
        cutoff_width=float(o.get("cutoff_transition_width", 0.5)),
        center_weight=float(o.get("central_weight", 1.0)),
        compression=compression,
        normalize=_bool(o.get("normalise", "T")),
        projection="exact" if nu == (2, 2) else "sum",
        **options,
    )


def quippy_columns(soap: SOAP) -> tuple[np.ndarray, np.ndarray]:
    """(cols, scale): quippy's array (without its trailing column) is
    ``values[:, cols] * scale`` for un-normalised features (module docstring)."""
    labels = soap.labels()
    index = {lab: k for k, lab in enumerate(labels)}
    names1 = list(dict.fromkeys(lab[1] for lab in labels if lab[0] == 0))
    names2 = list(dict.fromkeys(lab[2] for lab in labels if lab[0] == 0))
    symmetric = set(names1) == set(names2)
    cols, scale = [], []
    for a, name_a in enumerate(names1):
        for name_b in names1[: a + 1] if symmetric else names2:
            if (0, name_b, name_a) not in index and (0, name_a, name_b) not in index:
                continue
            for l in range(soap.l_max + 1):
                cols.append(index[(l, name_b, name_a) if symmetric else (l, name_a, name_b)])
                scale.append(1.0 / (16.0 * np.pi**2 * np.sqrt(2 * l + 1)))
    return np.array(cols), np.array(scale)


# --- featomic ------------------------------------------------------------------------


def soap_to_featomic(soap: SOAP, points_per_sigma: int = 128) -> dict:
    """Hyper-parameters for ``featomic.SoapPowerSpectrum(**hypers)`` giving slimsoap's ν=2.

    slimsoap's radial integrals I_nl(r) (any radial basis) are tabulated on [0, r_cut]
    every σ/``points_per_sigma`` Å with their exact derivatives (featomic interpolates
    them with cubic Hermite splines: ~1e-10 relative at the default spacing), with a
    ``DiracDelta`` density of the centre's weight and featomic's ``ShiftedCosine``
    smoothing (slimsoap's cosine cutoff). Only ``compression="nu2"`` without
    ``normalize`` has a featomic counterpart; the factors are in the module docstring.
    """
    if soap.compression != "nu2" or soap.normalize:
        raise ValueError(
            "featomic's SoapPowerSpectrum is the full spectrum: only compression='nu2' "
            f"without normalize translates (got {soap.compression!r}, normalize="
            f"{soap.normalize})"
        )
    n = max(2, int(np.ceil(soap.r_cut / soap.sigma * points_per_sigma)) + 1)
    r = np.linspace(0.0, soap.r_cut, n)
    values, derivs = soap.basis.integrals_exact(r)  # (n, L+1, N)
    by_angular = {
        str(l): {
            "type": "Tabulated",
            "points": [
                {"position": float(p), "values": v.tolist(), "derivatives": d.tolist()}
                for p, v, d in zip(r, values[:, l], derivs[:, l])
            ],
        }
        for l in range(soap.l_max + 1)
    }
    smoothing = (
        {"type": "ShiftedCosine", "width": soap.cutoff_width} if soap.cutoff_width > 0 else None
    )
    return {
        "cutoff": {"radius": soap.r_cut, "smoothing": smoothing},
        "density": {"type": "DiracDelta", "center_atom_weight": soap.center_weight},
        "basis": {"type": "Explicit", "by_angular": by_angular, "spline_accuracy": None},
    }


def featomic_columns(soap: SOAP, key: tuple[int, int], properties: np.ndarray):
    """(cols, scale) of one featomic block: key (neighbor_1_type, neighbor_2_type), rows of
    its properties (l, n_1, n_2); the block's values are ``values[rows][:, cols] * scale``."""
    a, b = (chemical_symbols[z] for z in key)
    index = {lab: k for k, lab in enumerate(soap.labels())}
    cols, scale = [], []
    for l, n1, n2 in np.asarray(properties):
        lo, hi = (n1, n2) if a != b or n1 <= n2 else (n2, n1)
        cols.append(index[(int(l), f"{a}:n{lo}", f"{b}:n{hi}")])
        diagonal_pair = a == b and n1 != n2
        sign = -1.0 if l % 2 else 1.0
        scale.append(sign / (np.sqrt(2 * l + 1) * (np.sqrt(2.0) if diagonal_pair else 1.0)))
    return np.array(cols), np.array(scale)
