"""The rows the rate models (health_equity.stats.rates) are fitted from and their design: the
column names; every patient with follow-up person-time joined to their utilisation cluster; the
exact weighted rows (``model_rows``: one row per distinct covariates, counts and follow-up
person-years, ``weight`` = the patients sharing them), the patient-level reference the cells of
int_asthma_rate_model_rows (health_equity.stats.nb_quadrature) are tested against; the levels as
text; the design matrix; and the two reductions of weighted rows the fits use (``collapse`` for
the Poisson, ``unique_rows`` for the negative binomial)."""

from __future__ import annotations

import numpy as np
import pandas as pd

OUTCOME = "followup_emergency_admissions"
EXPOSURE = "followup_person_years"
BASELINE = "baseline_emergency_admissions"
CATEGORICAL = ["cluster", "imd_quintile", "ethnicity_group", "age_band", "sex"]
DEMOGRAPHIC = ["imd_quintile", "ethnicity_group", "age_band", "sex"]
# The columns of the exact weighted rows (``model_rows``), besides ``weight``.
ROW_COLUMNS = [
    "cluster_id",
    "cluster_label",
    *DEMOGRAPHIC,
    BASELINE,
    OUTCOME,
    EXPOSURE,
]
# Weighted rows from quadrature cells (health_equity.stats.nb_quadrature.quadrature_rows) also carry
# their share of the cell's exact sum of log(t) and of 1/t minus what the quadrature nodes give.
LOG_EXCESS = "log_exposure_excess"
INVERSE_EXCESS = "inverse_exposure_excess"


def modelled_patients(patients: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """Every patient with follow-up person-time, with their cluster_id and cluster_label (missing
    for a patient without a cluster)."""
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
    df = modelled_patients(patients, clusters)
    return df.groupby(ROW_COLUMNS, dropna=False, sort=True).size().rename("weight").reset_index()


def levels_as_text(df: pd.DataFrame) -> pd.DataFrame:
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
    return levels_as_text(modelled_patients(patients, clusters).copy()).reset_index(drop=True)


def weights(df: pd.DataFrame) -> np.ndarray:
    """Patients each row stands for: its ``weight`` (weighted model rows), else 1 (one patient)."""
    return df["weight"].to_numpy(dtype=float) if "weight" in df else np.ones(len(df))


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
    w = weights(df)
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
