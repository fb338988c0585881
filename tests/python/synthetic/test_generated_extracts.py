"""Generated extracts: the same seed gives the same bytes, the exact real CMS and Census layouts,
distributions that match published figures, and truth.json (planted parameters and total effects)
agreeing with the files and with what the generator's own draws carry."""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, generate
from scipy import stats

from generators import asthma, hospitals
from health_equity.stats import rates as R

# First line of the real files, byte for byte (as in tests/fixtures/real and the CMS/Census downloads).
CMS_HEADER = (
    '"Facility ID","Facility Name","Address","City/Town","State","ZIP Code","County/Parish",'
    '"Telephone Number","Hospital Type","Hospital Ownership","Emergency Services",'
    '"Meets criteria for birthing friendly designation","Hospital overall rating",'
    '"Hospital overall rating footnote","MORT Group Measure Count","Count of Facility MORT Measures",'
    '"Count of MORT Measures Better","Count of MORT Measures No Different","Count of MORT Measures Worse",'
    '"MORT Group Footnote","Safety Group Measure Count","Count of Facility Safety Measures",'
    '"Count of Safety Measures Better","Count of Safety Measures No Different",'
    '"Count of Safety Measures Worse","Safety Group Footnote","READM Group Measure Count",'
    '"Count of Facility READM Measures","Count of READM Measures Better",'
    '"Count of READM Measures No Different","Count of READM Measures Worse","READM Group Footnote",'
    '"Pt Exp Group Measure Count","Count of Facility Pt Exp Measures","Pt Exp Group Footnote",'
    '"TE Group Measure Count","Count of Facility TE Measures","TE Group Footnote"\n'
)
ACS_HEADER = '"GEO_ID","NAME","B19013_001E","B19013_001EA","B19013_001M","B19013_001MA",\n'
CD_HEADER = (
    '"Facility ID","Facility Name","Address","City/Town","State","ZIP Code","County/Parish",'
    '"Telephone Number","Measure ID","Measure Name","Compared to National","Denominator","Score",'
    '"Lower Estimate","Higher Estimate","Footnote","Start Date","End Date"\n'
)


@pytest.fixture(scope="module")
def default_size(tmp_path_factory):
    """The default hospital count (real ~5,400) and a 20k-patient register, seed 1."""
    out = tmp_path_factory.mktemp("gen_default")
    r = generate(out, "--patients", "20000", "--seed", "1", "--format", "csv", "--quiet")
    assert r.returncode == 0, r.stderr
    return out


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_identical_bytes_another_seed_differs_and_the_manifest_hashes_match(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, "5"), (b, "5"), (c, "6")):
        r = generate(out, "--patients", "1500", "--hospitals", "200", "--seed", seed, "--format", "csv", "--quiet")
        assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in a.iterdir())
    assert "manifest.json" in files and "truth.json" in files
    for name in files:
        assert _sha(a / name) == _sha(b / name), name
    differs = [n for n in files if n.endswith(".csv") and _sha(a / n) != _sha(c / n)]
    assert len(differs) >= 8
    manifest = json.loads((a / "manifest.json").read_text())
    for name, meta in manifest["files"].items():
        assert meta["sha256"] == _sha(a / meta["path"]), name


def test_parquet_is_byte_identical_across_runs_and_has_the_csv_row_counts(tmp_path):
    for out in ("p1", "p2"):
        r = generate(
            tmp_path / out, "--patients", "1500", "--only", "asthma", "--format", "parquet", "--seed", "3", "--quiet"
        )
        assert r.returncode == 0, r.stderr
    r = generate(tmp_path / "c", "--patients", "1500", "--only", "asthma", "--seed", "3", "--format", "csv", "--quiet")
    assert r.returncode == 0
    for name in asthma.SCHEMAS:
        p1, p2 = tmp_path / "p1" / f"{name}.parquet", tmp_path / "p2" / f"{name}.parquet"
        assert _sha(p1) == _sha(p2)
        assert len(pd.read_parquet(p1)) == len(pd.read_csv(tmp_path / "c" / f"{name}.csv"))


