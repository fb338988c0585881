"""Emergency-admission rate ratios: Poisson GLM with a person-time offset, negative binomial
when overdispersed (DOMAIN.md section 5).

* The Poisson GLM is fitted on collapsed covariate cells (summed events and person-time per
  combination of covariate values). With categorical covariates (and a count covariate taking a
  few values) the cells are sufficient statistics: the estimates and standard errors equal the
  patient-level fit. Goodness of fit (Pearson chi2/df, log-likelihood, AIC) is computed at
  patient level from the fitted rates, since it does not collapse.
* Dispersion = Pearson chi2 / residual df. Above ``dispersion_threshold`` a negative binomial
  (NB2) is fitted at patient level: alpha is estimated by the discrete NB model, then passed to
  the GLM family (``sm.families.NegativeBinomial()`` alone fixes alpha = 1 and only warns).
* IRR = exp(beta); 95% CI = exp(beta +/- 1.96 SE); Wald p-values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats

OUTCOME = "followup_emergency_admissions"
EXPOSURE = "followup_person_years"
BASELINE = "baseline_emergency_admissions"
CATEGORICAL = ["cluster", "imd_quintile", "ethnicity_group", "age_band", "sex"]
MODELS = {
    "adjusted": ["cluster", "imd_quintile", "ethnicity_group", "age_band", "sex", BASELINE],
    # The original notebook's model: cluster and prior admissions only.
    "original": ["cluster", BASELINE],
}
DEFAULT_REFERENCE = {"imd_quintile": "5", "ethnicity_group": "White", "age_band": "18-54", "sex": "M"}


@dataclass(frozen=True)
class RateModelConfig:
    dispersion_threshold: float = 1.5
    reference: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_REFERENCE))
    confidence: float = 0.95

    @classmethod
    def from_mapping(cls, values: dict | None) -> RateModelConfig:
        """Build from dbt config values; reference levels are compared as text."""
        values = {k: v for k, v in (values or {}).items() if v is not None}
        cfg = cls()
        reference = {**cfg.reference, **{k: str(v) for k, v in (values.get("reference") or {}).items()}}
        # Flat keys reference_<covariate> (what dbt renders from vars) override too.
        reference.update(
            {k.removeprefix("reference_"): str(v) for k, v in values.items() if k.startswith("reference_")}
        )
        return cls(
            dispersion_threshold=float(values.get("dispersion_threshold", cfg.dispersion_threshold)),
            reference=reference,
            confidence=float(values.get("confidence", cfg.confidence)),
        )


def model_frame(patients: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """Patients with follow-up person-time and a cluster, with the model's columns as text levels."""
    need = {"patient_key", OUTCOME, EXPOSURE, BASELINE, "imd_quintile", "ethnicity_group", "age_band", "sex"}
    missing = need - set(patients.columns)
    if missing:
        raise KeyError(f"patients table is missing column(s): {', '.join(sorted(missing))}")
    df = patients.merge(clusters[["patient_key", "cluster_id", "cluster_label"]], on="patient_key", how="inner")
    df = df[(df[EXPOSURE] > 0) & df["cluster_id"].notna()].copy()
    df["cluster"] = df["cluster_id"].astype(int).astype(str) + ": " + df["cluster_label"].astype(str)
    for c in CATEGORICAL:
        df[c] = df[c].astype(str)
    df[OUTCOME] = df[OUTCOME].astype(float)
    df[EXPOSURE] = df[EXPOSURE].astype(float)
    df[BASELINE] = df[BASELINE].astype(float)
    return df.reset_index(drop=True)


def reference_levels(df: pd.DataFrame, cfg: RateModelConfig) -> dict[str, str]:
    """Configured references; the cluster reference defaults to the largest cluster."""
    ref = dict(cfg.reference)
    if "cluster" not in ref:
        counts = df["cluster"].value_counts()
        ref["cluster"] = str(counts[counts == counts.max()].index.sort_values()[0])
    for c in CATEGORICAL:
        if ref[c] not in set(df[c]):
            raise ValueError(f"reference level {ref[c]!r} of {c} is not in the data (levels: {sorted(set(df[c]))})")
    return ref


def design(df: pd.DataFrame, covariates: list[str], levels: dict[str, list[str]], ref: dict[str, str]) -> pd.DataFrame:
    """Intercept + treatment dummies (reference dropped) + numeric covariates, named term=level."""
    cols = {"intercept": np.ones(len(df))}
    for c in covariates:
        if c in CATEGORICAL:
            values = df[c].to_numpy()
            for lv in levels[c]:
                if lv != ref[c]:
                    cols[f"{c}={lv}"] = (values == lv).astype(float)
        else:
            cols[c] = df[c].to_numpy(dtype=float)
    return pd.DataFrame(cols, index=df.index)


