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

from slimsoap.features import Features
from slimsoap.soap.calculator import SOAP
from slimsoap.systems.neighbours import neighbour_list

RECOVERABLE = ("random", "random_sym", "nu1mustar1")


@dataclass
class RankReport:
    """Per environment and l: what the recovery found.

    Attributes:
        rank: (n_env, L+1) rank of P_l found (eigenvalues above the tolerance).
        max_rank: (L+1,) 2l+1.
        n_neighbours: (n_env,) neighbours within the cutoff (-1 when frames were not given).
        exact: (n_env, L+1) recovery is exact: always for random maps (probability one) and
            for l stored uncompressed; for nu1mustar1 only where the rank condition is
            verified.
        compressed: (L+1,) whether l was stored compressed (2l+1 < S·N).
        condition: (n_env, L+1) λ_max / λ_min over the kept eigenvalues of G (1 for l stored
            uncompressed): the recovered P_l carries a relative rounding error of roughly
            eps · condition, so ≲1e-8 needs condition ≲ 1e8.
        rtol: the relative eigenvalue tolerance used (λ > rtol · λ_max per environment, l).
    """

    rank: np.ndarray
    max_rank: np.ndarray
    n_neighbours: np.ndarray
    exact: np.ndarray
    compressed: np.ndarray
    condition: np.ndarray
    rtol: float

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
        return "\n".join(lines)


def nu2_calculator(soap: SOAP) -> SOAP:
    """The ``nu2`` calculator with the same hyper-parameters as ``soap``."""
    params = {k: v for k, v in soap.get_params().items() if k not in soap.options}
    return SOAP(**{**params, "compression": "nu2"})


def recover(
    features: Features | np.ndarray | sp.spmatrix,
    soap: SOAP,
    frames: Atoms | list[Atoms] | None = None,
    rtol: float | None = None,
    return_report: bool = False,
    chunk: int = 4096,
) -> np.ndarray | tuple[np.ndarray, RankReport]:
    """Rebuild the full ν=2 spectrum, exactly as ``SOAP(compression="nu2")`` packs it.

    Args:
        features: (n_env, soap.n_features) values computed by ``soap`` (a Features, a dense
            array or a sparse matrix). Must not be normalised (``normalize=False``).
        soap: the calculator that produced them (``random``, ``random_sym`` or
            ``nu1mustar1`` with ``mustar_basis="element"``); its seed defines the maps.
        frames: the structures, optional: gives the neighbour counts of the report and
            verifies nu1mustar1's rank condition where rank < 2l+1.
        rtol: relative eigenvalue tolerance (default 100 · eps of the features' dtype).
        return_report: also return a :class:`RankReport`.
        chunk: environments processed at once (bounds memory).

    Returns:
        (n_env, nu2 length) array, and the report when asked.
    """
    x = features.values if isinstance(features, Features) else features
    _check_recoverable(soap, x)
    if rtol is None:
        rtol = 1e2 * float(np.finfo(x.dtype).eps)
    n_env = x.shape[0]
    L = soap.l_max
    target = nu2_calculator(soap)
    out = np.empty((n_env, target.n_features))
    rank = np.zeros((n_env, L + 1), dtype=np.int64)
    cond = np.ones((n_env, L + 1))
    for start in range(0, n_env, chunk):
        rows = slice(start, min(start + chunk, n_env))
        xc = x[rows]
        xc = xc.toarray() if sp.issparse(xc) else np.asarray(xc, dtype=np.float64)
        out[rows], rank[rows], cond[rows] = _recover_dense(xc, soap, target, rtol)
    n_neigh = _neighbour_counts(frames, soap, n_env)
    report = _report(soap, rank, cond, n_neigh, rtol)
    return (out, report) if return_report else out


