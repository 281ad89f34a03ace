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
  the numbers agree for environments whose neighbours all lie within r_cut − cutoff_width
  (or whose ``weighting`` vanishes beyond that, e.g. ``poly`` with r0 ≤ r_cut − cutoff_width).
  ``weighting`` (poly, pow, exp, w0) and ``species_weighting`` (``mu1nu1``, ``mu2``) are the
  same functions and need no factor; ``average="inner"``/``"outer"`` are
  ``compute(..., average=...)`` (:func:`dscribe_compute_options`), the same columns.
  ``rbf="gto"`` at large n_max (12 at r_cut 5 Å): DScribe's basis is orthonormal to 6.5e-6
  only, so its numbers differ from ``"gto"``'s by ~1e-5 (normalised kernel 4.5e-6), and
  ``radial_basis="gto_dscribe"`` reproduces them (kernel 1.6e-11).
- **quippy/GAP** (``soap ...`` strings, ``radial_basis="gaussian"``): GAP's coefficients omit
  the 4π of the expansion and every l-block is divided by √(2l+1):
  p_quippy = p_slimsoap / (16π² √(2l+1)); both put √2 on off-diagonal entries. Order: GAP
  runs over channel pairs (b ≤ a for symmetric blocks) with l innermost. quippy appends one
  trailing column (``covariance_sigma0``), not a feature. GAP's ``normalise=T`` (its default)
  normalises its own scaled vector, so then p_quippy = normalise(p_raw[:, cols] · scale) with
  p_raw from the same calculator without ``normalize``: no fixed factor relates the two
  normalised vectors. ``average=T`` (one row per frame) sums the coefficients over the
  frame: slimsoap's ``average="inner"`` × n_atoms²; ``Z`` (centre elements) is ``centers=``
  (both from :func:`quippy_compute_options`).
  ``cutoff_dexp``/``cutoff_scale``/``cutoff_rate`` are a ``weighting`` (no factor).
- **featomic** (``SoapPowerSpectrum``): :func:`soap_to_featomic` hands featomic slimsoap's
  own radial integrals I_nl(r) as tabulated splines (``Explicit`` basis of ``Tabulated``
  radial functions, a ``DiracDelta`` density, ``ShiftedCosine`` smoothing = slimsoap's
  cosine cutoff), so the coefficients are slimsoap's for any radial basis. featomic reports
  p = (-1)^l Σ_m c^a c^b / √(2l+1) (its Clebsch–Gordan coupling) for every (n_1, n_2), with
  √2 when a ≠ b, under keys (centre, a ≤ b): so
  p_featomic = (-1)^l p_slimsoap / (√(2l+1) · (√2 if a = b and n_1 ≠ n_2)). A
  ``"willatt2018"`` weighting (or ``pow`` with c = d) is featomic's density scaling
  ``Willatt2018``, with the centre's weight as ``center_atom_weight``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from ase import Atoms
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
    "z_map", "covariance_sigma0", "radial_basis", "cutoff_dexp", "cutoff_scale", "cutoff_rate",
    "average", "central_reference_all_species",
}  # fmt: skip
#: quippy keys refused with a reason (GAP's random mixing draws GAP's own random numbers).
QUIPPY_REFUSED = {
    key: "GAP's random species/radial mixing draws its matrices from GAP's random numbers; "
    "slimsoap's compression='tensor_reduced' is the same construction with its own seeded "
    "matrices, so its numbers differ from quippy's"
    for key in ("z_mix", "r_mix", "sym_mix", "k", "coupling", "mix_shift")
}


# --- DScribe -------------------------------------------------------------------------


