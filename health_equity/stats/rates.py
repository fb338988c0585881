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

Input: the cells of ``int_asthma_rate_model_rows`` (dbt): every patient with follow-up
person-time, one row per combination of cluster (NULL for the patients without one), IMD
quintile, ethnicity group, age band, sex, baseline and follow-up emergency admissions, with
``weight`` = its patients and exact sums over them of follow-up days to the powers 1 .. 2K - 1
(K = dbt var rate_model_quadrature_nodes, 6), of log person-years and of 1 / person-years.
Their number is bounded by the combinations of covariates and counts (6,358 at 1M
generated patients), not by the number of patients.
``fit_rate_ratios`` fits from them (``model_cells`` builds the same cells from patient-level
tables); it also takes exact rows of identical patients (``model_rows``), which is how
``rate_ratios`` fits from patient-level tables, the reference the cells are tested against.

Fits:

* Poisson: GLM on collapsed covariate cells (summed events and person-time per combination of
  covariate values). The cells are sufficient statistics for the Poisson likelihood: estimates
  and standard errors equal the patient-level fit.
* Negative binomial (NB2, Var = mu + alpha mu^2): maximum likelihood over patients. The NB
  likelihood does not collapse over patients with different person-time: with mu = lambda t a
  cell's terms hold log(1 + alpha lambda t) and 1 / (1 + alpha lambda t) for each patient's t. So
  each cell's patients are replaced by the Gauss quadrature rule of their follow-up days
  (``gauss_rule``: at most K points whose power sums 0 .. 2K - 1 equal the cell's, weights adding
  up to its patients), exact for cells with K or fewer distinct follow-up lengths and otherwise
  exact for every polynomial of degree 2K - 1 in t. Those functions are smooth on a year of
  follow-up, so at the asthma data's rates the estimates, SEs and alpha agree with the exact
  patient-level fit to ~1e-10 at 1M generated patients (the error grows with alpha x rate: ~1e-7
  at alpha 0.8 and 3 admissions a year). The only terms that are not smooth in t, y log t in the
  log-likelihoods and y^2 / mu in the Pearson statistics, use the cells' exact sums of log t and
  1 / t. alpha maximises the profile log-likelihood (for each alpha the GLM with that alpha is
  fitted by IRLS); its 95% CI is the profile-likelihood interval (twice the drop in
  log-likelihood below the 0.95 quantile of chi2(1); the lower limit is 0 when alpha -> 0 stays
  inside). Coefficient SEs are from the expected information of the GLM at the estimated alpha
  (beta and alpha are orthogonal in NB2, so this equals the joint-information SE
  asymptotically), as statsmodels' GLM with a fixed-alpha NegativeBinomial family reports.
* Family test: LR = 2 (logL_NB - logL_Poisson), both at patient level. alpha = 0 is on the
  boundary of the parameter space, so under H0 (Poisson) LR follows a 50:50 mixture of chi2(0)
  and chi2(1): p = 0.5 P(chi2(1) > LR) (Self & Liang 1987). The negative binomial is primary when
  p < ``lr_test_level``; otherwise the Poisson is.
* IRR = exp(beta); 95% CI = exp(beta +/- 1.96 SE); Wald p-values.
* A model with too few patients or no events (or whose fit fails) writes one row per family
  saying why there is no estimate, and the others go on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, special, stats