def test_cms_and_census_headers_match_the_real_layouts_byte_for_byte(default_size):
    with (default_size / "Hospital_General_Information.csv").open(newline="") as fh:
        assert fh.readline() == CMS_HEADER
        first = fh.readline()
    assert '"' not in first  # values are not quoted in the real file
    assert len(next(csv.reader([first]))) == 38
    with (default_size / "ACSDT5Y.B19013-Data.csv").open(newline="") as fh:
        assert fh.readline() == ACS_HEADER
        row = fh.readline()
    assert row.startswith('"8600000US') and row.endswith('",\n')
    with (default_size / "Complications_and_Deaths-Hospital.csv").open(newline="") as fh:
        assert fh.readline() == CD_HEADER


def test_general_information_ids_zips_type_mix_and_star_ratings_match_the_real_file(default_size):
    gi = pd.read_csv(default_size / "Hospital_General_Information.csv", dtype=str, keep_default_na=False)
    assert len(gi) == hospitals.DEFAULT_HOSPITALS
    assert gi["Facility ID"].str.len().eq(6).all() and gi["Facility ID"].is_unique
    assert gi["ZIP Code"].str.fullmatch(r"\d{5}").all()
    va = gi[gi["Hospital Type"] == "Acute Care - Veterans Administration"]
    assert va["Facility ID"].str.fullmatch(r"\d{5}F").all() and len(va) > 60
    # ZIPs consistent with the state's three-digit prefixes (e.g. leading zeros in New England).
    states = pd.read_csv("seeds/reference/ref_us_states.csv", dtype=str).set_index("state_code")
    z3 = gi["ZIP Code"].str[:3]
    lo, hi = states.loc[gi["State"], "zip3_lower"].to_numpy(), states.loc[gi["State"], "zip3_upper"].to_numpy()
    assert ((z3.to_numpy() >= lo) & (z3.to_numpy() <= hi)).all()
    assert gi["ZIP Code"].str.startswith("0").mean() > 0.02
    assert gi["State"].nunique() >= 54
    # Type mix within 2.5 points of the real shares; rating missing 41-48% as in real releases.
    real = pd.read_csv("seeds/reference/ref_cms_hospital_types.csv").set_index("hospital_type")
    share = gi["Hospital Type"].value_counts(normalize=True)
    expected = real["hospitals_in_cms_file"] / real["hospitals_in_cms_file"].sum()
    assert (share.reindex(expected.index).fillna(0) - expected).abs().max() < 0.025
    missing = (gi["Hospital overall rating"] == "Not Available").mean()
    assert 0.40 <= missing <= 0.50
    stars = gi.loc[gi["Hospital overall rating"] != "Not Available", "Hospital overall rating"].astype(int)
    assert stars.between(1, 5).all() and abs((stars == 3).mean() - 0.327) < 0.03
    assert set(gi["Emergency Services"]) == {"Yes", "No"}
    assert set(gi["Meets criteria for birthing friendly designation"]) <= {"Y", ""}


def test_acs_incomes_center_on_the_real_median_with_coded_values_and_zips_without_zcta(default_size):
    acs = pd.read_csv(default_size / "ACSDT5Y.B19013-Data.csv", dtype=str, keep_default_na=False)
    assert 30_000 <= len(acs) <= 36_000
    e = acs["B19013_001E"]
    assert 0.06 <= (e == "-").mean() <= 0.10
    num = pd.to_numeric(e.str.replace(",", "").str.rstrip("+-"), errors="coerce").dropna()
    assert 50_000 <= num.median() <= 66_000  # real 2016-20: $57,849
    assert 0.25 <= (num < 50_000).mean() <= 0.42 and 0.04 <= (num >= 100_000).mean() <= 0.14
    # Some hospital ZIPs have no ZCTA (PO boxes): the real join problem.
    gi = pd.read_csv(default_size / "Hospital_General_Information.csv", dtype=str)
    zcta = set(acs["GEO_ID"].str[-5:])
    assert 0.01 <= (~gi["ZIP Code"].isin(zcta)).mean() <= 0.06


