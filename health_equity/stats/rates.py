"""Emergency-admission rate ratios: three models, each named by the question it answers, each
fitted as Poisson and as negative binomial (NB2), the family chosen by a likelihood-ratio test.

Models (outcome: follow-up emergency asthma admissions; offset: log follow-up person-years):

* ``total`` = IMD quintile + ethnicity group + age band + sex. The inequality estimate: how much
  higher is the admission rate of one group than of the reference group of the same other
  demographics, whatever the route (more deprived people more often have poorly controlled,
  high-utilisation asthma; that route is part of the inequality).
* ``cluster_adjusted`` = the same + utilisation cluster + baseline emergency admissions. Within a
  utilisation cluster and at equal baseline admissions, how much higher is the rate? The clusters
  are built from baseline utilisation that lies on the path from deprivation, age and ethnicity
  to admission, so this is a within-cluster (direct) effect, smaller than the total one.
* ``original_notebook`` = utilisation cluster + baseline emergency admissions, as the source
  analysis (MinMax k-means, then a Poisson regression of follow-up emergency admissions on
  cluster and prior admissions). How much does the rate differ between utilisation clusters?

Populations (``MODEL_POPULATIONS``, written into each row's ``model_population``): the ``total``
model is fitted on every patient with follow-up person-time, whether or not they have a
utilisation cluster (the total effect of deprivation does not depend on whether a patient had
enough baseline to be clustered); the two models with the cluster term need one, so they are
fitted on the patients with follow-up person-time and a cluster. Each model's ``n`` and ``events``
are its own population's.

Input: the cells of ``int_asthma_rate_model_rows`` (dbt; ``nb_quadrature.model_cells`` builds
the same from patient-level tables): one row per combination of cluster (NULL for the patients
without one), IMD quintile, ethnicity group, age band, sex, baseline and follow-up emergency
admissions, with its patients and exact power sums of their follow-up days (6,358 cells at 1M
generated patients, bounded by the combinations of covariates and counts). ``fit_rate_ratios``
also takes exact rows of identical patients (``rate_rows.model_rows``), which is how
``rate_ratios`` fits from patient-level tables, the reference the cells are tested against.

Fits:

* Poisson: GLM on collapsed covariate cells (summed events and person-time per combination of
  covariate values). The cells are sufficient statistics for the Poisson likelihood: estimates
  and standard errors equal the patient-level fit.
* Negative binomial (NB2, Var = mu + alpha mu^2): maximum likelihood over patients, alpha by
  profile likelihood with a profile-likelihood 95% CI, coefficient SEs from the expected
  information at the estimated alpha; each cell's patients enter as the Gauss quadrature rule of
  their follow-up days (``health_equity.stats.nb_quadrature``, which says why and how well).
* Family test: LR = 2 (logL_NB - logL_Poisson), both at patient level. alpha = 0 is on the
  boundary of the parameter space, so under H0 (Poisson) LR follows a 50:50 mixture of chi2(0)
  and chi2(1): p = 0.5 P(chi2(1) > LR) (Self & Liang 1987). The negative binomial is primary when
  p < ``lr_test_level``; otherwise the Poisson is.
* IRR = exp(beta); 95% CI = exp(beta +/- 1.96 SE); Wald p-values.
* A model with too few patients or no events (or whose fit fails) writes one row per family
  saying why there is no estimate, and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

# Poisson GLM from its own modules, not statsmodels.api (which imports every statsmodels
# subpackage: about 0.5 s of every build that runs a Python model).
from statsmodels.genmod.families import Poisson
from statsmodels.genmod.generalized_linear_model import GLM

from health_equity.stats import nb_quadrature, rate_rows
from health_equity.stats.nb_quadrature import fit_negative_binomial, nb2_loglik
from health_equity.stats.rate_rows import (
    BASELINE,
    CATEGORICAL,
    DEMOGRAPHIC,
    EXPOSURE,
    INVERSE_EXCESS,
    LOG_EXCESS,
    OUTCOME,
    ROW_COLUMNS,
    collapse,
    design,
    levels_as_text,
    model_rows,
    weights,
)

# Re-exported: the warehouse tests and the benchmarks read the cells' columns and builders here.
CELL_KEYS, POWER_SUM, SUM_LOG = nb_quadrature.CELL_KEYS, nb_quadrature.POWER_SUM, nb_quadrature.SUM_LOG
SUM_INVERSE, model_cells = nb_quadrature.SUM_INVERSE, nb_quadrature.model_cells
model_frame, unique_rows = rate_rows.model_frame, rate_rows.unique_rows

MODELS = {
    "total": DEMOGRAPHIC,
    "cluster_adjusted": ["cluster", *DEMOGRAPHIC, BASELINE],
    "original_notebook": ["cluster", BASELINE],
}
MODEL_QUESTIONS = {
    "total": (
        "Total effect (the inequality estimate): how many times the reference group's admission "
        "rate does each deprivation, ethnicity, age and sex group have, each adjusted for the "
        "other three demographics only, whatever the route (including more poorly controlled, "
        "high-utilisation asthma)."
    ),
    "cluster_adjusted": (
        "Within-cluster effect: the same rate ratios among patients in the same utilisation "
        "cluster with the same baseline emergency admissions. Clusters and baseline admissions "
        "lie on the path from deprivation, ethnicity and age to admission, so these ratios leave "
        "out the part of the inequality that runs through them."
    ),
    "original_notebook": (
        "As the source analysis: how the admission rate differs between utilisation clusters "
        "(MinMax-scaled k-means on baseline utilisation) at equal baseline emergency admissions; "
        "no demographic terms."
    ),
}
# Who each model is fitted on (the mart's model_population): the total effect needs no cluster.
EVERY_PATIENT = "every patient with follow-up person-time, with or without a utilisation cluster"
CLUSTERED_PATIENTS = (
    "patients with follow-up person-time and a utilisation cluster (enough baseline person-time to be clustered)"
)
MODEL_POPULATIONS = {
    name: CLUSTERED_PATIENTS if "cluster" in covariates else EVERY_PATIENT for name, covariates in MODELS.items()
}
FAMILIES = ["poisson", "negative_binomial"]


@dataclass(frozen=True)
class RateModelConfig:
    """The project settings (dbt vars rate_model_lr_test_level, rate_model_min_patients and
    rate_ratio_reference, passed in through the model's ``rate_model`` config; no defaults here)
    and the confidence level of the intervals."""

    lr_test_level: float
    min_patients: int
    reference: dict[str, str]  # reference level of each demographic; the cluster's is optional
    confidence: float = 0.95

    def __post_init__(self):
        missing = [c for c in DEMOGRAPHIC if c not in self.reference]
        if missing:
            raise ValueError(f"no reference level for {', '.join(missing)}")

    @classmethod
    def from_mapping(cls, values: dict | None) -> RateModelConfig:
        """Build from dbt config values, ignoring unset (None) entries; lr_test_level,
        min_patients and a reference level for each demographic (a ``reference`` mapping or flat
        ``reference_<covariate>`` keys, what dbt renders from the vars) are required. Reference
        levels are compared as text."""
        values = {k: v for k, v in (values or {}).items() if v is not None}
        missing = [k for k in ("lr_test_level", "min_patients") if k not in values]
        if missing:
            raise KeyError(f"rate_model config is missing {', '.join(missing)}")
        reference = {k: str(v) for k, v in (values.get("reference") or {}).items()}
        reference.update(
            {k.removeprefix("reference_"): str(v) for k, v in values.items() if k.startswith("reference_")}
        )
        return cls(
            lr_test_level=float(values["lr_test_level"]),
            min_patients=int(values["min_patients"]),
            reference=reference,
            **({"confidence": float(values["confidence"])} if "confidence" in values else {}),
        )


def _totals(df: pd.DataFrame) -> tuple[int, float, float]:
    """Patients, events and person-years of a (weighted) frame."""
    w = weights(df)
    if not len(df):
        return 0, 0.0, 0.0
    # Quadrature weights add up to whole patients (and counts times them to whole events) only
    # to rounding: both are counts, so rounded.
    return (
        int(np.rint(w.sum())),
        float(np.rint(np.sum(w * df[OUTCOME].to_numpy(dtype=float)))),
        float(np.sum(w * df[EXPOSURE].to_numpy(dtype=float))),
    )


def model_population(df: pd.DataFrame, model_name: str) -> pd.DataFrame:
    """The rows ``model_name`` is fitted on (MODEL_POPULATIONS): all of them for a model without
    the cluster term, the rows with a cluster for a model with it."""
    if "cluster" not in MODELS[model_name]:
        return df
    return df[df["cluster"].notna()]


def weighted_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Weighted rows with the model's columns as text levels, in one fixed order whatever order
    the database returned them in (sums of person-time then add up in the same order every run):
    either the cells of int_asthma_rate_model_rows (``model_cells``; expanded by
    ``quadrature_rows``) or exact rows of identical patients (``model_rows``)."""
    if f"{POWER_SUM}1" in rows.columns:
        rows = nb_quadrature.quadrature_rows(rows)
    missing = [c for c in [*ROW_COLUMNS, "weight"] if c not in rows.columns]
    if missing:
        raise KeyError(f"model rows are missing column(s): {', '.join(missing)}")
    df = rows[(rows[EXPOSURE] > 0) & (rows["weight"] > 0)].copy()
    df = levels_as_text(df)
    df["weight"] = df["weight"].astype(float)
    # A total order: rows without a cluster (None) sort after the clustered ones.
    return df.sort_values(
        [*CATEGORICAL, BASELINE, OUTCOME, EXPOSURE], kind="mergesort", na_position="last"
    ).reset_index(drop=True)


def reference_levels(df: pd.DataFrame, cfg: RateModelConfig) -> dict[str, str]:
    """Configured references; the cluster reference defaults to the largest cluster (none when no
    row has a cluster: the models with the cluster term then have no estimate). A configured
    reference that is not in the data is an error."""
    ref = dict(cfg.reference)
    clustered = df[df["cluster"].notna()]
    if "cluster" not in ref and len(clustered):
        counts = pd.Series(weights(clustered), index=clustered.index).groupby(clustered["cluster"]).sum()
        ref["cluster"] = str(counts[counts == counts.max()].index.sort_values()[0])
    for c in CATEGORICAL:
        present = set(clustered[c] if c == "cluster" else df[c])
        if c in ref and ref[c] not in present:
            raise ValueError(f"reference level {ref[c]!r} of {c} is not in the data (levels: {sorted(present)})")
    return ref


def fit_poisson_cells(df: pd.DataFrame, covariates: list[str], levels, ref):
    cells = collapse(df, covariates)
    x = design(cells, covariates, levels, ref)
    # A tight tolerance: cells are few, and the estimates should be the MLE to ~1e-10.
    return GLM(cells["events"], x, family=Poisson(), offset=np.log(cells["person_years"])).fit(tol=1e-12)


def poisson_loglik(y, mu, w) -> float:
    return float(np.sum(w * (y * np.log(mu) - mu - special.gammaln(y + 1))))


def patient_fit_stats(rows: pd.DataFrame, x: pd.DataFrame, params: pd.Series, family: str, alpha: float | None):
    """Pearson chi2 / df, log-likelihood and AIC at patient level (``rows`` carry a ``weight``:
    identical patients once, weighted; a patient-level frame without it counts each row once)."""
    y = rows[OUTCOME].to_numpy(dtype=float)
    w = rows["weight"].to_numpy(dtype=float) if "weight" in rows else np.ones(len(rows))
    eta = x.to_numpy() @ params.to_numpy()
    mu = np.exp(eta + np.log(rows[EXPOSURE].to_numpy(dtype=float)))
    k = len(params)
    if family == "poisson":
        pearson = np.sum(w * (y - mu) ** 2 / mu)
        ll = poisson_loglik(y, mu, w)
    else:
        pearson = np.sum(w * (y - mu) ** 2 / (mu + alpha * mu**2))
        ll = nb2_loglik(y, mu, alpha, w)
        k += 1  # alpha is estimated
    # Quadrature rows (``quadrature_rows``): both log-likelihoods hold y log(t) and both Pearson
    # statistics y^2 / mu = y^2 exp(-eta) / t, where the nodes' sums of log(t) and 1/t are
    # corrected to the cells' exact ones; every other term is smooth in t.
    if LOG_EXCESS in rows:
        ll += float(np.sum(y * rows[LOG_EXCESS].to_numpy(dtype=float)))
        pearson += float(np.sum(y**2 * np.exp(-eta) * rows[INVERSE_EXCESS].to_numpy(dtype=float)))
    df_resid = int(np.rint(w.sum())) - len(params)
    return {
        "pearson_chi2": float(pearson),
        "dispersion": float(pearson / df_resid),
        "log_likelihood": float(ll),
        "aic": float(-2 * ll + 2 * k),
        "df_resid": int(df_resid),
    }


def lr_test(ll_nb: float, ll_poisson: float) -> tuple[float, float]:
    """Boundary-corrected LR test of NB2 against Poisson: (statistic, p)."""
    lr = max(0.0, 2.0 * (ll_nb - ll_poisson))
    p = 0.5 * float(stats.chi2.sf(lr, 1)) if lr > 0 else 1.0
    return lr, p


def _term_rows(res, ref: dict[str, str], confidence: float) -> pd.DataFrame:
    z = stats.norm.ppf(0.5 + confidence / 2)
    rows = []
    for name, beta in res.params.items():
        se = float(res.bse[name])
        if name == "intercept":
            term, level, reference = "intercept", "baseline rate per person-year", None
        elif "=" in name:
            term, level = name.split("=", 1)
            reference = ref[term]
        else:
            term, level, reference = name, "per admission", None
        rows.append(
            {
                "term": term,
                "level": level,
                "reference_level": reference,
                "estimate": float(beta),
                "std_error": se,
                "irr": float(np.exp(beta)),
                "ci_lower": float(np.exp(beta - z * se)),
                "ci_upper": float(np.exp(beta + z * se)),
                "p_value": float(res.pvalues[name]),
            }
        )
    return pd.DataFrame(rows)


# The columns of the mart, in order, and those of them that are text.
COLUMNS = (
    "model_name model_family term level reference_level estimate std_error irr ci_lower "
    "ci_upper p_value is_primary estimate_status model_question covariates model_population n "
    "events person_years poisson_dispersion dispersion log_likelihood aic poisson_aic "
    "negative_binomial_aic alpha alpha_ci_lower alpha_ci_upper lr_statistic lr_p_value "
    "lr_test_level chosen_family "
).split()
TEXT_COLUMNS = (
    "model_name model_family term level reference_level estimate_status model_question "
    "covariates model_population chosen_family "
).split()
INTEGER_COLUMNS = ("n",)


def _no_estimate(model_name: str, covariates: list[str], df: pd.DataFrame, reason: str, cfg) -> pd.DataFrame:
    """One row per family saying why the model has no estimate."""
    rows = pd.DataFrame({"model_family": FAMILIES})
    rows["model_name"] = model_name
    rows["term"] = "no estimate"
    rows["level"] = "no estimate"
    rows["is_primary"] = False
    rows["estimate_status"] = f"not estimated: {reason}"
    rows["model_question"] = MODEL_QUESTIONS[model_name]
    rows["covariates"] = " + ".join(covariates)
    rows["model_population"] = MODEL_POPULATIONS[model_name]
    rows["n"], rows["events"], rows["person_years"] = _totals(df)
    rows["lr_test_level"] = cfg.lr_test_level
    return rows.reindex(columns=COLUMNS)


def fit_model(df: pd.DataFrame, model_name: str, covariates: list[str], levels, ref, cfg: RateModelConfig):
    """Both families of one model, with the LR test; rows of the mart. ``df`` is the model's
    population (``model_population``): every row is fitted."""
    cell_x = design(collapse(df, covariates), covariates, levels, ref)
    rank = np.linalg.matrix_rank(cell_x.to_numpy())
    if rank < cell_x.shape[1]:
        raise np.linalg.LinAlgError(
            f"the design has {cell_x.shape[1]} parameters but rank {rank} (a covariate does not vary)"
        )
    cells = fit_poisson_cells(df, covariates, levels, ref)
    rows = unique_rows(df, covariates)
    x = design(rows, covariates, levels, ref)
    pstats = patient_fit_stats(rows, x, cells.params, "poisson", None)
    nb = fit_negative_binomial(rows, x, start=cells.params.to_numpy(), confidence=cfg.confidence)
    nstats = patient_fit_stats(rows, x, nb.result.params, "nb", nb.alpha)
    lr, p = lr_test(nstats["log_likelihood"], pstats["log_likelihood"])
    chosen = "negative_binomial" if p < cfg.lr_test_level else "poisson"
    n, events, person_years = _totals(df)
    out = []
    for family, res, st in (("poisson", cells, pstats), ("negative_binomial", nb.result, nstats)):
        if not np.all(np.isfinite(res.bse)):
            raise np.linalg.LinAlgError(f"{family} fit has undefined standard errors")
        t = _term_rows(res, ref, cfg.confidence)
        t["model_name"] = model_name
        t["model_family"] = family
        t["is_primary"] = family == chosen
        t["estimate_status"] = "estimated"
        t["model_question"] = MODEL_QUESTIONS[model_name]
        t["covariates"] = " + ".join(covariates)
        t["model_population"] = MODEL_POPULATIONS[model_name]
        t["n"] = n
        t["events"] = events
        t["person_years"] = person_years
        t["poisson_dispersion"] = pstats["dispersion"]
        t["dispersion"] = st["dispersion"]
        t["log_likelihood"] = st["log_likelihood"]
        t["aic"] = st["aic"]
        t["poisson_aic"] = pstats["aic"]
        t["negative_binomial_aic"] = nstats["aic"]
        t["alpha"] = nb.alpha
        t["alpha_ci_lower"] = nb.alpha_ci[0]
        t["alpha_ci_upper"] = nb.alpha_ci[1]
        t["lr_statistic"] = lr
        t["lr_p_value"] = p
        t["lr_test_level"] = cfg.lr_test_level
        t["chosen_family"] = chosen
        out.append(t.reindex(columns=COLUMNS))
    return pd.concat(out, ignore_index=True)


def rate_ratios(patients: pd.DataFrame, clusters: pd.DataFrame, cfg: RateModelConfig) -> pd.DataFrame:
    """``fit_rate_ratios`` from patient-level tables (asthma_patients, asthma_patient_clusters)."""
    return fit_rate_ratios(model_rows(patients, clusters), cfg)


def fit_rate_ratios(rows: pd.DataFrame, cfg: RateModelConfig) -> pd.DataFrame:
    """One row per model x family x term level, with model-level fit statistics repeated, from
    the weighted model rows (int_asthma_rate_model_rows; see ``model_rows``). Each model is
    fitted on its own population (``model_population``), its levels those present there."""
    df = weighted_frame(rows)
    out = []
    ref = None
    n_all, events_all, _ = _totals(df)
    if n_all >= cfg.min_patients and events_all > 0:
        ref = reference_levels(df, cfg)
    for model_name, covariates in MODELS.items():
        data = model_population(df, model_name)
        n, events, _ = _totals(data)
        if n == 0 and "cluster" in covariates and n_all > 0:
            reason = "no patient with follow-up person-time has a utilisation cluster"
            out.append(_no_estimate(model_name, covariates, data, reason, cfg))
            continue
        if n < cfg.min_patients:
            reason = f"{n} patients in the model, fewer than min_patients ({cfg.min_patients})"
            out.append(_no_estimate(model_name, covariates, data, reason, cfg))
            continue
        if events == 0:
            out.append(_no_estimate(model_name, covariates, data, "no follow-up emergency admissions", cfg))
            continue
        levels = {c: sorted(data[c].unique()) for c in covariates if c in CATEGORICAL}
        try:
            with np.errstate(all="ignore"):
                out.append(fit_model(data, model_name, covariates, levels, ref, cfg))
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            out.append(_no_estimate(model_name, covariates, data, f"fit failed ({exc})", cfg))
    result = pd.concat(out, ignore_index=True)
    for c in ("is_primary",):
        result[c] = result[c].astype(bool)
    # Fixed column types whatever was estimated (a model with no estimate has all-missing text or
    # numbers, which would otherwise change the mart's declared types).
    for c in TEXT_COLUMNS:
        result[c] = result[c].astype("string")
    for c in COLUMNS:
        if c not in TEXT_COLUMNS and c not in INTEGER_COLUMNS and c != "is_primary":
            result[c] = result[c].astype("float64")
    for c in INTEGER_COLUMNS:
        result[c] = result[c].astype("Int64")
    return result