def soap_from_dscribe(dscribe_soap, cutoff_width: float = 0.5, radial_basis: str = "gto") -> SOAP:
    """The slimsoap SOAP of a ``dscribe.descriptors.SOAP`` (``rbf="gto"``).

    Args:
        dscribe_soap: the DScribe calculator. Read: species, r_cut, n_max, l_max, sigma,
            dtype, ``weighting`` (``poly``/``pow``/``exp`` with r0, c, d, m, and w0: the same
            functions, see :mod:`slimsoap.soap.weighting`; DScribe's ``threshold`` only
            chooses r_cut when none is given and is dropped) and ``compression`` (``mode``
            as ``DSCRIBE_MODES``; ``species_weighting`` with ``mu1nu1`` and ``mu2``).
            ``average`` is a compute option in slimsoap: :func:`dscribe_compute_options`.
        cutoff_width: slimsoap's cosine cutoff width (Å; DScribe has none, see the module
            docstring; 0 gives a hard cutoff at r_cut).
        radial_basis: ``"gto"`` (orthonormal to ≤ 1e-8) or ``"gto_dscribe"`` (DScribe's
            own β = sqrtm(inv(S)), for DScribe's numbers where its basis is less
            orthonormal, e.g. n_max = 12: :class:`~slimsoap.soap.basis.gto.DScribeGTOBasis`).

    DScribe's ``periodic`` has no counterpart: slimsoap follows each frame's ``pbc``
    (DScribe's ``periodic=False`` on a periodic frame is ``atoms.pbc = False`` here), and
    ``create(system, centers=[indices])`` is ``compute(frames, centers=...)`` (Cartesian
    centres have no counterpart); ``sparse`` is ``compute(..., sparse=True)``.

    Raises:
        ValueError: for what has no slimsoap equivalent: the polynomial basis, and
            ``species_weighting`` other than all ones with modes ``off`` and ``crossover``
            (DScribe scales each species pair's block by w_a w_b there; slimsoap's
            ``species_weighting`` is that of ``nu1mu1`` and ``mu2``).
    """
    d = dscribe_soap
    if d._rbf != "gto":
        raise ValueError(f"only DScribe's 'gto' basis translates, not rbf={d._rbf!r}")
    if radial_basis not in ("gto", "gto_dscribe"):
        raise ValueError(f"radial_basis must be 'gto' or 'gto_dscribe', got {radial_basis!r}")
    compression = dict(d._compression)
    mode = compression.get("mode", "off")
    if mode not in DSCRIBE_MODES:
        raise ValueError(f"DScribe compression mode {mode!r}; valid: {sorted(DSCRIBE_MODES)}")
    species = sorted(int(z) for z in d._atomic_number_set)
    options = {}
    if compression.get("species_weighting") is not None:
        weights = {z: float(w) for z, w in zip(species, d._species_weights)}
        if mode in ("mu1nu1", "mu2"):
            options["species_weighting"] = weights
        elif any(w != 1.0 for w in weights.values()):
            raise ValueError(
                f"DScribe's species_weighting with mode {mode!r} scales each species pair's "
                f"block by w_a·w_b, which no slimsoap calculator does (its species_weighting "
                f"belongs to nu1mu1 and mu2, DScribe's 'mu1nu1' and 'mu2'); got "
                f"{compression['species_weighting']!r}"
            )
    weighting = {k: v for k, v in (d._weighting or {}).items() if k != "threshold"}
    return SOAP(
        species=species,
        r_cut=float(d._r_cut),
        n_max=int(d._n_max),
        l_max=int(d._l_max),
        sigma=float(d._sigma),
        radial_basis=radial_basis,
        cutoff_width=cutoff_width,
        center_weight=1.0,
        compression=DSCRIBE_MODES[mode],
        dtype=np.float32 if d.dtype == "float32" else np.float64,
        weighting=weighting or None,
        **options,
    )