OUTCOME = "followup_emergency_admissions"
EXPOSURE = "followup_person_years"
BASELINE = "baseline_emergency_admissions"
CATEGORICAL = ["cluster", "imd_quintile", "ethnicity_group", "age_band", "sex"]
DEMOGRAPHIC = ["imd_quintile", "ethnicity_group", "age_band", "sex"]
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
# The columns of the weighted model rows (int_asthma_rate_model_rows), besides ``weight``.
ROW_COLUMNS = [
    "cluster_id",
    "cluster_label",
    *DEMOGRAPHIC,
    BASELINE,
    OUTCOME,
    EXPOSURE,
]
ALPHA_BOUNDS = (1e-8, 100.0)  # search range of the NB2 alpha
# The cells of int_asthma_rate_model_rows: one per combination of these values, with ``weight``
# (patients), ``days_per_year`` and the exact sums below over the cell's patients.
CELL_KEYS = [c for c in ROW_COLUMNS if c != EXPOSURE]
POWER_SUM = "followup_days_power_sum_"  # + k: sum of follow-up days ** k, k = 1 .. 2 nodes - 1
SUM_LOG = "sum_log_followup_person_years"  # sum of log(person-years), each rounded to 1e-18
SUM_INVERSE = "sum_inverse_followup_person_years"  # sum of 1 / person-years, each rounded to 1e-18
# Per quadrature row: its share of the cell's exact sum of log(t) and of 1/t minus what the
# quadrature nodes give (zero for rows of single patients or of identical patients).
LOG_EXCESS = "log_exposure_excess"
INVERSE_EXCESS = "inverse_exposure_excess"


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


def _weights(df: pd.DataFrame) -> np.ndarray:
    """Patients each row stands for: its ``weight`` (weighted model rows), else 1 (one patient)."""
    return df["weight"].to_numpy(dtype=float) if "weight" in df else np.ones(len(df))


def _totals(df: pd.DataFrame) -> tuple[int, float, float]:
    """Patients, events and person-years of a (weighted) frame."""
    w = _weights(df)
    if not len(df):
        return 0, 0.0, 0.0
    # Quadrature weights add up to whole patients (and counts times them to whole events) only
    # to rounding: both are counts, so rounded.
    return (
        int(np.rint(w.sum())),
        float(np.rint(np.sum(w * df[OUTCOME].to_numpy(dtype=float)))),
        float(np.sum(w * df[EXPOSURE].to_numpy(dtype=float))),
    )