def collapse(df: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Summed events and person-time per combination of covariate values."""
    return (
        df.groupby(covariates, observed=True, sort=True)
        .agg(events=(OUTCOME, "sum"), person_years=(EXPOSURE, "sum"), patients=(OUTCOME, "size"))
        .reset_index()
    )


def fit_poisson_cells(df: pd.DataFrame, covariates: list[str], levels, ref):
    cells = collapse(df, covariates)
    x = design(cells, covariates, levels, ref)
    # A tight tolerance: cells are few, and the estimates should be the MLE to ~1e-10.
    return sm.GLM(cells["events"], x, family=sm.families.Poisson(), offset=np.log(cells["person_years"])).fit(tol=1e-12)


def patient_fit_stats(df: pd.DataFrame, x: pd.DataFrame, params: pd.Series, family: str, alpha: float | None):
    """Pearson chi2 / df, log-likelihood and AIC at patient level for fitted coefficients."""
    y = df[OUTCOME].to_numpy()
    mu = np.exp(x.to_numpy() @ params.to_numpy() + np.log(df[EXPOSURE].to_numpy()))
    k = len(params)
    if family == "poisson":
        pearson = np.sum((y - mu) ** 2 / mu)
        ll = np.sum(y * np.log(mu) - mu - special.gammaln(y + 1))
    else:
        pearson = np.sum((y - mu) ** 2 / (mu + alpha * mu**2))
        r = 1 / alpha
        ll = np.sum(
            special.gammaln(y + r)
            - special.gammaln(r)
            - special.gammaln(y + 1)
            + r * np.log(r / (r + mu))
            + y * np.log(mu / (r + mu))
        )
        k += 1  # alpha is estimated
    df_resid = len(y) - len(params)
    return {
        "pearson_chi2": float(pearson),
        "dispersion": float(pearson / df_resid),
        "log_likelihood": float(ll),
        "aic": float(-2 * ll + 2 * k),
        "df_resid": int(df_resid),
    }


def fit_negative_binomial(df: pd.DataFrame, x: pd.DataFrame):
    """NB2: alpha from the discrete model, then the GLM with that alpha (DOMAIN.md section 5)."""
    offset = np.log(df[EXPOSURE].to_numpy())
    start = sm.GLM(df[OUTCOME], x, family=sm.families.Poisson(), offset=offset).fit().params
    discrete = sm.NegativeBinomial(df[OUTCOME], x, offset=offset, loglike_method="nb2").fit(
        start_params=np.append(start.to_numpy(), 0.5), disp=0, maxiter=200, method="bfgs"
    )
    alpha = float(discrete.params["alpha"])
    glm = sm.GLM(df[OUTCOME], x, family=sm.families.NegativeBinomial(alpha=alpha), offset=offset).fit()
    return glm, alpha


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


def rate_ratios(
    patients: pd.DataFrame, clusters: pd.DataFrame, cfg: RateModelConfig = RateModelConfig()
) -> pd.DataFrame:
    """One row per model x family x term level, with model-level fit statistics repeated."""
    df = model_frame(patients, clusters)
    ref = reference_levels(df, cfg)
    levels = {c: sorted(df[c].unique()) for c in CATEGORICAL}
    out = []
    for model_name, covariates in MODELS.items():
        x = design(df, covariates, levels, ref)
        pois = fit_poisson_cells(df, covariates, levels, ref)
        pstats = patient_fit_stats(df, x, pois.params, "poisson", None)
        overdispersed = pstats["dispersion"] > cfg.dispersion_threshold
        fits = [("poisson", pois, pstats, None)]
        if overdispersed:
            nb, alpha = fit_negative_binomial(df, x)
            fits.append(("negative_binomial", nb, patient_fit_stats(df, x, nb.params, "nb", alpha), alpha))
        for family, res, st, alpha in fits:
            rows = _term_rows(res, ref, cfg.confidence)
            rows.insert(0, "model_name", model_name)
            rows.insert(1, "model_family", family)
            rows["is_primary"] = family == ("negative_binomial" if overdispersed else "poisson")
            rows["n"] = len(df)
            rows["events"] = float(df[OUTCOME].sum())
            rows["person_years"] = float(df[EXPOSURE].sum())
            rows["poisson_dispersion"] = pstats["dispersion"]
            rows["dispersion"] = st["dispersion"]
            rows["dispersion_threshold"] = cfg.dispersion_threshold
            rows["log_likelihood"] = st["log_likelihood"]
            rows["aic"] = st["aic"]
            rows["alpha"] = np.nan if alpha is None else alpha
            rows["covariates"] = " + ".join(covariates)
            out.append(rows)
    return pd.concat(out, ignore_index=True)