def _check_recoverable(soap, x):
    if soap.compression not in RECOVERABLE:
        raise ValueError(
            f"recovery needs a lossless compression {RECOVERABLE}, not {soap.compression!r}"
        )
    if soap.compression == "nu1mustar1" and soap.options["mustar_basis"] != "element":
        raise ValueError(
            "nu1mustar1 with a separate μ* basis is not recoverable: its total density is "
            "not a linear function of the element coefficients, so (X_l^T T) does not fix "
            "T^T T. Use mustar_basis='element' (needs n_max ≥ 2·l_max+1)."
        )
    if soap.normalize:
        raise ValueError("recovery needs unnormalised features (normalize=False)")
    if x.ndim != 2 or x.shape[1] != soap.n_features:
        raise ValueError(
            f"features have shape {x.shape}; {soap.compression!r} gives {soap.n_features} "
            "columns per environment"
        )


def _recover_dense(x, soap, target, rtol):
    """Recovered nu2 rows and ranks for a dense chunk x (n, n_features)."""
    n, L = x.shape[0], soap.l_max
    out = np.empty((n, target.n_features))
    ranks = np.zeros((n, L + 1), dtype=np.int64)
    cond = np.ones((n, L + 1))
    src, dst = soap._contraction, target._contraction
    for l, block in enumerate(soap.channels.blocks):
        stored = x[:, src.starts[l] : src.starts[l + 1]] / block.scale
        k1, k2 = block.widths()
        full = np.zeros((n, k1, k2))
        full[:, block.rows, block.cols] = stored
        if block.symmetric and block.w1 is None:  # plain ν=2 block, copied through
            p = full + np.triu(full, 1).transpose(0, 2, 1)
            ranks[:, l] = np.linalg.matrix_rank(p, rtol=rtol, hermitian=True)
        elif soap.compression == "random_sym":
            p, ranks[:, l], cond[:, l] = _from_random_sym(full, block.w2, rtol)
        else:
            p, ranks[:, l], cond[:, l] = _from_projected(full, block.w2, rtol)
        tb = target.channels.blocks[l]
        out[:, dst.starts[l] : dst.starts[l + 1]] = p[:, tb.rows, tb.cols] * tb.scale
    return out, ranks, cond


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
    # V^T = Q^{-T} R^T for all environments at once: one solve with many right-hand sides
    n, C = r.shape[0], r.shape[2]
    rt = r.transpose(2, 0, 1).reshape(C, n * k)
    vt = np.linalg.solve(q.T, rt).reshape(C, n, k).transpose(1, 0, 2)  # (n, C, k)
    coeff = np.matmul(vt, f)
    return np.matmul(coeff, coeff.transpose(0, 2, 1)), rank, cond


def _neighbour_counts(frames, soap, n_env):
    if frames is None:
        return np.full(n_env, -1, dtype=np.int64)
    frames = [frames] if isinstance(frames, Atoms) else list(frames)
    counts = [np.diff(neighbour_list(a, soap.r_cut, f).offsets) for f, a in enumerate(frames)]
    counts = np.concatenate(counts)
    if len(counts) != n_env:
        raise ValueError(f"frames hold {len(counts)} atoms but features have {n_env} rows")
    return counts


def _report(soap, rank, cond, n_neigh, rtol):
    L = soap.l_max
    max_rank = 2 * np.arange(L + 1) + 1
    compressed = np.array([not (b.symmetric and b.w1 is None) for b in soap.channels.blocks])
    exact = np.ones_like(rank, dtype=bool)
    if soap.compression == "nu1mustar1":
        # atoms contributing to X_l: neighbours, plus the centre at l = 0
        contrib = (
            n_neigh[:, None]
            + np.where((np.arange(L + 1) == 0) & (soap.center_weight != 0), 1, 0)[None, :]
        )
        bound = np.minimum(max_rank[None, :], np.where(n_neigh[:, None] >= 0, contrib, 10**9))
        exact = (rank == max_rank[None, :]) | (rank == bound) | ~compressed[None, :]
    return RankReport(rank, max_rank, n_neigh, exact, compressed, cond, float(rtol))