def _modelled_patients(patients: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    need = {"patient_key", OUTCOME, EXPOSURE, BASELINE, "imd_quintile", "ethnicity_group", "age_band", "sex"}
    missing = need - set(patients.columns)
    if missing:
        raise KeyError(f"patients table is missing column(s): {', '.join(sorted(missing))}")
    df = patients.merge(clusters[["patient_key", "cluster_id", "cluster_label"]], on="patient_key", how="left")
    return df[df[EXPOSURE] > 0]


def model_rows(patients: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """The weighted model rows from patient-level tables, as int_asthma_rate_model_rows builds
    them in SQL: every patient with follow-up person-time (cluster_id missing for those without
    a cluster), one row per distinct ROW_COLUMNS values with ``weight`` = the patients sharing
    them."""
    df = _modelled_patients(patients, clusters)
    return df.groupby(ROW_COLUMNS, dropna=False, sort=True).size().rename("weight").reset_index()


def _rounded(value: float) -> Decimal:
    """A double rounded to 18 decimals, as SQL's cast(... as decimal(38, 18)) does."""
    return Decimal(value).quantize(Decimal("1e-18"))


def model_cells(patients: pd.DataFrame, clusters: pd.DataFrame, nodes: int, days_per_year: float) -> pd.DataFrame:
    """The cells int_asthma_rate_model_rows builds in SQL, from patient-level tables: every
    patient with follow-up person-time (cluster_id missing for those without a cluster; their
    cluster_label is the clusters table's, the reason), one row per CELL_KEYS combination with ``weight``
    (patients), ``days_per_year``, the sums of follow-up days ** k (k = 1 .. 2 nodes - 1) and the
    sums of log and of 1 / person-years (each rounded to 18 decimals), the sums as exact text.
    Follow-up person-years must be whole days / days_per_year."""
    df = _modelled_patients(patients, clusters)
    days = df[EXPOSURE].to_numpy(dtype=float) * days_per_year
    whole = np.rint(days)
    if np.any(np.abs(days - whole) > 1e-6):
        raise ValueError(f"follow-up person-years must be whole days / {days_per_year}")
    df = df.assign(_days=whole.astype(np.int64))
    out = []
    with localcontext() as ctx:
        ctx.prec = 60
        for key, cell in df.groupby(CELL_KEYS, dropna=False, sort=True):
            d = [int(v) for v in cell["_days"]]
            row = dict(zip(CELL_KEYS, key, strict=True))
            row["weight"] = len(d)
            row["days_per_year"] = days_per_year
            for k in range(1, 2 * nodes):
                row[f"{POWER_SUM}{k}"] = str(sum(v**k for v in d))
            row[SUM_LOG] = format(sum(_rounded(math.log(v / days_per_year)) for v in d), "f")
            row[SUM_INVERSE] = format(sum(_rounded(days_per_year / v) for v in d), "f")
            out.append(row)
    # The keys keep their column types (a missing cluster_id stays the input's missing value).
    return pd.DataFrame(out).astype({c: df[c].dtype for c in CELL_KEYS})


def gauss_rule(power_sums: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the Gauss quadrature rule of a set of points given only their power
    sums s_k = sum_i d_i ** k, k = 0 .. 2K - 1: at most K nodes with positive weights whose own
    power sums equal s_0 .. s_{2K-1}, so the rule sums any polynomial of degree 2K - 1 exactly
    (and, for the smooth functions of person-time in the NB2 fit, to ~1e-11 at K = 6). With K or
    fewer distinct points the rule is the points themselves.

    The three-term recurrence of the points' monic orthogonal polynomials is computed in exact
    rational arithmetic from the sums (a zero norm means fewer distinct points: the rule stops
    there); the nodes and weights are the eigenvalues and first eigenvector components of its
    Jacobi matrix (Golub & Welsch 1969)."""
    s = [Fraction(int(v)) for v in power_sums]
    order = len(s) // 2

    def inner(p: list[Fraction], q: list[Fraction], shift: int = 0) -> Fraction:
        return sum((pi * qj * s[i + j + shift] for i, pi in enumerate(p) for j, qj in enumerate(q)), Fraction(0))

    a: list[Fraction] = []
    b: list[Fraction] = []
    previous, current, norm = [Fraction(0)], [Fraction(1)], s[0]
    for k in range(order):
        a.append(inner(current, current, 1) / norm)
        if k == order - 1:
            break
        b_k = b[-1] if b else Fraction(0)
        shifted = [Fraction(0), *current]
        following = [
            c - a[-1] * (current[i] if i < len(current) else 0) - b_k * (previous[i] if i < len(previous) else 0)
            for i, c in enumerate(shifted)
        ]
        following_norm = inner(following, following)
        if following_norm == 0:
            break
        b.append(following_norm / norm)
        previous, current, norm = current, following, following_norm
    off = np.sqrt([float(v) for v in b[: len(a) - 1]])
    jacobi = np.diag([float(v) for v in a]) + np.diag(off, 1) + np.diag(off, -1)
    nodes, vectors = np.linalg.eigh(jacobi)
    return nodes, float(s[0]) * vectors[0] ** 2


def quadrature_rows(cells: pd.DataFrame) -> pd.DataFrame:
    """Rows to fit from the cells of int_asthma_rate_model_rows: each cell's patients as the
    nodes of the Gauss rule of their follow-up days (``gauss_rule``), at person-years node /
    days_per_year, each with its quadrature weight, and with the cell's exact sums of log and of
    1 / person-years less what the nodes give, shared out by weight (LOG_EXCESS, INVERSE_EXCESS;
    ``patient_fit_stats`` adds them back, so the log-likelihoods and Pearson statistics use the
    exact sums). Cells with at most K distinct follow-up lengths give their patients exactly."""
    powers = sorted(int(c.removeprefix(POWER_SUM)) for c in cells.columns if c.startswith(POWER_SUM))
    if not powers or powers != list(range(1, len(powers) + 1)) or len(powers) % 2 == 0:
        raise KeyError(f"model cells need the columns {POWER_SUM}1 .. {POWER_SUM}<2K - 1>; got powers {powers}")
    missing = [c for c in [*CELL_KEYS, "weight", "days_per_year", SUM_LOG, SUM_INVERSE] if c not in cells.columns]
    if missing:
        raise KeyError(f"model cells are missing column(s): {', '.join(missing)}")
    out = []
    for cell in cells.to_dict("records"):
        n = int(cell["weight"])
        days, weights = gauss_rule([n, *(int(cell[f"{POWER_SUM}{k}"]) for k in powers)])
        t = days / float(cell["days_per_year"])
        share = weights / n
        log_excess = float(Fraction(str(cell[SUM_LOG]))) - float(np.sum(weights * np.log(t)))
        inverse_excess = float(Fraction(str(cell[SUM_INVERSE]))) - float(np.sum(weights / t))
        keys = {c: cell[c] for c in CELL_KEYS}
        for j in range(len(t)):
            out.append(
                {
                    **keys,
                    EXPOSURE: float(t[j]),
                    "weight": float(weights[j]),
                    LOG_EXCESS: log_excess * float(share[j]),
                    INVERSE_EXCESS: inverse_excess * float(share[j]),
                }
            )
    return pd.DataFrame(out, columns=[*ROW_COLUMNS, "weight", LOG_EXCESS, INVERSE_EXCESS])


def _levels_as_text(df: pd.DataFrame) -> pd.DataFrame:
    """The model's columns as text levels; ``cluster`` is "<id>: <label>", or None for a patient
    without a cluster (fitted by the total model only)."""
    clustered = df["cluster_id"].notna().to_numpy()
    cluster = np.full(len(df), None, dtype=object)
    if clustered.any():
        ids = df["cluster_id"][clustered].astype("int64").astype(str)
        cluster[clustered] = (ids + ": " + df["cluster_label"][clustered].astype(str)).to_numpy()
    df["cluster"] = cluster
    for c in DEMOGRAPHIC:
        df[c] = df[c].astype(str)
    df[OUTCOME] = df[OUTCOME].astype(float)
    df[EXPOSURE] = df[EXPOSURE].astype(float)
    df[BASELINE] = df[BASELINE].astype(float)
    return df


def model_frame(patients: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """Every patient with follow-up person-time, with the model's columns as text levels (one row
    per patient; ``cluster`` None for a patient without one). ``model_population`` selects the
    rows a model is fitted on."""
    return _levels_as_text(_modelled_patients(patients, clusters).copy()).reset_index(drop=True)


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
        rows = quadrature_rows(rows)
    missing = [c for c in [*ROW_COLUMNS, "weight"] if c not in rows.columns]
    if missing:
        raise KeyError(f"model rows are missing column(s): {', '.join(missing)}")
    df = rows[(rows[EXPOSURE] > 0) & (rows["weight"] > 0)].copy()
    df = _levels_as_text(df)
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
        counts = pd.Series(_weights(clustered), index=clustered.index).groupby(clustered["cluster"]).sum()
        ref["cluster"] = str(counts[counts == counts.max()].index.sort_values()[0])
    for c in CATEGORICAL:
        present = set(clustered[c] if c == "cluster" else df[c])
        if c in ref and ref[c] not in present:
            raise ValueError(f"reference level {ref[c]!r} of {c} is not in the data (levels: {sorted(present)})")
    return ref


def design(df: pd.DataFrame, covariates: list[str], levels, ref: dict[str, str]) -> pd.DataFrame:
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
    """Summed events and person-time per combination of covariate values (rows count with their
    weight)."""
    w = _weights(df)
    frame = df[covariates].assign(
        events=w * df[OUTCOME].to_numpy(dtype=float), person_years=w * df[EXPOSURE].to_numpy(dtype=float), patients=w
    )
    return (
        frame.groupby(covariates, observed=True, sort=True)
        .agg(events=("events", "sum"), person_years=("person_years", "sum"), patients=("patients", "sum"))
        .reset_index()
    )


def unique_rows(df: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Patients with identical covariates, count and person-time as one row with a weight (rows
    that already carry a weight add theirs up)."""
    keys = [*covariates, OUTCOME, EXPOSURE]
    if "weight" not in df:
        return df.groupby(keys, observed=True, sort=True).size().rename("weight").reset_index()
    summed = ["weight", *(c for c in (LOG_EXCESS, INVERSE_EXCESS) if c in df)]
    return df.groupby(keys, observed=True, sort=True)[summed].sum().reset_index()


def fit_poisson_cells(df: pd.DataFrame, covariates: list[str], levels, ref):
    cells = collapse(df, covariates)
    x = design(cells, covariates, levels, ref)
    # A tight tolerance: cells are few, and the estimates should be the MLE to ~1e-10.
    return sm.GLM(cells["events"], x, family=sm.families.Poisson(), offset=np.log(cells["person_years"])).fit(tol=1e-12)


def poisson_loglik(y, mu, w) -> float:
    return float(np.sum(w * (y * np.log(mu) - mu - special.gammaln(y + 1))))


def _log_rising_factorial(r: float, y: np.ndarray) -> np.ndarray:
    """log Gamma(y + r) - log Gamma(r) = sum_{j < y} log(r + j) for integer counts y; exact where
    the difference of two gammaln values loses precision (large r, alpha near 0)."""
    out = np.zeros(len(y))
    for j in range(int(y.max()) if len(y) else 0):
        out += np.where(y > j, np.log(r + j), 0.0)
    return out


def nb2_score_log_alpha(y, mu, alpha: float, w) -> float:
    """d logL / d log(alpha) of NB2 at fixed mu: -r * sum w [psi(y+r) - psi(r) - log1p(mu/r) +
    (mu - y)/(r + mu)], with psi(y+r) - psi(r) = sum_{j<y} 1/(r+j) summed exactly for integer y.
    At the profile's beta(alpha) this is the profile likelihood's slope (envelope theorem)."""
    r = 1.0 / alpha
    rising = np.zeros(len(y))
    for j in range(int(y.max()) if len(y) else 0):
        rising += np.where(y > j, 1.0 / (r + j), 0.0)
    return float(-r * np.sum(w * (rising - np.log1p(mu / r) + (mu - y) / (r + mu))))


def nb2_loglik(y, mu, alpha: float, w) -> float:
    """NB2 log-likelihood, Var = mu + alpha mu^2 (r = 1/alpha), summed with frequency weights."""
    r = 1.0 / alpha
    return float(
        np.sum(
            w
            * (
                _log_rising_factorial(r, y)
                - special.gammaln(y + 1)
                - r * np.log1p(mu / r)
                + y * (np.log(mu) - np.log(r + mu))
            )
        )
    )


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


@dataclass
class GlmResult:
    """Coefficients, standard errors and Wald p-values of a fit (named like the design columns)."""

    params: pd.Series
    bse: pd.Series
    pvalues: pd.Series


@dataclass
class NegativeBinomialFit:
    result: GlmResult  # coefficients at the estimated alpha
    alpha: float
    alpha_ci: tuple[float, float]
    log_likelihood: float


def nb2_irls(y, x: np.ndarray, offset, w, alpha: float, start, tol: float = 1e-10, maxiter: int = 100):
    """Coefficients of the NB2 GLM (log link) at fixed alpha by iteratively reweighted least squares,
    and the expected information X'WX (W = w mu / (1 + alpha mu)) at the solution."""
    beta = np.asarray(start, dtype=float).copy()
    for _ in range(maxiter):
        eta = x @ beta + offset
        mu = np.exp(eta)
        wt = w * mu / (1 + alpha * mu)
        info = x.T @ (x * wt[:, None])
        step = np.linalg.solve(info, x.T @ (w * (y - mu) / (1 + alpha * mu)))
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    mu = np.exp(x @ beta + offset)
    info = x.T @ (x * (w * mu / (1 + alpha * mu))[:, None])
    return beta, info


def fit_negative_binomial(rows: pd.DataFrame, x: pd.DataFrame, start, confidence: float = 0.95):
    """NB2 maximum likelihood on weighted rows (quadrature nodes of cells, or identical patients):
    profile over alpha (module doc)."""
    y = rows[OUTCOME].to_numpy(dtype=float)
    w = rows["weight"].to_numpy(dtype=float) if "weight" in rows else np.ones(len(rows))
    offset = np.log(rows[EXPOSURE].to_numpy(dtype=float))
    xm = x.to_numpy(dtype=float)
    state = {"start": np.asarray(start, dtype=float)}
    cache: dict[float, tuple[float, np.ndarray, np.ndarray]] = {}

    def fit_at(alpha: float):
        if alpha not in cache:
            beta, info = nb2_irls(y, xm, offset, w, alpha, state["start"])
            state["start"] = beta
            cache[alpha] = (nb2_loglik(y, np.exp(xm @ beta + offset), alpha, w), beta, info)
        return cache[alpha]

    lo, hi = np.log(ALPHA_BOUNDS[0]), np.log(ALPHA_BOUNDS[1])
    opt = optimize.minimize_scalar(
        lambda t: -fit_at(float(np.exp(t)))[0], bounds=(lo, hi), method="bounded", options={"xatol": 1e-7}
    )
    # The bounded search stops within 1e-7 on log(alpha), where the log-likelihood is flat to
    # rounding; the root of the profile score then pins alpha to ~1e-12, so the estimate does not
    # depend on the search path (nor on how the rows were summed by one engine or another).
    t_hat = float(opt.x)

    def score(t: float) -> float:
        alpha_t = float(np.exp(t))
        beta = fit_at(alpha_t)[1]
        return nb2_score_log_alpha(y, np.exp(xm @ beta + offset), alpha_t, w)

    step = 1e-4
    lo_t, hi_t = max(lo, t_hat - step), min(hi, t_hat + step)
    if lo < lo_t and hi_t < hi and score(lo_t) > 0 > score(hi_t):
        t_hat = float(optimize.brentq(score, lo_t, hi_t, xtol=1e-13, rtol=1e-15))
    alpha = float(np.exp(t_hat))
    ll_max = fit_at(alpha)[0]
    # Profile-likelihood interval: logL(alpha) = logL_max - chi2_1(conf) / 2.
    drop = stats.chi2.ppf(confidence, 1) / 2

    def gap(t: float) -> float:
        return fit_at(float(np.exp(t)))[0] - (ll_max - drop)

    lower = 0.0 if gap(lo) > 0 else float(np.exp(optimize.brentq(gap, lo, t_hat, xtol=1e-9)))
    upper = np.inf if gap(hi) > 0 else float(np.exp(optimize.brentq(gap, t_hat, hi, xtol=1e-9)))
    ll_max, beta, info = fit_at(alpha)
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    names = list(x.columns)
    result = GlmResult(
        params=pd.Series(beta, index=names),
        bse=pd.Series(se, index=names),
        pvalues=pd.Series(2 * stats.norm.sf(np.abs(beta / se)), index=names),
    )
    return NegativeBinomialFit(result, alpha, (lower, float(upper)), ll_max)


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


COLUMNS = [
    "model_name",
    "model_family",
    "term",
    "level",
    "reference_level",
    "estimate",
    "std_error",
    "irr",
    "ci_lower",
    "ci_upper",
    "p_value",
    "is_primary",
    "estimate_status",
    "model_question",
    "covariates",
    "model_population",
    "n",
    "events",
    "person_years",
    "poisson_dispersion",
    "dispersion",
    "log_likelihood",
    "aic",
    "poisson_aic",
    "negative_binomial_aic",
    "alpha",
    "alpha_ci_lower",
    "alpha_ci_upper",
    "lr_statistic",
    "lr_p_value",
    "lr_test_level",
    "chosen_family",
]
TEXT_COLUMNS = (
    "model_name",
    "model_family",
    "term",
    "level",
    "reference_level",
    "estimate_status",
    "model_question",
    "covariates",
    "model_population",
    "chosen_family",
)
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
