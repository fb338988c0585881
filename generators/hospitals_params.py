"""Planted parameters of the U.S. hospital extracts and the fixed parts of their real layouts.

Sizes, the income and risk model's coefficients, the measures and their reporting shares, the
CMS and Census file headers and the naming and id conventions of CMS hospitals. The model is
described in generators.hospitals, which writes the planted values to truth.json.
"""

from __future__ import annotations

import numpy as np

from generators import reference

DEFAULT_HOSPITALS = 5432
# Largest --hospitals: facility ids stay unique within each CMS type's number range (the acute
# range 0001-1299 of the most populous state is the first to fill, near 24,000 hospitals).
MAX_HOSPITALS = 20_000
MIN_ZCTAS_PER_STATE = 3
REAL_ZCTAS = 33_120
NATIONAL_MEDIAN = 57_849.0  # median of ZCTA medians, ACS 2016-20
INCOME_LOG_SD_STATE = 0.12
INCOME_LOG_SD_WITHIN = 0.36
P_NOT_COMPUTABLE = 0.08
P_ZIP_WITHOUT_ZCTA = 0.03
INCOME_SLOPE = -0.60  # latent risk per unit of log(median household income)
STATE_EFFECT_SD = 0.30
TYPE_EFFECT = {
    "Acute Care Hospitals": 0.0,
    "Critical Access Hospitals": 0.25,
    "Psychiatric": 0.0,
    "Acute Care - Veterans Administration": -0.10,
    "Childrens": -0.30,
    "Rural Emergency Hospital": 0.30,
    "Acute Care - Department of Defense": 0.0,
    "Long-term": 0.0,
}
# Measures and national rates (July 2024): the reference seed the warehouse reads.
MEASURES = {
    r["measure_id"]: (r["measure_name"], float(r["national_rate"]))
    for r in reference.load("ref_cms_complication_measures")
}
MEASURE_CV = 0.10  # score = rate * (1 + CV * (LOADING * latent + noise))
MEASURE_LOADING = 1.0
MEASURE_NOISE_SD = 1.0
MIN_CASES = 25
REPORTS_MEASURES = {  # share of hospitals of a type with data, per measure family
    "Acute Care Hospitals": 0.95,
    "Critical Access Hospitals": 0.45,
    "Acute Care - Veterans Administration": 0.9,
    "Acute Care - Department of Defense": 0.6,
}
GROUPS = [("MORT", 8), ("Safety", 8), ("READM", 11)]
GROUP_P_REPORT = {
    "Acute Care Hospitals": 0.85,
    "Critical Access Hospitals": 0.35,
    "Acute Care - Veterans Administration": 0.8,
    "Acute Care - Department of Defense": 0.5,
}
STAR_SHARES = [0.080, 0.226, 0.327, 0.267, 0.101]

HEADER = [
    "Facility ID", "Facility Name", "Address", "City/Town", "State", "ZIP Code", "County/Parish",
    "Telephone Number", "Hospital Type", "Hospital Ownership", "Emergency Services",
    "Meets criteria for birthing friendly designation", "Hospital overall rating",
    "Hospital overall rating footnote",
    "MORT Group Measure Count", "Count of Facility MORT Measures", "Count of MORT Measures Better",
    "Count of MORT Measures No Different", "Count of MORT Measures Worse", "MORT Group Footnote",
    "Safety Group Measure Count", "Count of Facility Safety Measures", "Count of Safety Measures Better",
    "Count of Safety Measures No Different", "Count of Safety Measures Worse", "Safety Group Footnote",
    "READM Group Measure Count", "Count of Facility READM Measures", "Count of READM Measures Better",
    "Count of READM Measures No Different", "Count of READM Measures Worse", "READM Group Footnote",
    "Pt Exp Group Measure Count", "Count of Facility Pt Exp Measures", "Pt Exp Group Footnote",
    "TE Group Measure Count", "Count of Facility TE Measures", "TE Group Footnote",
]  # fmt: skip
CD_HEADER = [
    "Facility ID", "Facility Name", "Address", "City/Town", "State", "ZIP Code", "County/Parish",
    "Telephone Number", "Measure ID", "Measure Name", "Compared to National", "Denominator", "Score",
    "Lower Estimate", "Higher Estimate", "Footnote", "Start Date", "End Date",
]  # fmt: skip
ACS_HEADER = ["GEO_ID", "NAME", "B19013_001E", "B19013_001EA", "B19013_001M", "B19013_001MA"]
NA = "Not Available"

OWNERSHIP_GENERAL = (
    ["Voluntary non-profit - Private", "Proprietary", "Government - Hospital District or Authority",
     "Government - Local", "Voluntary non-profit - Church", "Voluntary non-profit - Other",
     "Government - State", "Physician", "Tribal"],
    [0.45, 0.20, 0.10, 0.09, 0.07, 0.05, 0.02, 0.01, 0.01],
)  # fmt: skip
OWNERSHIP_PSYCH = (["Proprietary", "Government - State", "Voluntary non-profit - Private"], [0.5, 0.25, 0.25])
EMERGENCY_SHARE = {
    "Acute Care Hospitals": 0.95, "Critical Access Hospitals": 0.97, "Psychiatric": 0.10,
    "Acute Care - Veterans Administration": 0.80, "Childrens": 0.85, "Rural Emergency Hospital": 1.0,
    "Acute Care - Department of Defense": 0.80, "Long-term": 0.0,
}  # fmt: skip


# Facility ids: CMS state code + a number in the type's own range (first, last); federal hospitals
# (VA, DoD) end in "F". The ranges do not overlap, so ids are unique up to MAX_HOSPITALS.
ID_RANGE = {
    "Acute Care Hospitals": (1, 1299),
    "Critical Access Hospitals": (1300, 1989),
    "Long-term": (2000, 2299),
    "Rural Emergency Hospital": (3100, 3299),
    "Childrens": (3300, 3999),
    "Psychiatric": (4000, 9999),
    "Acute Care - Veterans Administration": (10, 499),
    "Acute Care - Department of Defense": (500, 999),
}
FEDERAL_OWNER = {
    "Acute Care - Veterans Administration": "Veterans Health Administration",
    "Acute Care - Department of Defense": "Department of Defense",
}
NAME_SUFFIXES = np.array(
    ["MEDICAL CENTER", "REGIONAL MEDICAL CENTER", "GENERAL HOSPITAL", "COMMUNITY HOSPITAL", "MEMORIAL HOSPITAL",
     "HEALTH SYSTEM"]
)  # fmt: skip
NAME_BY_TYPE = {  # any other type: "{city} {suffix}"
    "Acute Care - Veterans Administration": "VA {city} HEALTHCARE SYSTEM",
    "Acute Care - Department of Defense": "{city} ARMY COMMUNITY HOSPITAL",
    "Psychiatric": "{city} BEHAVIORAL HEALTH HOSPITAL",
    "Childrens": "{city} CHILDREN'S HOSPITAL",
    "Long-term": "{city} SPECIALTY HOSPITAL",
}
MEASURE_PERIOD = {"PSI": "07/01/2021", "MORT": "07/01/2020", "end": "06/30/2023"}  # start by family, end