def dscribe_compute_options(dscribe_soap) -> dict:
    """Keyword arguments of ``soap.compute`` for what DScribe sets on its calculator:
    ``{"average": "inner" | "outer"}`` for DScribe's ``average`` (one row per frame, the
    same definitions: coefficients averaged before the contraction, or descriptors
    averaged), ``{}`` for ``average="off"``."""
    return {} if dscribe_soap.average == "off" else {"average": dscribe_soap.average}


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
    refused = sorted(set(out) & set(QUIPPY_REFUSED))
    if refused:
        key = refused[0]
        raise ValueError(
            f"quippy option {key}={out[key]} does not translate: {QUIPPY_REFUSED[key]}"
        )
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
    ``cutoff_dexp``/``cutoff_scale``/``cutoff_rate`` (GAP's radial scaling of the neighbours:
    rate/(rate + (r/scale)^dexp) for rate > 0, featomic's ``Willatt2018``, i.e.
    ``weighting={"function": "willatt2018", "rate": rate, "scale": scale, "exponent":
    dexp}``; (r/scale)^-dexp for rate = 0, DScribe's ``pow`` with c = 1, d = 0; the centre
    keeps ``central_weight`` either way, as checked against quippy; GAP's defaults are
    dexp 0, scale 1, rate 1: no scaling). ``Z``/``n_Z`` (the centres' elements, a subset of
    species_Z; 0: every atom) and ``average=T`` are compute options
    (:func:`quippy_compute_options`); ``covariance_sigma0`` only fills quippy's trailing
    column. The radial basis
    is ``"gaussian"`` (GAP's ``EQUISPACED_GAUSS``).

    Raises:
        ValueError: for options without a slimsoap equivalent (GAP's random mixing
            ``Z_mix``/``R_mix``/``K``/``sym_mix``/``coupling``, the centre in every species
            channel ``central_reference_all_species=T``, other bases), unknown keys, and
            inconsistent strings.
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
    _quippy_centre_species(o, species)  # validated here, applied by quippy_compute_options
    if _bool(o.get("central_reference_all_species", "F")):
        raise ValueError(
            "central_reference_all_species=T puts the centre in every species channel; "
            "slimsoap's centre contributes to its own species only (center_weight)"
        )
    _bool(o.get("average", "F"))  # validated here, applied by quippy_compute_options
    central_weight = float(o.get("central_weight", 1.0))
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
        center_weight=central_weight,
        compression=compression,
        normalize=_bool(o.get("normalise", "T")),
        weighting=_quippy_weighting(o, central_weight),
        projection="exact" if nu == (2, 2) else "sum",
        **options,
    )


def _quippy_weighting(o: dict[str, str], central_weight: float) -> dict | None:
    """slimsoap's ``weighting`` of GAP's cutoff_dexp / cutoff_scale / cutoff_rate."""
    dexp = float(o.get("cutoff_dexp", 0.0))
    scale = float(o.get("cutoff_scale", 1.0))
    rate = float(o.get("cutoff_rate", 1.0))
    if dexp == 0:
        return None
    if rate > 0:
        return {"function": "willatt2018", "rate": rate, "scale": scale, "exponent": dexp}
    return {"function": "pow", "r0": scale, "c": 1.0, "d": 0.0, "m": dexp, "w0": central_weight}


def _quippy_centre_species(o: dict[str, str], species: list[int]) -> list[int] | None:
    """The centres' atomic numbers selected by GAP's ``Z`` (None: every atom)."""
    if "z" not in o:
        return None
    z = [int(v) for v in o["z"].split()]
    if "n_z" in o and int(o["n_z"]) != len(z):
        raise ValueError(f"n_Z={o['n_z']} but Z lists {len(z)} elements")
    if 0 in z or set(z) == set(species):
        return None
    if not set(z) <= set(species):
        raise ValueError(f"Z={{{o['z']}}} lists centres not in species_Z ({species})")
    return z


