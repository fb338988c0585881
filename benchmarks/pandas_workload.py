"""The yardstick for the warehouse's speed: the script a user would otherwise write, in plain pandas.

Reads the asthma extracts of one folder (CSV or Parquet, as generated), counts each patient's
asthma GP contacts, SABA and other prescriptions, outpatient attendances and emergency asthma
admissions in the baseline and follow-up windows, fits k-means on the baseline rates (k from
cluster_k_min to cluster_k_max, chosen by silhouette on a sample) and a patient-level Poisson GLM
of follow-up emergency admissions on deprivation, ethnicity, age band and sex with a log
person-years offset. Study dates and cluster settings come from dbt_project.yml, as the
warehouse reads them. Prints one line of figures; asserts nothing.

Usage: python benchmarks/pandas_workload.py RAW_DIR
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
import yaml
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds" / "reference"


def read(raw: Path, name: str, dates: list[str]) -> pd.DataFrame:
    parquet = raw / f"{name}.parquet"
    if parquet.exists():
        df = pd.read_parquet(parquet)
        for c in dates:
            df[c] = pd.to_datetime(df[c], errors="coerce")
        return df
    return pd.read_csv(raw / f"{name}.csv", parse_dates=dates)


def per_patient(events: pd.DataFrame, date_col: str, windows: dict[str, tuple], prefix: str) -> pd.DataFrame:
    out = {}
    for window, (start, end) in windows.items():
        inside = events[(events[date_col] >= start) & (events[date_col] <= end)]
        out[f"{window}_{prefix}"] = inside.groupby("patient_id").size()
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path)
    raw = parser.parse_args(argv).raw_dir
    if not (raw / "patients.csv").exists() and not (raw / "patients.parquet").exists():
        parser.error(f"no patients extract in {raw}")
    config = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    start, follow, end = (pd.Timestamp(config[k]) for k in ("study_start", "followup_start", "study_end"))
    windows = {"baseline": (start, follow - pd.Timedelta(days=1)), "followup": (follow, end)}
    t0 = time.perf_counter()

    patients = read(raw, "patients", ["date_of_birth", "registration_start_date", "registration_end_date"])
    gp = read(raw, "gp_events", ["event_date"])
    rx = read(raw, "prescriptions", ["issue_date"])
    adm = read(raw, "hospital_admissions", ["admission_date", "discharge_date"])
    opa = read(raw, "outpatient_appointments", ["appointment_date"])
    rows = sum(len(x) for x in (patients, gp, rx, adm, opa))
    t_read = time.perf_counter() - t0

    # Code lists from the warehouse's own reference seeds, as a user with the project would.
    medicines = pd.read_csv(SEEDS / "ref_bnf_asthma_medicines.csv", dtype=str)
    icd10 = pd.read_csv(SEEDS / "ref_asthma_icd10_codes.csv", dtype=str)
    saba = rx[
        rx.bnf_code.astype(str).str[:9].isin(medicines.loc[medicines.medicine_class == "SABA", "bnf_chemical_code"])
    ]
    asthma_codes = set(icd10.icd10_code) | set(icd10.icd10_code_hes)
    emergency = adm[(adm.admission_method == "emergency") & adm.primary_diagnosis.astype(str).isin(asthma_codes)]
    attended = opa[opa.attendance == "Attended"]
    counts = pd.concat(
        [
            per_patient(gp, "event_date", windows, "gp_events"),
            per_patient(rx, "issue_date", windows, "prescriptions"),
            per_patient(saba, "issue_date", windows, "saba"),
            per_patient(attended, "appointment_date", windows, "outpatient"),
            per_patient(emergency, "admission_date", windows, "emergency_admissions"),
        ],
        axis=1,
    )
    p = patients.set_index("patient_id").join(counts).fillna({c: 0 for c in counts.columns})
    reg_start = p.registration_start_date.clip(lower=start)
    reg_end = p.registration_end_date.fillna(end).clip(upper=end)
    p["baseline_years"] = ((reg_end.clip(upper=windows["baseline"][1]) - reg_start).dt.days + 1).clip(lower=0) / 365.25
    p["followup_years"] = ((reg_end - reg_start.clip(lower=follow)).dt.days + 1).clip(lower=0) / 365.25
    t_counts = time.perf_counter() - t0 - t_read

    # k-means on the baseline rates of patients with baseline person-time, k chosen by silhouette.
    base = p[p.baseline_years > 0]
    features = [c for c in counts.columns if c.startswith("baseline_")]
    x = base[features].to_numpy(float) / base.baseline_years.to_numpy()[:, None]
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1)
    rng = np.random.default_rng(int(config["cluster_random_state"]))
    sample = rng.choice(len(x), size=min(len(x), 5_000), replace=False)
    best = None
    for k in range(int(config["cluster_k_min"]), int(config["cluster_k_max"]) + 1):
        km = KMeans(n_clusters=k, n_init=10, random_state=int(config["cluster_random_state"])).fit(x)
        score = silhouette_score(x[sample], km.labels_[sample])
        if best is None or score > best[0]:
            best = (score, k, km)
    t_kmeans = time.perf_counter() - t0 - t_read - t_counts

    # Patient-level Poisson GLM with an offset.
    fu = p[p.followup_years > 0].copy()
    quintiles = pd.read_csv(SEEDS / "ref_imd_quintiles.csv")
    bands = pd.read_csv(SEEDS / "ref_analysis_age_bands.csv").sort_values("band_order")
    fu["imd_quintile"] = pd.cut(
        fu.imd_decile.astype(int), [0, *quintiles.imd_decile_upper], labels=quintiles.imd_quintile
    ).astype(str)
    age = ((follow - fu.date_of_birth).dt.days / 365.25).astype(int)
    fu["age_band"] = pd.cut(age, [-1, *bands.age_upper.fillna(200)], labels=bands.age_band).astype(str)
    design = pd.get_dummies(fu[["imd_quintile", "ethnic_category", "age_band", "sex"]].astype(str), drop_first=True)
    design = sm.add_constant(design.astype(float))
    fit = sm.GLM(
        fu.followup_emergency_admissions.to_numpy(float),
        design,
        family=sm.families.Poisson(),
        offset=np.log(fu.followup_years.to_numpy()),
    ).fit()
    t_glm = time.perf_counter() - t0 - t_read - t_counts - t_kmeans
    total = time.perf_counter() - t0
    print(
        f"rows={rows} read={t_read:.1f} counts={t_counts:.1f} kmeans={t_kmeans:.1f} (k={best[1]}) "
        f"glm={t_glm:.1f} ({len(fit.params)} parameters) total={total:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
