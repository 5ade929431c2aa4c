"""Maximum-likelihood fitting shared by the customer-base models, with standard errors.

The models live beside it: :mod:`.purchase_models` (BG/NBD and Pareto/NBD),
:mod:`.spend_model` (gamma–gamma) and :mod:`.retention_model` (shifted-beta-geometric).

Fits maximise the log-likelihood over log-parameters (BFGS, then damped Newton steps;
Nelder–Mead if that does not settle). The log-parameters are kept within bounds (``±LOG_BOUND``,
``e^±20``, unless a model asks for a narrower range): beyond them the objective is its value at
the bound plus a steep wall. A fit whose likelihood keeps rising towards an edge of the
parameter space (a heterogeneity that vanishes: a gamma shape and rate growing together without
limit) therefore stops: where Newton steps cannot settle on such a ridge, the fit walks along
its flattest direction to the bound, holds the parameters that reach it there and polishes the
others; they are reported in ``FitResult.at_bound``. Standard errors come from the inverse of a
central-difference Hessian of the negative log-likelihood in log-parameters, carried to the
natural scale by the delta method (``se(theta) = theta * se(log theta)``); parameters at the
bound have none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

__all__ = [
    "LOG_BOUND",
    "FitResult",
    "fit_by_likelihood",
    "as_arrays",
    "compress",
    "check_rft",
    "distinct",
    "subsample_weights",
]

LOG_BOUND = 20.0
"""Largest absolute log-parameter a fit may reach (parameters within ``e^±20``)."""
_WALL = 1e6  # steepness of the wall beyond the bound (per unit of log-parameter squared)


@dataclass(frozen=True)
class FitResult:
    """A maximum-likelihood fit.

    Attributes
    ----------
    model
        ``"bgnbd"``, ``"pareto_nbd"``, ``"gamma_gamma"`` or ``"sbg"``.
    params
        Estimates by name, in the natural scale.
    se
        Standard errors by name (NaN when the Hessian is not positive definite).
    loglik
        Maximised log-likelihood.
    n
        Number of observations (customers) behind the fit.
    cov
        Covariance matrix of the estimates (natural scale), in the order of ``params``.
    converged
        Whether the optimiser reported success and the Hessian is positive definite.
    message
        The optimiser's message.
    at_bound
        Parameters that ran to the bound of the search (``e^±LOG_BOUND`` or the model's own):
        the likelihood still rises towards the edge of the parameter space there, so the
        estimate stands for a limit (for a gamma shape and rate together: no heterogeneity)
        and has no standard error; ``converged`` is then false.
    """

    model: str
    params: dict[str, float]
    se: dict[str, float]
    loglik: float
    n: int
    cov: np.ndarray = field(repr=False)
    converged: bool = True
    message: str = ""
    at_bound: tuple[str, ...] = ()

    @property
    def k(self) -> int:
        """Number of free parameters."""
        return len(self.params)

    @property
    def aic(self) -> float:
        """Akaike information criterion, ``2k − 2 LL``."""
        return 2.0 * self.k - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        """Bayesian information criterion, ``k ln n − 2 LL``."""
        return self.k * float(np.log(max(self.n, 1))) - 2.0 * self.loglik

    def z_scores(self, truth: dict[str, float]) -> dict[str, float]:
        """``(estimate − truth) / se`` for each parameter named in ``truth``."""
        return {k: (self.params[k] - v) / self.se[k] for k, v in truth.items()}

    def table(self) -> pd.DataFrame:
        """One row per parameter: estimate and standard error."""
        return pd.DataFrame(
            {"estimate": list(self.params.values()), "se": list(self.se.values())},
            index=pd.Index(list(self.params), name="parameter"),
        )

    def bound_note(self) -> str:
        """What it means that parameters ran to the bound of the search ('' if none did)."""
        if not self.at_bound:
            return ""
        return (
            f"{', '.join(self.at_bound)} ran to the bound of the search: the likelihood keeps "
            "rising towards a limit of the model (a heterogeneity across customers vanishing, "
            "or dropout vanishing), which the estimates stand for; they have no standard "
            "errors, and the other parameters' are conditional on them"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (parameters, standard errors, log-likelihood, AIC, BIC, and the
        parameters at the bound of the search when there are any)."""
        out = {
            "model": self.model,
            "params": {k: float(v) for k, v in self.params.items()},
            "se": {k: float(v) for k, v in self.se.items()},
            "loglik": float(self.loglik),
            "aic": float(self.aic),
            "bic": float(self.bic),
            "n": int(self.n),
            "converged": bool(self.converged),
        }
        if self.at_bound:
            out["at_bound"] = list(self.at_bound)
        return out


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    k = x.size
    h = np.zeros((k, k))
    f0 = f(x)
    e = np.eye(k) * step
    for i in range(k):
        h[i, i] = (f(x + e[i]) - 2.0 * f0 + f(x - e[i])) / step**2
        for j in range(i + 1, k):
            v = (
                f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j]) + f(x - e[i] - e[j])
            ) / (4.0 * step**2)
            h[i, j] = h[j, i] = v
    return h