def quippy_compute_options(text: str, frames: Atoms | Sequence[Atoms] | None = None) -> dict:
    """Keyword arguments of ``soap.compute(frames, ...)`` for what a quippy string selects.

    - ``Z={...}`` (centres of those elements only, not every species of species_Z):
      ``centers``, the indices of those atoms in each of ``frames`` (required then; quippy's
      rows are in atom order, as slimsoap's). A frame without such an atom gives quippy no
      row and is refused by ``compute``: leave it out.
    - ``average=T``: ``{"average": "inner"}``. GAP's global SOAP sums the coefficients of the
      (selected) atoms, then contracts: n_centres² times slimsoap's inner average, so
      quippy's row of frame f is ``values[f, cols] * scale * n_centres_f**2``
      (``normalise=F``), or that row normalised (``normalise=T``, with ``values`` from the
      calculator without ``normalize``, as for per-atom rows).
    """
    o = _parse_quippy(text)
    out: dict = {}
    centres = _quippy_centre_species(o, [int(z) for z in o.get("species_z", "").split()])
    if centres is not None:
        if frames is None:
            raise ValueError(
                f"Z={{{o['z']}}} selects the centres of those elements: pass the frames, "
                "quippy_compute_options(text, frames), for their centers="
            )
        frames = [frames] if isinstance(frames, Atoms) else list(frames)
        out["centers"] = [np.flatnonzero(np.isin(a.numbers, centres)) for a in frames]
    if _bool(o.get("average", "F")):
        out["average"] = "inner"
    return out


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

    A ``weighting`` becomes featomic's density ``scaling``: ``"willatt2018"`` is featomic's
    ``Willatt2018`` (same rate, scale, exponent), and so is DScribe's ``pow`` with c = d
    (rate = c, scale = r0, exponent = m); the centre's weight (w0, or center_weight) is
    featomic's ``center_atom_weight``. featomic has no other radial scaling: the other
    weightings are refused.
    """
    if soap.compression != "nu2" or soap.normalize:
        raise ValueError(
            "featomic's SoapPowerSpectrum is the full spectrum: only compression='nu2' "
            f"without normalize translates (got {soap.compression!r}, normalize="
            f"{soap.normalize})"
        )
    density = {"type": "DiracDelta", "center_atom_weight": soap.center_weight}
    if soap.weighting is not None:
        density.update(_featomic_scaling(soap))
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
        "density": density,
        "basis": {"type": "Explicit", "by_angular": by_angular, "spline_accuracy": None},
    }


def _featomic_scaling(soap: SOAP) -> dict:
    """featomic's ``center_atom_weight`` and ``scaling`` of slimsoap's ``weighting``."""
    w = soap.weighting
    function = w.get("function")
    if function == "pow" and w["c"] == w["d"]:
        scaling = {"rate": w["c"], "scale": w["r0"], "exponent": w["m"]}
    elif function == "willatt2018":
        scaling = {"rate": w["rate"], "scale": w["scale"], "exponent": w["exponent"]}
    elif function is None:
        scaling = None
    else:
        raise ValueError(
            f"featomic's only radial scaling is Willatt2018, rate / (rate + (r/scale)^exponent) "
            f"(slimsoap's 'willatt2018', or 'pow' with c = d); weighting {w!r} has no "
            "featomic counterpart"
        )
    out = {"center_atom_weight": soap._weighting.centre_weight(soap.center_weight)}
    if scaling is not None:
        out["scaling"] = {"type": "Willatt2018", **scaling}
    return out


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


def featomic_gradient_difference(soap: SOAP, features, frames: Sequence[Atoms], tensor_map):
    """How far featomic's position gradients are from slimsoap's sparse ones.

    Args:
        soap: the calculator; ``features``: its ``compute(frames, gradients=True,
            sparse=True)``; ``tensor_map``: featomic's SoapPowerSpectrum of the same frames
            with ``gradients=["positions"]`` (hyper-parameters from ``soap.to_featomic()``).

    Returns:
        (the largest absolute difference between slimsoap's and featomic's entries after
        :func:`featomic_columns`' factors, the largest absolute featomic entry, the set of
        rows of ``features.gradients`` featomic has).
    """
    entry = {(int(r), int(a)): k for k, (r, a) in enumerate(features.gradient_pairs)}
    offsets = np.cumsum([0] + [len(a) for a in frames])
    worst, top, seen = 0.0, 0.0, set()
    for key, block in tensor_map.items():
        _, a, b = (int(v) for v in key.values)
        cols, scale = featomic_columns(soap, (a, b), block.properties.values)
        g = block.gradient("positions")
        samples = block.samples.values[g.samples.values[:, 0]]
        rows = offsets[samples[:, 0]] + samples[:, 1]
        atoms = offsets[g.samples.values[:, 1]] + g.samples.values[:, 2]
        index = np.array([entry[(int(r), int(j))] for r, j in zip(rows, atoms)])
        seen.update(index.tolist())
        ours = features.gradients[index][:, :, cols] * scale
        worst = max(worst, float(np.abs(ours - g.values).max()))
        top = max(top, float(np.abs(g.values).max()))
    return worst, top, seen