def test_nhs_numbers_saba_use_admission_gradient_and_seasonality_match_published_rates(default_size):
    p = pd.read_csv(default_size / "patients.csv", dtype={"nhs_number": str})
    rx = pd.read_csv(default_size / "prescriptions.csv", dtype={"bnf_code": str})
    adm = pd.read_csv(default_size / "hospital_admissions.csv")
    # NHS numbers: 10 digits, valid modulus-11 check digit, unique.
    digits = p["nhs_number"].str.split("", expand=True).iloc[:, 1:11].astype(int).to_numpy()
    check = (11 - (digits[:, :9] * np.arange(10, 1, -1)).sum(axis=1) % 11) % 11
    assert (check == digits[:, 9]).all() and p["nhs_number"].is_unique
    # SABA >= 3 canisters in the follow-up year: about 38% (SABINA), band 30-46%.
    saba = rx[rx["bnf_code"].str.startswith("0301011") & (rx["issue_date"] >= "2024-01-01")]
    canisters = saba.groupby("patient_id")["quantity"].sum().reindex(p["patient_id"], fill_value=0)
    assert 0.30 <= (canisters >= 3).mean() <= 0.46
    # Above the ~5% of UK patients with more than 12 a year (SABINA I): the planted
    # reliever-reliant phenotype (about a quarter of patients, 12 canisters a year) is what makes
    # it a distinct, recoverable cluster.
    assert 0.03 <= (canisters > 12).mean() <= 0.14
    # Emergency asthma admissions: a few per 100 patient-years, higher in the most deprived.
    em = adm[(adm["admission_method"] == "emergency") & adm["primary_diagnosis"].str.startswith("J4")]
    q = (p.set_index("patient_id")["imd_decile"] + 1) // 2
    per_q = em.groupby(em["patient_id"].map(q)).size() / q.value_counts()
    assert 0.05 <= len(em) / len(p) / 3 * 3 <= 0.30
    assert per_q[1] > per_q[5] * 1.3
    # September peak, August trough.
    month = pd.to_datetime(em["admission_date"]).dt.month.value_counts(normalize=True)
    assert month[9] > month[8] * 1.5


def test_truth_json_phenotypes_irrs_and_latent_risks_match_the_written_files(default_size):
    truth = json.loads((default_size / "truth.json").read_text())
    p = pd.read_csv(default_size / "patients.csv", usecols=["patient_id"])
    phen = truth["asthma"]["patient_phenotype"]
    assert phen["patient_id"] == p["patient_id"].tolist()
    assert set(phen["phenotype"]) == set(truth["asthma"]["phenotypes"]) and truth["asthma"]["n_phenotypes"] == 3
    irr = truth["asthma"]["emergency_admission_irr"]
    assert irr["imd_quintile"]["1"] == asthma.IRR_IMD[1] and irr["imd_quintile"]["5"] == 1.0
    assert irr["phenotype"] == asthma.IRR_PHENOTYPE
    gi = pd.read_csv(default_size / "Hospital_General_Information.csv", dtype=str)
    lat = truth["hospitals"]["hospital_latent_risk"]
    assert lat["facility_id"] == gi["Facility ID"].tolist()
    assert truth["hospitals"]["income_slope"] == hospitals.INCOME_SLOPE < 0
    manifest = json.loads((default_size / "manifest.json").read_text())
    assert manifest["files"]["patients"]["rows"] == len(p) and manifest["faults"] == []


# The `total` model's demographic terms: IMD 1-4, five ethnicity groups, three age bands, sex.
TOTAL_TERMS = 13
# Bonferroni-simultaneous 99.9% intervals over them: a truth the data carry fails with probability
# under 0.1% for a new seed (and the seed below is fixed, so the test is deterministic).
Z_SIMULTANEOUS = float(stats.norm.ppf(1 - 0.001 / (2 * TOTAL_TERMS)))