def _gradient(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        g[i] = (f(x + e) - f(x - e)) / (2.0 * step)
    return g


def _newton_polish(
    f: Callable[[np.ndarray], float], x: np.ndarray, fx: float, steps: int = 8
) -> tuple[np.ndarray, float, np.ndarray, float]:
    """A few damped Newton steps with a numerical Hessian.

    Returns the point, its value, the Hessian there and the Newton decrement
    ``g' H^-1 g / 2`` (the improvement a further step would promise; NaN if ``H`` is not
    positive definite).
    """
    hess = _hessian(f, x)
    dec = float("nan")
    for _ in range(steps):
        g = _gradient(f, x)
        try:
            chol = np.linalg.cholesky((hess + hess.T) / 2.0)
        except np.linalg.LinAlgError:
            return x, fx, hess, float("nan")
        step = np.linalg.solve(chol.T, np.linalg.solve(chol, g))
        dec = float(g @ step) / 2.0
        if dec < 1e-9:
            break
        t = 1.0
        while t > 1e-4:
            cand = x - t * step
            fc = f(cand)
            if fc < fx:
                x, fx = cand, fc
                break
            t /= 2.0
        else:
            break
        hess = _hessian(f, x)
    return x, fx, hess, dec


_Point = tuple[np.ndarray, float, np.ndarray, float, np.ndarray]
"""An optimum: point, value, Hessian of the free parameters, Newton decrement, mask of the
parameters at the bound."""


@dataclass(frozen=True)
class _Box:
    """Bounds on the log-parameters."""

    lo: np.ndarray
    hi: np.ndarray

    def clip(self, v: np.ndarray) -> np.ndarray:
        return np.clip(v, self.lo, self.hi)

    def at(self, v: np.ndarray) -> np.ndarray:
        """Which parameters are at (or beyond) their bound."""
        return (v <= self.lo + 1e-6) | (v >= self.hi - 1e-6)


def _walled(negll: Callable[[np.ndarray], float], box: _Box) -> Callable[[np.ndarray], float]:
    """``negll`` with non-finite values made huge and a wall beyond the bounds: there the
    value is that at the bound plus ``_WALL`` times the squared excess."""

    def safe(v: np.ndarray) -> float:
        inside = box.clip(v)
        excess = float(np.sum((v - inside) ** 2))
        if excess > 100.0:
            return 1e300
        val = negll(inside)
        return val + _WALL * excess if np.isfinite(val) else 1e300

    return safe


def _polish_at_bound(
    safe: Callable[[np.ndarray], float], box: _Box, x: np.ndarray, fx: float
) -> _Point:
    """Newton polish of the parameters inside the bounds, those at one held there.

    Returns the point, its value, the Hessian of the free parameters, the Newton decrement and
    the mask of the parameters at the bound (all false when none is).
    """
    bound = box.at(x)
    if not bound.any():
        x, fx, hess, dec = _newton_polish(safe, x, fx)
        return x, fx, hess, dec, bound
    fixed = box.clip(x)
    free = ~bound

    def sub(u: np.ndarray) -> float:
        v = fixed.copy()
        v[free] = u
        return safe(v)

    u, fx, hess, dec = _newton_polish(sub, fixed[free], sub(fixed[free]))
    fixed[free] = u
    return fixed, fx, hess, dec, bound


def _settled(got: _Point, tol: float = 1e-6) -> bool:
    """Whether Newton steps promise less than ``tol`` more log-likelihood."""
    return bool(np.isfinite(got[3]) and got[3] < tol)


def _done(got: _Point) -> bool:
    """Whether no other start (nor Nelder–Mead) is worth trying: settled, at the bound, or on a
    ridge so flat that Newton steps promise less than 0.001 more log-likelihood."""
    return _settled(got) or bool(got[4].any()) or _settled(got, 1e-3)


def _walk_to_bound(safe: Callable[[np.ndarray], float], box: _Box, got: _Point) -> _Point | None:
    """From a point where Newton cannot settle, a move along the direction of least curvature
    of the free parameters out to the bound (or half, a quarter, an eighth of the way), the
    other parameters polished there: the first that is better, or None. This follows a ridge
    that rises to the edge of the parameter space, as when a heterogeneity vanishes."""
    x, fx, hess, _, bound = got
    free = np.flatnonzero(~bound)
    if free.size == 0 or not np.all(np.isfinite(hess)):
        return None
    vecs = np.linalg.eigh((hess + hess.T) / 2.0)[1]
    for sign in (1.0, -1.0):
        d = np.zeros_like(x)
        d[free] = sign * vecs[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            reach = np.where(d > 0, box.hi - x, np.where(d < 0, box.lo - x, np.inf)) / d
        t_max = float(np.min(np.where(d != 0, reach, np.inf)))
        for t in t_max * 0.5 ** np.arange(4):
            cand = box.clip(x + t * d)
            fc = safe(cand)
            if fc >= 1e300:
                continue
            moved = _polish_at_bound(safe, box, cand, fc)
            if moved[1] < fx:
                return moved
    return None


def _settle(safe: Callable[[np.ndarray], float], box: _Box, x: np.ndarray, fx: float) -> _Point:
    """Newton polish from ``x``; where it cannot settle, up to four walks to the bound along
    the flattest direction, each followed by a polish of the parameters left free."""
    got = _polish_at_bound(safe, box, x, fx)
    for _ in range(4):
        if _settled(got):
            break
        walked = _walk_to_bound(safe, box, got)
        if walked is None or walked[1] >= got[1]:
            break
        got = walked
    return got


def fit_by_likelihood(
    model: str,
    names: Sequence[str],
    negll: Callable[[np.ndarray], float],
    starts: Sequence[Sequence[float]],
    n: int,
    *,
    polish_first: bool = False,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> FitResult:
    """Minimise ``negll`` over log-parameters within bounds; SEs from the Hessian.

    From each start in turn: BFGS (central-difference gradient), then damped Newton steps with a
    numerical Hessian; the first start that ends at a point with a positive definite Hessian
    and a negligible Newton decrement wins. Where Newton cannot settle because the likelihood
    rises along a ridge to the edge of the parameter space, the fit walks along it to the
    bound and polishes the other parameters. If no start settles, Nelder–Mead restarts from
    the best point found (not when that point is at the bound: it would only wander along the
    edge).

    Parameters
    ----------
    model, names
        The model's name and its parameters' names.
    negll
        The negative log-likelihood of the log-parameters.
    starts
        Starting points (natural scale).
    n
        Number of observations behind the fit.
    polish_first
        Try Newton steps from each start before BFGS (for starts already near the optimum,
        such as a fit to a subsample).
    bounds
        ``{name: (low, high)}`` (natural scale) for parameters whose range is narrower than
        the default ``e^±LOG_BOUND``.

    Returns
    -------
    FitResult
        The estimates, their standard errors and the maximised log-likelihood.
    """
    limits = {k: np.log(v) for k, v in (bounds or {}).items()}
    box = _Box(
        np.array([limits.get(k, (-LOG_BOUND, LOG_BOUND))[0] for k in names]),
        np.array([limits.get(k, (-LOG_BOUND, LOG_BOUND))[1] for k in names]),
    )
    safe = _walled(negll, box)
    best: _Point | None = None
    message = ""
    for x0 in starts:
        v0 = box.clip(np.log(np.asarray(x0, dtype=float)))
        f0 = safe(v0)
        if f0 >= 1e300:
            continue
        if polish_first:
            got = _settle(safe, box, v0, f0)
            if _done(got):
                best, message = got, "Newton steps from the start"
                break
        bf = optimize.minimize(
            safe, v0, jac=lambda v: _gradient(safe, v), method="BFGS", options={"gtol": 1e-4}
        )
        got = _settle(safe, box, bf.x, float(bf.fun))
        if best is None or got[1] < best[1]:
            best, message = got, str(bf.message)
        if _done(got):
            break
    if best is None or not _done(best):
        v0 = best[0] if best is not None else np.log(np.asarray(starts[0], dtype=float))
        nm = optimize.minimize(
            safe,
            box.clip(v0),
            method="Nelder-Mead",
            options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 8000, "maxfev": 16000},
        )
        got = _settle(safe, box, nm.x, float(nm.fun))
        if best is None or got[1] <= best[1]:
            best, message = got, str(nm.message)
    return _result(model, names, best, message, n)


def _result(
    model: str,
    names: Sequence[str],
    best: _Point,
    message: str,
    n: int,
) -> FitResult:
    """The fit at the optimum ``best`` (point, value, Hessian of the free parameters, Newton
    decrement, mask of the parameters at the bound)."""
    x, fx, hess, dec, bound = best
    theta = np.exp(x)
    ok = bool(np.isfinite(fx) and fx < 1e299 and np.isfinite(dec) and dec < 1e-4)
    try:
        sym = (hess + hess.T) / 2.0
        pd_ok = bool(np.all(np.linalg.eigvalsh(sym) > 0))
        cov_free = np.linalg.inv(sym) if pd_ok else np.full_like(hess, np.nan)
    except np.linalg.LinAlgError:
        pd_ok, cov_free = False, np.full_like(hess, np.nan)
    cov_log = np.full((x.size, x.size), np.nan)
    cov_log[np.ix_(~bound, ~bound)] = cov_free
    cov = cov_log * np.outer(theta, theta)
    diag = np.diag(cov)
    se = np.sqrt(np.where(diag >= 0, diag, np.nan))
    at_bound = tuple(k for k, b in zip(names, bound, strict=True) if b)
    if at_bound:
        message = f"{', '.join(at_bound)} at the bound of the search; {message}"
    return FitResult(
        model=model,
        params={k: float(v) for k, v in zip(names, theta, strict=True)},
        se={k: float(v) for k, v in zip(names, se, strict=True)},
        loglik=-float(fx),
        n=int(n),
        cov=cov,
        converged=ok and pd_ok and not at_bound,
        message=message,
        at_bound=at_bound,
    )


def as_arrays(*arrays: Any) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float).ravel() for a in arrays]
    n = out[0].size
    if any(a.size != n for a in out):
        raise ValueError("all inputs must have the same length")
    return out


