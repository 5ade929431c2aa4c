"""Fitting what a message does from a randomised campaign (``retention-sim calibrate-response``).

For a 0/1 outcome in the window (a conversion, a visit), customer *i* with baseline features
``x_i``, effect modifiers ``z_i`` and arm *t* (the control has no effect term):

- **multiplicative** (on the odds): ``logit p_i = a + x_i·γ + b_t + z_i·η_t``;
- **additive** (on the probability): ``p_i = σ(a + x_i·γ) + b_t + z_i·η_t``.

Both have the same parameters, fitted by maximum likelihood (Fisher scoring, which for the
multiplicative form is the usual logistic regression); the form with the higher likelihood is
kept, and both maxima are reported. A converting customer's spend is gamma with
``log mean = c + x_i·κ + τ_t`` (a multiplicative arm effect on the basket), fitted by the same
scoring on the converters, its shape by the moment estimate. Standard errors come from the
inverse information at the estimate. See ``docs/model.md``, "Contact effects from a randomised
campaign", for what one campaign can identify and what stays an assumption.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import special

from ..config.response import ResponseModel
from ..errors import InputError
from ..outputs import atomic_write_text
from .experiment import Experiment, Feature, read_experiment

__all__ = [
    "FittedResponse",
    "Prediction",
    "fit_response",
    "predict",
    "design_columns",
    "model_features",
]

_EPS = 1e-12
Jacobian = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


# ----------------------------------------------------------------------------- designs
def model_features(model: ResponseModel, names: Sequence[str]) -> list[Feature]:
    """The encodings of ``names`` as the model describes them."""
    out = []
    for n in names:
        f = model.features[n]
        out.append(Feature(n, f.kind, f.mean, f.sd, tuple(f.levels)))
    return out


def design_columns(frame: pd.DataFrame, features: Sequence[Feature]) -> np.ndarray:
    """The encoded columns of ``features`` for the rows of ``frame`` (rows × columns)."""
    blocks = [f.encode(frame[f.name]) for f in features]
    return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))


# ----------------------------------------------------------------------------- scoring
def _loglik(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sum(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def _fisher_binary(
    y: np.ndarray, theta: np.ndarray, prob_jac: Jacobian, *, max_iter: int = 200
) -> tuple[np.ndarray, np.ndarray, float]:
    """Maximise a Bernoulli likelihood by Fisher scoring with step halving.

    ``prob_jac(theta)`` returns the probabilities and their Jacobian (rows × parameters);
    probabilities outside (0, 1) make a step invalid. Returns the estimate, its covariance
    (the inverse expected information) and the maximised log-likelihood.
    """
    p, jac = prob_jac(theta)
    ll = _loglik(y, p)
    for _ in range(max_iter):
        w = 1.0 / (p * (1.0 - p))
        score = jac.T @ ((y - p) * w)
        info = jac.T @ (jac * w[:, None])
        step = np.linalg.solve(info, score)
        for _half in range(40):
            cand = theta + step
            pc, jc = prob_jac(cand)
            if np.all((pc > _EPS) & (pc < 1.0 - _EPS)):
                llc = _loglik(y, pc)
                if llc >= ll - 1e-9:
                    break
            step = step / 2.0
        else:
            break
        converged = np.max(np.abs(step)) < 1e-10 or llc - ll < 1e-11
        theta, p, jac, ll = cand, pc, jc, llc
        if converged:
            break
    w = 1.0 / (p * (1.0 - p))
    info = jac.T @ (jac * w[:, None])
    return theta, np.linalg.inv(info), ll


def _multiplicative(base: np.ndarray, eff: np.ndarray) -> Jacobian:
    d = np.hstack([base, eff])

    def f(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = special.expit(d @ theta)
        return p, d * (p * (1.0 - p))[:, None]

    return f


def _additive(base: np.ndarray, eff: np.ndarray) -> Jacobian:
    k = base.shape[1]

    def f(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = special.expit(base @ theta[:k])
        p = q + eff @ theta[k:]
        return p, np.hstack([base * (q * (1.0 - q))[:, None], eff])

    return f


def _effect_design(arms: np.ndarray, treatments: Sequence[str], z: np.ndarray) -> np.ndarray:
    """Per treatment: its indicator, then the indicator times each effect modifier."""
    blocks = []
    for t in treatments:
        ind = (arms == t).astype(float)[:, None]
        blocks += [ind, ind * z]
    return np.hstack(blocks)


def _check_identified(design: np.ndarray, names: Sequence[str], source: str) -> None:
    """Refuse a design whose columns are not linearly independent, naming the first column
    that the ones before it already explain."""
    if np.linalg.matrix_rank(design) == design.shape[1]:
        return
    for k in range(1, design.shape[1] + 1):
        if np.linalg.matrix_rank(design[:, :k]) < k:
            raise InputError(
                f"the model cannot be fitted: {names[k - 1]!r} is a linear combination of "
                f"{', '.join(map(repr, names[: k - 1]))} on these rows (a constant or duplicated "
                "feature?); drop it from --feature-cols/--effect-cols",
                source=source,
            )


@dataclass
class _BinaryFit:
    form: str
    theta: np.ndarray
    cov: np.ndarray
    loglik: dict[str, float]


def _fit_binary(y: np.ndarray, base: np.ndarray, eff: np.ndarray, form: str) -> _BinaryFit:
    """Both forms; the one with the higher likelihood is kept (or the one asked for)."""
    rate = min(max(float(y.mean()), 1e-6), 1.0 - 1e-6)
    start = np.zeros(base.shape[1] + eff.shape[1])
    start[0] = np.log(rate / (1.0 - rate))
    m_theta, m_cov, m_ll = _fisher_binary(y, start, _multiplicative(base, eff))
    # the additive form starts from the control's part of the multiplicative fit (no effect)
    a_start = np.concatenate([m_theta[: base.shape[1]], np.zeros(eff.shape[1])])
    a_theta, a_cov, a_ll = _fisher_binary(y, a_start, _additive(base, eff))
    lls = {"multiplicative": m_ll, "additive": a_ll}
    if form == "additive" or (form == "auto" and a_ll > m_ll):
        return _BinaryFit("additive", a_theta, a_cov, lls)
    return _BinaryFit("multiplicative", m_theta, m_cov, lls)


def _fit_spend(s: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Gamma with a log link by scoring; the shape by the moment estimate."""
    beta = np.zeros(d.shape[1])
    beta[0] = np.log(s.mean())
    xtx_inv = np.linalg.inv(d.T @ d)
    for _ in range(200):
        mu = np.exp(d @ beta)
        step = xtx_inv @ (d.T @ ((s - mu) / mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-11:
            break
    mu = np.exp(d @ beta)
    dispersion = float(np.sum(((s - mu) / mu) ** 2) / max(s.size - d.shape[1], 1))
    return beta, xtx_inv * dispersion, 1.0 / dispersion


# ----------------------------------------------------------------------------- the fit
def _estimates(names: Sequence[str], theta: np.ndarray, cov: np.ndarray) -> dict[str, Any]:
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return {
        n: {"estimate": float(v), "se": float(e)} for n, v, e in zip(names, theta, se, strict=True)
    }


def _binary_record(
    fit: _BinaryFit, base_names: list[str], eff_names: list[str], ex: Experiment
) -> dict[str, Any]:
    k = 1 + len(base_names)
    est = _estimates(["intercept", *base_names], fit.theta[:k], fit.cov[:k, :k])
    rest = _estimates(
        [f"{t}|{n}" for t in ex.treatments for n in ["intercept", *eff_names]],
        fit.theta[k:],
        fit.cov[k:, k:],
    )
    effects = {}
    for t in ex.treatments:
        effects[t] = {
            "channel": ex.channel,
            "intercept": rest[f"{t}|intercept"],
            "modifiers": {n: rest[f"{t}|{n}"] for n in eff_names},
        }
    return {
        "form": fit.form,
        "log_likelihood": fit.loglik,
        "baseline": {
            "intercept": est["intercept"],
            "coefficients": {n: est[n] for n in base_names},
        },
        "effects": effects,
    }


def _sha256(paths: Sequence[str]) -> str:
    """SHA-256 of the files' bytes, one after the other."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


@dataclass
class FittedResponse:
    """What :func:`fit_response` found.

    Attributes
    ----------
    model
        The validated response model (what the YAML file holds).
    covariances
        Per outcome (``conversion``, ``visit``, ``spend``): the estimates' covariance, in the
        order of the model's parameters.
    experiment
        The rows it was fitted on.
    """

    model: ResponseModel
    covariances: dict[str, np.ndarray] = field(default_factory=dict)
    experiment: Experiment | None = None

    def to_yaml(self) -> str:
        """The ``response`` section as YAML, with a header saying where it came from."""
        src = self.model.source
        head = (
            f"# Fitted by `retention-sim calibrate-response` from "
            f"{' + '.join(Path(f).name for f in src.file.split(' + '))} "
            f"({src.fitted_on}); sha256 {src.sha256[:16]}.\n"
            "# Every estimate is fitted from that file; see docs/model.md, 'Contact effects "
            "from a randomised campaign'.\n"
        )
        body = yaml.safe_dump(
            {"response": self.model.model_dump(mode="json")}, sort_keys=False, width=100
        )
        return head + body

    def write(self, path: str | Path) -> Path:
        """Write :meth:`to_yaml` atomically."""
        return atomic_write_text(path, self.to_yaml())

    def report(self) -> dict[str, Any]:
        """JSON-ready: the model, and per arm the observed and fitted means on the fit rows."""
        out: dict[str, Any] = {"model": self.model.model_dump(mode="json"), "arms": {}}
        ex = self.experiment
        if ex is None:
            return out
        for arm in ex.arms:
            rows = ex.frame[ex.frame[ex.arm_col] == arm]
            pred = predict(self.model, rows, arm)
            entry = {
                "customers": len(rows),
                "conversion_observed": float(rows[ex.conversion_col].mean()),
                "conversion_fitted": float(pred.conversion.mean()),
            }
            if ex.spend_col is not None and pred.spend is not None:
                entry["spend_observed"] = float(rows[ex.spend_col].mean())
                entry["spend_fitted"] = float(pred.spend.mean())
            if ex.visit_col is not None and pred.visit is not None:
                entry["visit_observed"] = float(rows[ex.visit_col].mean())
                entry["visit_fitted"] = float(pred.visit.mean())
            out["arms"][arm] = entry
        return out


def fit_response(
    experiment: Experiment | str | Path,
    *,
    rows: np.ndarray | None = None,
    fitted_on: str | None = None,
    form: str = "auto",
    **read: Any,
) -> FittedResponse:
    """Fit the response model to a randomised campaign.

    Parameters
    ----------
    experiment
        An :class:`~retention_sim.calibration.experiment.Experiment`, or a file read with
        :func:`~retention_sim.calibration.experiment.read_experiment` and the keyword
        arguments ``read`` (``arm_col``, ``control``, ``window_days``, ``conversion_col``, …).
    rows
        Fit on these rows only (positions in the file), e.g. one half for an out-of-sample
        check.
    fitted_on
        How to describe ``rows`` in the provenance (default: "all rows" or "N of M rows").
    form
        ``"auto"`` keeps the form with the higher likelihood; ``"multiplicative"`` or
        ``"additive"`` forces one (both likelihoods are reported either way).

    Returns
    -------
    FittedResponse
        The model with its standard errors and provenance.

    Raises
    ------
    InputError
        For a bad file (see :func:`~retention_sim.calibration.experiment.read_experiment`)
        or an arm without a single conversion.
    """
    if form not in ("auto", "multiplicative", "additive"):
        raise InputError(f"form must be auto, multiplicative or additive, got {form!r}")
    ex = experiment if isinstance(experiment, Experiment) else read_experiment(experiment, **read)
    total = len(ex.frame)
    if rows is not None:
        ex = ex.subset(rows)
    frame = ex.frame
    arms = frame[ex.arm_col].to_numpy()
    for arm, n in ex.arm_counts().items():
        conv = frame.loc[arms == arm, ex.conversion_col].sum()
        if n == 0 or conv == 0:
            raise InputError(
                f"arm {arm!r} has {n} customers and {int(conv)} conversions: every arm needs "
                "some conversions to fit its effect",
                source=ex.source,
                field=ex.conversion_col,
            )
    base_f = ex.features(ex.feature_cols)
    eff_f = ex.features(ex.effect_cols)
    features = {f.name: f for f in [*base_f, *eff_f]}
    x = design_columns(frame, base_f)
    z = design_columns(frame, eff_f)
    base = np.hstack([np.ones((len(frame), 1)), x])
    eff = _effect_design(arms, ex.treatments, z)
    base_names = [c for f in base_f for c in f.columns]
    eff_names = [c for f in eff_f for c in f.columns]
    labels = [n for t in ex.treatments for n in (t, *(f"{t}×{e}" for e in eff_names))]
    _check_identified(np.hstack([base, eff]), ["intercept", *base_names, *labels], ex.source)
    record: dict[str, Any] = {}
    covs: dict[str, np.ndarray] = {}
    conv_fit = _fit_binary(frame[ex.conversion_col].to_numpy(float), base, eff, form)
    record["conversion"] = _binary_record(conv_fit, base_names, eff_names, ex)
    covs["conversion"] = conv_fit.cov
    if ex.visit_col is not None:
        visit_fit = _fit_binary(frame[ex.visit_col].to_numpy(float), base, eff, form)
        record["visit"] = _binary_record(visit_fit, base_names, eff_names, ex)
        covs["visit"] = visit_fit.cov
    if ex.spend_col is not None:
        buyers = frame[ex.conversion_col].to_numpy() == 1
        t_ind = np.stack([(arms == t).astype(float) for t in ex.treatments], axis=1)
        d = np.hstack([base, t_ind])[buyers]
        beta, cov, shape = _fit_spend(frame.loc[buyers, ex.spend_col].to_numpy(float), d)
        est = _estimates(["intercept", *base_names, *ex.treatments], beta, cov)  # same length
        record["spend"] = {
            "shape": shape,
            "baseline": {
                "intercept": est["intercept"],
                "coefficients": {n: est[n] for n in base_names},
            },
            "effects": {t: est[t] for t in ex.treatments},
        }
        covs["spend"] = cov
    counts = ex.arm_counts()
    described = fitted_on or (
        "all rows" if len(frame) == total else f"{len(frame)} of {total} rows"
    )
    model = ResponseModel.model_validate(
        {
            "window_days": ex.window_days,
            "source": {
                "file": " + ".join(ex.files or [ex.source]),
                "sha256": _sha256(ex.files or [ex.source]),
                "arm_column": ex.arm_col,
                "control": ex.control,
                "treatments": ex.treatments,
                "rows": counts,
                "fitted_on": described,
            },
            "features": {
                n: {"kind": f.kind, "mean": f.mean, "sd": f.sd, "levels": list(f.levels)}
                for n, f in features.items()
            },
            "baseline_features": ex.feature_cols,
            "effect_features": ex.effect_cols,
            **record,
        }
    )
    return FittedResponse(model=model, covariances=covs, experiment=ex)


# ----------------------------------------------------------------------------- predictions
@dataclass
class Prediction:
    """Per customer: the probability of converting, of visiting, and the expected spend."""

    conversion: np.ndarray
    visit: np.ndarray | None
    spend: np.ndarray | None


def _binary_p(
    resp: Any, frame: pd.DataFrame, arm: str, model: ResponseModel, control: str
) -> np.ndarray:
    base_f = model_features(model, model.baseline_features)
    eff_f = model_features(model, model.effect_features)
    x = design_columns(frame, base_f)
    names = [c for f in base_f for c in f.columns]
    lin = resp.baseline.intercept.estimate + x @ np.array(
        [resp.baseline.coefficients[n].estimate for n in names]
    ).reshape(-1)
    effect = np.zeros(len(frame))
    if arm != control:
        e = resp.effects[arm]
        z = design_columns(frame, eff_f)
        znames = [c for f in eff_f for c in f.columns]
        effect = e.intercept.estimate + z @ np.array(
            [e.modifiers[n].estimate for n in znames]
        ).reshape(-1)
    if resp.form == "multiplicative":
        return special.expit(lin + effect)
    return np.clip(special.expit(lin) + effect, 0.0, 1.0)


def predict(model: ResponseModel, frame: pd.DataFrame, arm: str) -> Prediction:
    """Each row's probability of converting (and visiting) and expected spend under ``arm``.

    Parameters
    ----------
    model
        A fitted response model.
    frame
        Rows with the model's feature columns.
    arm
        The control or one of the model's treatments.
    """
    control = model.source.control
    if arm != control and arm not in model.conversion.effects:
        known = [control, *model.conversion.effects]
        raise InputError(f"arm {arm!r} is not in the response model; it has {known}")
    conv = _binary_p(model.conversion, frame, arm, model, control)
    visit = _binary_p(model.visit, frame, arm, model, control) if model.visit else None
    spend = None
    if model.spend is not None:
        s = model.spend
        base_f = model_features(model, model.baseline_features)
        x = design_columns(frame, base_f)
        names = [c for f in base_f for c in f.columns]
        log_mu = s.baseline.intercept.estimate + x @ np.array(
            [s.baseline.coefficients[n].estimate for n in names]
        ).reshape(-1)
        if arm != control:
            log_mu = log_mu + s.effects[arm].estimate
        spend = conv * np.exp(log_mu)
    return Prediction(conversion=conv, visit=visit, spend=spend)
