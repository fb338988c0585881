"""Planted parameters of the asthma register and the layout of its extracts.

The rate ratios, shares and probabilities the asthma generator draws from (all written to
truth.json by generators.asthma.truth), the columns and Arrow schemas of each extract and the
codes events are given. The model itself is described in generators.asthma.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from generators import reference

# ----------------------------------------------------------------------------------------------
# Planted parameters. Everything in this block is written to truth.json.
# ----------------------------------------------------------------------------------------------
# The study window is the warehouse's own: study_window() reads it from dbt_project.yml.
STUDY_VARS = ("study_start", "followup_start", "study_end")

PHENOTYPES = ["controlled", "reliever-reliant", "high utiliser"]
# Multinomial logit for the phenotype: log-odds against "controlled" at IMD quintile 5, White,
# plus a per-step increase for each quintile more deprived and an ethnicity shift.
PHENOTYPE_INTERCEPT = np.array([0.0, -1.10, -1.75])
PHENOTYPE_PER_IMD_STEP = np.array([0.0, 0.12, 0.18])  # per quintile below 5
PHENOTYPE_ETHNICITY_SHIFT = {  # added to both non-controlled log-odds
    "White": 0.0,
    "Asian/Asian British": 0.25,
    "Black/Black British": 0.20,
    "Mixed/multiple": 0.10,
    "Other ethnic group": 0.05,
    "Not stated or unknown": 0.0,
}

# Exacerbation (and hence emergency asthma admission) rate ratios, conditional on phenotype.
BASE_EXACERBATION_RATE = 0.11  # per person-year: controlled, IMD 5, White, 18-54, male
IRR_PHENOTYPE = {"controlled": 1.0, "reliever-reliant": 4.0, "high utiliser": 6.0}
IRR_IMD = {1: 2.0, 2: 1.70, 3: 1.45, 4: 1.20, 5: 1.0}
IRR_ETHNICITY = {
    "White": 1.0,
    "Asian/Asian British": 1.40,
    "Black/Black British": 1.30,
    "Mixed/multiple": 1.10,
    "Other ethnic group": 1.10,
    "Not stated or unknown": 1.0,
}
# Age bands at the follow-up start; ratios from Bloom et al. 2018 (per 10 PY: 4.27, 1.48, 3.22,
# 9.40) relative to 18-54.
AGE_BANDS = ["0-4", "5-17", "18-54", "55+"]
AGE_BAND_LOWER = np.array([0, 5, 18, 55])
IRR_AGE = {"0-4": 4.27 / 3.22, "5-17": 1.48 / 3.22, "18-54": 1.0, "55+": 9.40 / 3.22}
IRR_SEX = {"M": 1.0, "F": 1.20}
FRAILTY_ALPHA = 0.5  # gamma frailty variance on the exacerbation rate, drawn per window
P_ADMIT_PER_EXACERBATION = 0.12
P_OCS_PER_EXACERBATION = 0.85
P_GP_PER_EXACERBATION = 0.50
P_READMIT_30D = 0.05  # planted probability of an emergency asthma readmission within 30 days
P_TRANSFER = 0.04  # emergency admissions that end in a transfer to another provider
P_DIE_IN_HOSPITAL = 0.25  # of deaths in the window

# Other utilisation, per person-year, by phenotype (controlled, reliever-reliant, high).
RATES_BY_PHENOTYPE = {
    "asthma_review": [1.20, 0.10, 2.50],
    "acute_consultation": [0.05, 4.00, 1.50],
    "other_consultation": [2.0, 2.6, 3.6],
    "saba_canisters": [1.0, 12.0, 6.0],
    "ics_items": [3.0, 0.5, 10.0],
    "ics_laba_items": [0.3, 0.2, 4.0],
    "ltra_items": [0.1, 0.1, 3.0],
    "outpatient": [0.03, 0.05, 2.00],
    "elective_admission": [0.03, 0.03, 0.05],
}
SABA_NB_ALPHA = 0.3  # patient-level gamma heterogeneity of SABA use
P_DNA = 0.10
# September peak (about 11% of a year's admissions), August trough (about 5%): HSCIC 2014.
MONTH_SHARE = np.array([0.090, 0.085, 0.085, 0.080, 0.080, 0.075, 0.070, 0.050, 0.110, 0.095, 0.090, 0.090])
ETHNIC_CATEGORY_SHARE = {
    "A": 0.735, "B": 0.010, "C": 0.060, "D": 0.009, "E": 0.004, "F": 0.006, "G": 0.005,
    "H": 0.031, "J": 0.027, "K": 0.011, "L": 0.016, "M": 0.011, "N": 0.025, "P": 0.005,
    "R": 0.008, "S": 0.016, "Z": 0.015, "99": 0.006,
}  # fmt: skip
N_LSOA = 32_844  # IoD2019, 2011 LSOAs
# Asthma registers skew deprived (decile 1 = most deprived); a share of patients in minority
# ethnic groups (not White, not "Not stated or unknown") live MINORITY_DECILE_SHIFT deciles
# more deprived.
DECILE_P = np.linspace(1.3, 0.7, 10) / np.linspace(1.3, 0.7, 10).sum()
P_MINORITY_DECILE_SHIFT = 0.3
MINORITY_DECILE_SHIFT = 3

# Columns of each asthma extract, in file order. Types follow the names: ids (``*_id``) and the
# counts in INT_COLUMNS are int64, dates (``*_date``, ``date_of_*``) date32, ``bmi`` float64, the
# rest text.
COLUMNS = {
    "patients": (
        "patient_id nhs_number given_name family_name address_line_1 town postcode date_of_birth sex "
        "ethnic_category lsoa_code imd_decile practice_code registration_start_date registration_end_date "
        "date_of_death smoking_status bmi asthma_diagnosis_date asthma_snomed_code"
    ),
    "gp_practices": "practice_code practice_name address_line_1 town postcode",
    "gp_events": "gp_event_id patient_id practice_code event_date snomed_code term",
    "prescriptions": "prescription_id patient_id issue_date bnf_code medicine quantity quantity_unit",
    "hospital_admissions": (
        "admission_id patient_id provider_code admission_date discharge_date admission_method "
        "primary_diagnosis discharge_destination"
    ),
    "outpatient_appointments": (
        "appointment_id patient_id appointment_date treatment_specialty_code treatment_specialty attendance"
    ),
}
INT_COLUMNS = {"imd_decile", "quantity"}


def _column_type(name: str) -> pa.DataType:
    if name.endswith("_id") or name in INT_COLUMNS:
        return pa.int64()
    if name.endswith("_date") or name.startswith("date_of_"):
        return pa.date32()
    return pa.float64() if name == "bmi" else pa.string()


SCHEMAS = {name: pa.schema([(c, _column_type(c)) for c in cols.split()]) for name, cols in COLUMNS.items()}


def _presentations() -> dict[str, list[tuple[str, str, int]]]:
    """Presentations per class from the reference seed the warehouse maps them with."""
    out: dict[str, list[tuple[str, str, int]]] = {}
    for r in reference.load("ref_bnf_asthma_presentations"):
        out.setdefault(r["medicine_class"], []).append(
            (r["bnf_presentation_code"], r["presentation_name"], int(r["quantity_per_item"]))
        )
    return out


SPECIALTIES = [("340", "Respiratory Medicine"), ("420", "Paediatrics"), ("300", "General Internal Medicine")]
ASTHMA_ICD = (["J459", "J450", "J451", "J458", "J46X"], [0.60, 0.15, 0.05, 0.05, 0.15])
OTHER_EMERGENCY_ICD = ["J189", "I219", "J440", "R074", "N390"]
ELECTIVE_ICD = ["K802", "M170", "H251", "N390", "K409"]