def compress(*cols: np.ndarray, weights: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of ``cols`` with their total weights (speeds up every likelihood)."""
    w = np.ones(cols[0].size) if weights is None else np.asarray(weights, dtype=float)
    stacked = np.column_stack(cols)
    uniq, inv = np.unique(stacked, axis=0, return_inverse=True)
    wt = np.bincount(inv.ravel(), weights=w, minlength=uniq.shape[0])
    return [uniq[:, j] for j in range(uniq.shape[1])], wt


def check_rft(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("frequency must be a non-negative whole number")
    if np.any(t_x < 0) or np.any(t_x > T + 1e-9):
        raise ValueError("recency must lie between 0 and T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 for customers without repeat purchases")


def distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``values`` and the index of each element among them, so that a
    term depending on one column is computed once per value (``vals[idx]`` is ``values``)."""
    vals, idx = np.unique(values, return_inverse=True)
    return vals, idx.ravel()


def subsample_weights(weights: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Counts for a random subset of ``size`` of the ``weights.sum()`` customers behind the
    rows (drawn without replacement, the same for the same ``seed``). Weights that are not
    whole numbers keep each row with probability ``size / weights.sum()`` instead, at its
    weight."""
    w = np.asarray(weights, dtype=float)
    rng = np.random.default_rng(seed)
    counts = np.rint(w)
    if not np.array_equal(counts, w) or np.any(w < 0):
        share = min(1.0, size / float(w.sum())) if w.sum() > 0 else 1.0
        return np.where(rng.random(w.size) < share, w, 0.0)
    total = int(counts.sum())
    return rng.multivariate_hypergeometric(counts.astype(np.int64), min(size, total)).astype(float)