def _total_model_on_the_generators_draws(seed: int, n_patients: int) -> pd.DataFrame:
    """The `total` model as the warehouse fits it (health_equity.stats.rates, the dbt vars' settings) on
    ``n_patients`` drawn by the generator's own mechanism and counted as the warehouse counts them
    (asthma.simulate_followup; test_asthma_models checks it against a real build): its primary
    family's demographic terms."""
    sim = pd.DataFrame(asthma.simulate_followup(seed, n_patients))
    patients = pd.DataFrame(
        {
            "patient_key": sim.patient_id.astype(str),
            **{c: sim[c] for c in R.DEMOGRAPHIC},
            R.BASELINE: 0,  # a covariate of the cluster models only, which are not fitted here
            R.OUTCOME: sim.followup_emergency_admissions,
            R.EXPOSURE: sim.followup_days / 365.25,
        }
    )
    dbt_vars = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    cfg = R.RateModelConfig(
        lr_test_level=float(dbt_vars["rate_model_lr_test_level"]),
        min_patients=int(dbt_vars["rate_model_min_patients"]),
        reference={k: str(v) for k, v in dbt_vars["rate_ratio_reference"].items()},
    )
    no_clusters = pd.DataFrame({"patient_key": pd.Series(dtype=str), "cluster_id": [], "cluster_label": []})
    rr = R.rate_ratios(patients, no_clusters, cfg)
    total = rr[(rr.model_name == "total") & rr.is_primary & rr.term.isin(R.DEMOGRAPHIC)]
    assert len(total) == TOTAL_TERMS and (total.n == (sim.followup_days > 0).sum()).all()
    return total.reset_index(drop=True)


def test_the_planted_total_effects_are_what_the_generated_data_carry():
    """truth.json's total_effect_irr is what the `total` model estimates from the generator's data.

    1,000,000 patients of a fixed seed, drawn by the generator's own mechanism and fitted by the
    warehouse's code (above). Tolerance from the fit's CIs: every planted IRR within the
    Bonferroni-simultaneous 99.9% interval (|z| < 3.95 for 13 terms). At this size the standard
    error of a log IRR is 0.008 (sex) to 0.03 (small ethnicity groups), 0.018 for IMD 4, so a
    truth off by more than about 7% for IMD 4, 3% for sex, fails; the gap once suspected (IMD
    4 estimated 1.12-1.15 against 1.27 planted, 12%) would give z of about 6.5. The conditional
    (within-phenotype) IRRs are not the total effect and must fail the same test."""
    total = _total_model_on_the_generators_draws(seed=20270, n_patients=1_000_000)
    planted = json.loads(json.dumps(asthma.truth()))["total_effect_irr"]  # as truth.json holds it
    truth = np.array([planted[t][lv] for t, lv in zip(total.term, total.level)])
    z = (np.log(total.irr) - np.log(truth)) / total.std_error
    assert (np.abs(z) < Z_SIMULTANEOUS).all(), total.assign(planted=truth, z=z)
    # The same check has the power to reject a wrong truth: each conditional IMD IRR (2.0, 1.7,
    # 1.45, 1.2; 4% to 20% below the total ones) lies outside its interval.
    conditional = asthma.truth()["emergency_admission_irr"]
    wrong = np.array([float(conditional[t][lv]) for t, lv in zip(total.term, total.level)])
    z_wrong = (np.log(total.irr) - np.log(wrong)) / total.std_error
    assert (np.abs(z_wrong[total.term == "imd_quintile"]) > Z_SIMULTANEOUS).all(), z_wrong


def test_truth_json_holds_the_total_effects_the_generator_computes(default_size):
    truth = json.loads((default_size / "truth.json").read_text())["asthma"]["total_effect_irr"]
    analytic = asthma.total_effect_irr()
    for term in R.DEMOGRAPHIC:
        assert truth[term] == pytest.approx({k: float(v) for k, v in analytic[term].items()}, rel=1e-12), term
    assert truth["reference"] == {"imd_quintile": 5, "ethnicity_group": "White", "age_band": "18-54", "sex": "M"}
    # The model this is the estimand of is fitted on every patient with follow-up person-time.
    assert "every patient with follow-up person-time" in truth["description"]


def test_truth_study_window_is_the_study_vars_of_dbt_project_yml(default_size):
    dbt_vars = yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]
    truth = json.loads((default_size / "truth.json").read_text())["asthma"]
    for var in ("study_start", "followup_start", "study_end"):
        assert truth[var] == dbt_vars[var], var
