"""Recovery of the full ν=2 power spectrum from its lossless compressions (paper §II.2-II.3).

For each l the full spectrum is the Gram matrix P_l = X_l^T X_l (S·N × S·N) of the
(2l+1) × S·N coefficient matrix X_l, so rank(P_l) ≤ min(2l+1, atoms in the environment).

- ``random`` stores B = P_l W (W: S·N × (2l+1) random). With G = W^T B = (X W)^T (X W)
  and G = U Λ U^T keeping the r eigenvalues above the tolerance, F = B U_r Λ_r^{-1/2} is a
  coefficient matrix consistent with P_l, and P_l = F F^T exactly whenever
  rank(X W) = rank(X) (probability one for random W).
- ``random_sym`` stores the first k = 2l+1 rows R of M = Q^T P_l Q. With G = R[:, :k],
  M = R^T G^+ R, and P_l = Q^{-T} M Q^{-1}, obtained by a linear solve against Q^T
  (no explicit inverse).
- ``nu1mustar1`` with ``mustar_basis="element"`` stores B = X_l^T T with T = X_l W* (the
  total density in the first 2l+1 radial functions): the ``random`` procedure with W*.
  It is exact when rank(T) = rank(X_l); that is verified when rank(T) = 2l+1, or when it
  equals the number of atoms contributing to the environment (needs ``frames``).
  Otherwise the report marks the l as not verified (e.g. the paper's mirror pair, Fig. 2).

Every l that a compression stores as a plain ν=2 block (2l+1 ≥ S·N) is copied through.

Consistency (DESIGN §9, no silent wrong number): for the projected forms (``random``,
``nu1mustar1``) G = W^T B = (X W)^T (X W) is symmetric whatever the environment, to
rounding; features made with another seed, or by another compression of the same width,
give an asymmetric G. The residual ‖G − G^T‖_F / (‖W‖_F ‖B‖_F) per environment and l is
in the report, and :func:`recover` refuses features whose residual exceeds
``CONSISTENCY_TOL`` (√eps of their dtype). ``random_sym`` stores rows of Q^T P Q, which
are consistent with any Q: a wrong seed cannot be detected there (the residual is NaN).

Tolerance (scale-aware): an eigenvalue λ of G counts when λ > rtol · λ_max(G) for that
environment and l, with rtol = 100 · machine epsilon of the features' dtype by default
(2.2e-14 for float64). G = (X W)^T (X W) squares the condition number of X W, which with
few species present can be ~1e6 while X has full rank, so real eigenvalues reach ~1e-12 of
the largest; rounding puts the zero ones at ~k·eps. Keeping a spurious eigenvalue λ costs
only ~eps²|B|²/λ in P, while dropping a real one loses a whole rank-one part of P.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from ase import Atoms

from slimsoap._arrays import dense
from slimsoap._validation import check_finite, check_int, check_positive
from slimsoap.features import Features
from slimsoap.soap import compressions
from slimsoap.soap.calculator import SOAP
from slimsoap.systems.neighbours import neighbour_list


@dataclass
class RankReport:
    """Per environment and l: what the recovery found.

    Attributes:
        rank: (n_env, L+1) rank of P_l found (eigenvalues above the tolerance).
        max_rank: (L+1,) 2l+1.
        n_neighbours: (n_env,) neighbours within the cutoff (-1 when frames were not given).
        exact: (n_env, L+1) recovery is exact: always for random maps (probability one) and
            for l stored uncompressed; for nu1mustar1 only where the rank condition is
            verified; never for an environment that is not ``consistent``.
        compressed: (L+1,) whether l was stored compressed (2l+1 < S·N).
        condition: (n_env, L+1) λ_max / λ_min over the kept eigenvalues of G (1 for l stored
            uncompressed): the recovered P_l carries a relative rounding error of roughly
            eps · condition, so ≲1e-8 needs condition ≲ 1e8.
        rtol: the relative eigenvalue tolerance used (λ > rtol · λ_max per environment, l).
        residual: (n_env, L+1) consistency residual ‖W^T B − B^T W‖_F / (‖W‖_F ‖B‖_F) of
            the stored blocks (0 for l stored uncompressed or 1 × 1; NaN where the
            compression cannot be checked, ``random_sym``): rounding gives ~1e-16 for
            float64, features of another seed or compression ~0.1-1.
        consistent: (n_env,) every residual of the environment is at most
            ``tolerance`` (NaN counts as consistent: not checkable).
        tolerance: the residual above which an environment is inconsistent.
    """

    rank: np.ndarray
    max_rank: np.ndarray
    n_neighbours: np.ndarray
    exact: np.ndarray
    compressed: np.ndarray
    condition: np.ndarray
    rtol: float
    residual: np.ndarray
    consistent: np.ndarray
    tolerance: float

    def summary(self) -> str:
        """Human-readable table: per l, rank range, 2l+1 and environments not verified."""
        lines = [
            f"recovery tolerance: eigenvalue > {self.rtol:.2e} x largest (per environment, l)",
            f"{'l':>3}{'2l+1':>6}{'rank min':>10}{'rank max':>10}{'not exact':>11}{'max cond':>11}",
        ]
        for l in range(len(self.max_rank)):
            r = self.rank[:, l]
            lines.append(
                f"{l:>3}{self.max_rank[l]:>6}{r.min():>10}{r.max():>10}"
                f"{int((~self.exact[:, l]).sum()):>11}{self.condition[:, l].max():>11.1e}"
            )
        if np.all(np.isnan(self.residual[:, self.compressed])):
            lines.append("consistency with the maps: not checkable for this compression")
        else:
            worst = float(np.nanmax(self.residual, initial=0.0))
            bad = int((~self.consistent).sum())
            lines.append(
                f"consistency with the maps: largest residual {worst:.1e} (limit "
                f"{self.tolerance:.1e}); {bad} environments inconsistent"
            )
        return "\n".join(lines)


def nu2_calculator(soap: SOAP) -> SOAP:
    """The ``nu2`` calculator with the same hyper-parameters as ``soap``."""
    params = {k: v for k, v in soap.get_params().items() if k not in soap.options}
    return SOAP(**{**params, "compression": "nu2"})


#: Consistency residual above which features do not fit the calculator's maps, as a
#: power of the machine epsilon of the features' dtype (√eps: 1.5e-8 for float64).
CONSISTENCY_EXPONENT = 0.5


def recover(
    features: Features | np.ndarray | sp.spmatrix,
    soap: SOAP,
    frames: Atoms | list[Atoms] | None = None,
    rtol: float | None = None,
    return_report: bool = False,
    chunk: int = 4096,
    check: bool = True,
) -> np.ndarray | tuple[np.ndarray, RankReport]:
    """Rebuild the full ν=2 spectrum, exactly as ``SOAP(compression="nu2")`` packs it.

    Args:
        features: (n_env, soap.n_features) values computed by ``soap`` (a Features, a dense
            array or a sparse matrix), finite. Must not be normalised (``normalize=False``).
        soap: the calculator that produced them, of a compression whose capabilities
            say ``recoverable`` (``random``, ``random_sym``, ``nu1mustar1`` with
            ``mustar_basis="element"``, ...); its seed defines the maps.
        frames: the structures, optional: gives the neighbour counts of the report and
            verifies nu1mustar1's rank condition where rank < 2l+1.
        rtol: relative eigenvalue tolerance, in (0, 1) (default 100 · eps of the features'
            dtype).
        return_report: also return a :class:`RankReport`.
        chunk: environments processed at once (bounds memory), >= 1.
        check: refuse features that do not fit ``soap``'s maps (see the module docstring);
            with False they are only marked in the report (``consistent``).

    Returns:
        (n_env, nu2 length) array, and the report when asked.

    Raises:
        ValueError: features of the wrong width, with NaN or inf, normalised, or (with
            ``check``) inconsistent with the maps — another seed or another compression;
            a bad ``rtol`` or ``chunk``.
    """
    x = features.values if isinstance(features, Features) else features
    _check_recoverable(soap, x)
    check_finite("features", x.data if sp.issparse(x) else np.asarray(x))
    chunk = check_int("chunk", chunk, 1)
    eps = float(np.finfo(x.dtype).eps) if np.issubdtype(x.dtype, np.floating) else 2.0**-52
    if rtol is None:
        rtol = 1e2 * eps
    rtol = check_positive("rtol", rtol)
    if rtol >= 1:
        raise ValueError(f"rtol must be < 1 (a fraction of the largest eigenvalue), got {rtol}")
    n_env = x.shape[0]
    L = soap.l_max
    target = nu2_calculator(soap)
    out = np.empty((n_env, target.n_features))
    rank = np.zeros((n_env, L + 1), dtype=np.int64)
    cond = np.ones((n_env, L + 1))
    residual = np.zeros((n_env, L + 1))
    for start in range(0, n_env, chunk):
        rows = slice(start, min(start + chunk, n_env))
        xc = dense(x[rows], np.float64)
        out[rows], rank[rows], cond[rows], residual[rows] = _recover_dense(xc, soap, target, rtol)
    n_neigh = _neighbour_counts(frames, soap, n_env)
    report = _report(soap, rank, cond, n_neigh, rtol, residual, eps**CONSISTENCY_EXPONENT)
    if check and not report.consistent.all():
        bad = np.flatnonzero(~report.consistent)
        raise ValueError(
            f"{len(bad)} of {n_env} environments (first: {bad[0]}) do not fit the maps of "
            f"{soap.compression!r} (seed {getattr(soap, 'seed', None)}): consistency "
            f"residual up to {np.nanmax(residual):.1e}, limit {report.tolerance:.1e}. The "
            "features come from another seed or another compression; recover them with the "
            "calculator that made them"
        )
    return (out, report) if return_report else out


def _check_recoverable(soap, x):
    caps = soap.capabilities
    if not caps.recoverable:
        raise ValueError(
            caps.reasons.get("recoverable")
            or f"recovery needs a lossless compression {compressions.names(recoverable=True)}, "
            f"not {soap.compression!r}"
        )
    if soap.normalize:
        raise ValueError("recovery needs unnormalised features (normalize=False)")
    if x.ndim != 2 or x.shape[1] != soap.n_features:
        raise ValueError(
            f"features have shape {x.shape}; {soap.compression!r} gives {soap.n_features} "
            "columns per environment"
        )
    if x.shape[0] == 0:
        raise ValueError("features hold no environments (0 rows): nothing to recover")


def _recover_dense(x, soap, target, rtol):
    """Recovered nu2 rows, ranks, condition numbers and consistency residuals for a dense
    chunk x (n, n_features)."""
    n, L = x.shape[0], soap.l_max
    out = np.empty((n, target.n_features))
    ranks = np.zeros((n, L + 1), dtype=np.int64)
    cond = np.ones((n, L + 1))
    residual = np.zeros((n, L + 1))
    src, dst = soap._contraction, target._contraction
    for l, block in enumerate(soap.channels.blocks):
        stored = x[:, src.starts[l] : src.starts[l + 1]] / block.scale
        k1, k2 = block.widths()
        full = np.zeros((n, k1, k2))
        full[:, block.rows, block.cols] = stored
        if block.symmetric and block.w1 is None:  # plain ν=2 block, copied through
            p = full + np.triu(full, 1).transpose(0, 2, 1)
            ranks[:, l] = np.linalg.matrix_rank(p, rtol=rtol, hermitian=True)
        else:
            stored_as = soap.spec.recovery.stored
            p, ranks[:, l], cond[:, l] = _SOLVERS[stored_as](full, block.w2, rtol)
            residual[:, l] = _residual(full, block.w2) if stored_as == "projected" else np.nan
        tb = target.channels.blocks[l]
        out[:, dst.starts[l] : dst.starts[l + 1]] = p[:, tb.rows, tb.cols] * tb.scale
    return out, ranks, cond, residual


def _residual(b, w):
    """‖W^T B − (W^T B)^T‖_F / (‖W‖_F ‖B‖_F) per environment of B (n, C, k): zero to
    rounding when B = P W for a symmetric P (0 where B = 0)."""
    g = np.matmul(w.T, b)
    scale = np.linalg.norm(w) * np.linalg.norm(b, axis=(1, 2))
    asym = np.linalg.norm(g - g.transpose(0, 2, 1), axis=(1, 2))
    return np.where(scale > 0, asym / np.where(scale > 0, scale, 1.0), 0.0)


def _pinv_factor(g, rtol):
    """For symmetric PSD g (n, k, k): U_r Λ_r^{-1/2} (n, k, k, zero past rank), ranks and
    condition numbers λ_max / λ_min over the kept eigenvalues."""
    g = 0.5 * (g + g.transpose(0, 2, 1))
    lam, u = np.linalg.eigh(g)
    top = lam[:, -1:]
    keep = lam > rtol * np.where(top > 0, top, np.inf)
    inv_sqrt = np.where(keep, 1.0 / np.sqrt(np.where(keep, lam, 1.0)), 0.0)
    smallest = np.where(keep, lam, np.inf).min(axis=1)
    cond = np.where(np.isfinite(smallest), top[:, 0] / smallest, 1.0)
    return u * inv_sqrt[:, None, :], keep.sum(axis=1), cond


def _from_projected(b, w, rtol):
    """P = B G^+ B^T with B = P W (n, C, k) and G = W^T B."""
    g = np.matmul(w.T, b)
    f, rank, cond = _pinv_factor(g, rtol)
    coeff = np.matmul(b, f)  # (n, C, k): a coefficient matrix X^T consistent with P
    return np.matmul(coeff, coeff.transpose(0, 2, 1)), rank, cond


def _from_random_sym(upper, q, rtol):
    """P from the first k rows (upper triangle) of M = Q^T P Q; solves against Q^T."""
    k = upper.shape[1]
    r = upper.copy()  # (n, k, C): complete the lower part of the leading k × k block
    lead = r[:, :, :k]
    r[:, :, :k] = lead + np.triu(lead, 1).transpose(0, 2, 1)
    f, rank, cond = _pinv_factor(r[:, :, :k], rtol)
    # V = R Q^{-1} (n, k, C), one (k, C) @ (C, C) product per environment: each is rounded
    # the same whatever the chunk (a solve with all environments as right-hand sides is not:
    # LAPACK's blocking, and so its rounding, depends on their number)
    v = np.matmul(r, np.linalg.inv(q))
    coeff = np.matmul(v.transpose(0, 2, 1), f)
    return np.matmul(coeff, coeff.transpose(0, 2, 1)), rank, cond


#: Rebuilds P_l from a stored block, by :attr:`Recovery.stored` of the compression's spec.
_SOLVERS = {"projected": _from_projected, "symmetric_rows": _from_random_sym}


def _neighbour_counts(frames, soap, n_env):
    if frames is None:
        return np.full(n_env, -1, dtype=np.int64)
    frames = [frames] if isinstance(frames, Atoms) else list(frames)
    counts = [np.diff(neighbour_list(a, soap.r_cut, f).offsets) for f, a in enumerate(frames)]
    counts = np.concatenate(counts)
    if len(counts) != n_env:
        raise ValueError(f"frames hold {len(counts)} atoms but features have {n_env} rows")
    return counts


def _report(soap, rank, cond, n_neigh, rtol, residual, tolerance):
    L = soap.l_max
    max_rank = 2 * np.arange(L + 1) + 1
    compressed = np.array([not (b.symmetric and b.w1 is None) for b in soap.channels.blocks])
    exact = np.ones_like(rank, dtype=bool)
    if not soap.spec.recovery.random_map:  # exact only where rank(X W) = rank(X) is verified
        # atoms contributing to X_l: neighbours, plus the centre at l = 0
        contrib = (
            n_neigh[:, None]
            + np.where((np.arange(L + 1) == 0) & (soap.center_weight != 0), 1, 0)[None, :]
        )
        bound = np.minimum(max_rank[None, :], np.where(n_neigh[:, None] >= 0, contrib, 10**9))
        exact = (rank == max_rank[None, :]) | (rank == bound) | ~compressed[None, :]
    consistent = ~np.any(residual > tolerance, axis=1)  # NaN (not checkable) passes
    exact &= consistent[:, None]
    return RankReport(
        rank, max_rank, n_neigh, exact, compressed, cond, float(rtol), residual, consistent,
        float(tolerance),
    )  # fmt: skip
