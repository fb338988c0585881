"""U.S. hospital extracts in the exact real layouts (dbt doc block cms_file_layouts), with planted truth.

* ``Hospital_General_Information.csv``: the 38-column CMS file (quoted header, unquoted values,
  "Not Available" strings, footnote codes, alphanumeric VA/DoD ids).
* ``Complications_and_Deaths-Hospital.csv``: one row per hospital x measure (19 measures).
* ``ACSDT5Y.B19013-Data.csv``: ACS 5-year median household income by ZCTA, data.census.gov
  layout with every value quoted and a trailing empty column.

Each hospital's latent clinical risk (higher = worse, unit variance noise) is
``INCOME_SLOPE * (log(income) - log(NATIONAL_MEDIAN)) + type effect + state effect + u``;
group better/worse counts and measure scores derive from it, linearly for the scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from faker import Faker

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


def _states():
    rows = reference.load("ref_us_states")
    pop = np.array([float(r["population_2020"]) for r in rows])
    return rows, pop


def generate(rng: np.random.Generator, seed: int, n_hospitals: int) -> tuple[dict[str, list[list[str]]], dict, dict]:
    """Return ({file: rows of strings}, truth, per-hospital planted values)."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    cities = np.array(sorted({fake.city().upper() for _ in range(1500)}))
    streets = np.array([fake.street_address().upper() for _ in range(3000)])
    counties = np.array(sorted({fake.last_name().upper() for _ in range(600)}))

    states, pop = _states()
    n_states = len(states)
    state_income = rng.normal(0, INCOME_LOG_SD_STATE, n_states)
    state_effect = rng.normal(0, STATE_EFFECT_SD, n_states)

    # ACS ZCTAs, per state by population ---------------------------------------------------------
    n_zcta = max(1500, round(REAL_ZCTAS * n_hospitals / DEFAULT_HOSPITALS))
    share = pop / pop.sum()
    per_state = np.maximum(3, np.round(share * n_zcta)).astype(int)
    used: set[str] = set()
    zcta_of: dict[int, list[str]] = {}
    spare: list[list[str]] = [[] for _ in states]
    ranges = [(int(r["zip3_lower"]), int(r["zip3_upper"])) for r in states]
    # Territories share three-digit prefixes with states (006-009, 967, 969). The narrowest
    # ranges pick first, and each state leaves MIN_ZCTAS_PER_STATE codes for every state after it
    # in its range, so no state ends with no ZCTA however many hospitals are asked for.
    order = sorted(range(len(states)), key=lambda i: (ranges[i][1] - ranges[i][0], i))
    for pos, s in enumerate(order):
        lo, hi = ranges[s]
        later = sum(1 for t in order[pos + 1 :] if ranges[t][0] <= hi and lo <= ranges[t][1])
        space = np.arange(lo * 100, (hi + 1) * 100)
        space = np.array([z for z in space[space % 100 != 0] if f"{z:05d}" not in used])
        room = space.size - MIN_ZCTAS_PER_STATE * later
        size = min(room, per_state[s] + max(2, per_state[s] // 5))
        pick = [f"{z:05d}" for z in rng.choice(space, size=size, replace=False)]
        used.update(pick)
        zcta_of[s] = pick[: per_state[s]]
        spare[s] = pick[per_state[s] :]  # ZIPs in the state with no ZCTA (PO boxes, firms)
    zcta = np.array([z for s in range(len(states)) for z in zcta_of[s]])
    zcta_state = np.array([s for s in range(len(states)) for _ in zcta_of[s]])
    log_income = np.log(NATIONAL_MEDIAN) + state_income[zcta_state] + rng.normal(0, INCOME_LOG_SD_WITHIN, zcta.size)
    # Incomes beyond the ACS coding bounds are published as "250,000+" / "2,500-": the bound is
    # what anyone can know, so it is what the planted relation uses too.
    income = np.clip(np.round(np.exp(log_income), 0), 2_500, 250_000)
    not_computable = rng.random(zcta.size) < P_NOT_COMPUTABLE

    acs_rows = [[*ACS_HEADER, ""]]
    for z, inc, nc in zip(zcta.tolist(), income.tolist(), not_computable.tolist()):
        if nc:
            e, ea, m, ma = "-", "-", "**", "**"
        elif inc >= 250_000:
            e, ea, m, ma = "250,000+", "250,000+", "***", "***"
        elif inc <= 2_500:
            e, ea, m, ma = "2,500-", "2,500-", "***", "***"
        else:
            e, ea, m, ma = str(int(inc)), "null", str(int(round(inc * rng.uniform(0.05, 0.3), -1))), "null"
        acs_rows.append([f"8600000US{z}", f"ZCTA5 {z}", e, ea, m, ma, ""])

    # Hospitals ----------------------------------------------------------------------------------
    types = reference.load("ref_cms_hospital_types")
    type_names = np.array([t["hospital_type"] for t in types])
    type_n = np.array([float(t["hospitals_in_cms_file"]) for t in types])
    type_missing = {t["hospital_type"]: float(t["rating_missing_share"]) for t in types}
    htype = type_names[rng.choice(type_names.size, n_hospitals, p=type_n / type_n.sum())]
    h_state = rng.choice(n_states, n_hospitals, p=pop**0.85 / (pop**0.85).sum())
    # Hospital ZIPs: mostly a ZCTA of the state (computable income or not), some with no ZCTA.
    h_zip = np.empty(n_hospitals, dtype=object)
    no_zcta = rng.random(n_hospitals) < P_ZIP_WITHOUT_ZCTA
    zcta_set = set(zcta.tolist())
    for s in range(n_states):
        m = np.flatnonzero(h_state == s)
        pool = zcta[zcta_state == s]
        if m.size == 0:
            continue
        h_zip[m] = rng.choice(pool, m.size)
        sp = [z for z in spare[s] if z not in zcta_set]
        for i in m[no_zcta[m]]:
            if sp:
                h_zip[i] = sp[rng.integers(len(sp))]
            else:
                no_zcta[i] = False
    known = ~not_computable
    zip_income = dict(zip(zcta[known].tolist(), income[known].tolist()))
    # Where a hospital's ZIP has no computable ZCTA income, the income it faces is the median over
    # the computable ZCTAs sharing its first three digits (the warehouse's documented fallback),
    # else the state's median.
    zip3 = pd.Series(income[known]).groupby(pd.Series(zcta[known]).str[:3]).median().to_dict()
    h_income = np.array([zip_income.get(z, zip3.get(z[:3], np.nan)) for z in h_zip])
    h_log_income = np.where(np.isnan(h_income), np.log(NATIONAL_MEDIAN) + state_income[h_state], np.log(h_income))
    latent = (
        INCOME_SLOPE * (h_log_income - np.log(NATIONAL_MEDIAN))
        + np.array([TYPE_EFFECT[t] for t in htype])
        + state_effect[h_state]
        + rng.normal(0, 1, n_hospitals)
    )

    # Facility ids: CMS state code + a number in the type's own range (first, last); VA/DoD end
    # in "F". The ranges do not overlap, so ids are unique up to MAX_HOSPITALS.
    id_range = {
        "Acute Care Hospitals": (1, 1299),
        "Critical Access Hospitals": (1300, 1989),
        "Long-term": (2000, 2299),
        "Rural Emergency Hospital": (3100, 3299),
        "Childrens": (3300, 3999),
        "Psychiatric": (4000, 9999),
        "Acute Care - Veterans Administration": (10, 499),
        "Acute Care - Department of Defense": (500, 999),
    }
    counters: dict[tuple[int, str], int] = {}
    ids = []
    for s, t in zip(h_state.tolist(), htype.tolist()):
        k = counters.get((s, t), 0)
        counters[(s, t)] = k + 1
        first, last = id_range[t]
        if first + k > last:
            raise ValueError(
                f"{n_hospitals} hospitals give {states[s]['state_code']} more {t} than its facility id "
                f"range {first}-{last} holds; use at most {MAX_HOSPITALS} hospitals"
            )
        code = states[s]["cms_state_code"]
        if t in ("Acute Care - Veterans Administration", "Acute Care - Department of Defense"):
            ids.append(f"{code}{first + k:03d}F")
        else:
            ids.append(f"{code}{first + k:04d}")
    ids = np.array(ids)

    suffix = np.array(
        [
            "MEDICAL CENTER",
            "REGIONAL MEDICAL CENTER",
            "GENERAL HOSPITAL",
            "COMMUNITY HOSPITAL",
            "MEMORIAL HOSPITAL",
            "HEALTH SYSTEM",
        ]
    )
    city = cities[rng.integers(0, cities.size, n_hospitals)]
    name = []
    for c, t, sfx in zip(city.tolist(), htype.tolist(), suffix[rng.integers(0, suffix.size, n_hospitals)].tolist()):
        if t == "Acute Care - Veterans Administration":
            name.append(f"VA {c} HEALTHCARE SYSTEM")
        elif t == "Acute Care - Department of Defense":
            name.append(f"{c} ARMY COMMUNITY HOSPITAL")
        elif t == "Psychiatric":
            name.append(f"{c} BEHAVIORAL HEALTH HOSPITAL")
        elif t == "Childrens":
            name.append(f"{c} CHILDREN'S HOSPITAL")
        elif t == "Long-term":
            name.append(f"{c} SPECIALTY HOSPITAL")
        else:
            name.append(f"{c} {sfx}")
    phone = [
        f"({a}) {b}-{c:04d}"
        for a, b, c in zip(
            rng.integers(201, 990, n_hospitals).tolist(),
            rng.integers(200, 999, n_hospitals).tolist(),
            rng.integers(0, 10000, n_hospitals).tolist(),
        )
    ]
    address = streets[rng.integers(0, streets.size, n_hospitals)]
    county = counties[rng.integers(0, counties.size, n_hospitals)]

    ownership = []
    for t in htype.tolist():
        if t == "Acute Care - Veterans Administration":
            ownership.append("Veterans Health Administration")
        elif t == "Acute Care - Department of Defense":
            ownership.append("Department of Defense")
        elif t == "Psychiatric":
            ownership.append(str(rng.choice(OWNERSHIP_PSYCH[0], p=OWNERSHIP_PSYCH[1])))
        else:
            ownership.append(str(rng.choice(OWNERSHIP_GENERAL[0], p=OWNERSHIP_GENERAL[1])))
    emergency = np.where(rng.random(n_hospitals) < np.array([EMERGENCY_SHARE[t] for t in htype]), "Yes", "No")
    birthing = np.where((htype == "Acute Care Hospitals") & (rng.random(n_hospitals) < 0.35), "Y", "")

    # Star ratings: missing by type; among the rated, stars by latent-risk quantile.
    rated = rng.random(n_hospitals) >= np.array([type_missing[t] for t in htype])
    stars = np.zeros(n_hospitals, dtype=int)
    if rated.any():
        order = np.argsort(latent[rated] + rng.normal(0, 0.5, rated.sum()))
        cuts = np.round(np.cumsum(STAR_SHARES) * rated.sum()).astype(int)
        s_of_rank = 5 - np.searchsorted(cuts, np.arange(rated.sum()), side="right")
        tmp = np.empty(rated.sum(), dtype=int)
        tmp[order] = s_of_rank
        stars[rated] = tmp
    rating_footnote = np.where(
        htype == "Acute Care - Department of Defense", "22", np.where(np.isin(htype, list(GROUP_P_REPORT)), "16", "19")
    )

    gi_rows = [HEADER]
    for i in range(n_hospitals):
        t = htype[i]
        row = [
            ids[i],
            name[i],
            address[i],
            city[i],
            states[h_state[i]]["state_code"],
            h_zip[i],
            county[i],
            phone[i],
            t,
            ownership[i],
            emergency[i],
            birthing[i],
            str(stars[i]) if rated[i] else NA,
            "" if rated[i] else rating_footnote[i],
        ]
        p_rep = GROUP_P_REPORT.get(t, 0.0)
        for _g, total in GROUPS:
            if p_rep == 0:
                row += [NA, NA, NA, NA, NA, "19"]
                continue
            facility = rng.binomial(total, p_rep)
            if facility == 0:
                row += [str(total), NA, NA, NA, NA, "5"]
                continue
            p_worse = 1 / (1 + np.exp(-(-2.6 + 0.9 * latent[i])))
            p_better = 1 / (1 + np.exp(-(-2.6 - 0.9 * latent[i])))
            worse, better, same = rng.multinomial(facility, [p_worse, p_better, 1 - p_worse - p_better])
            row += [str(total), str(facility), str(better), str(same), str(worse), ""]
        for total in (15, 10):
            if p_rep == 0:
                row += [NA, NA, "19"]
            else:
                row += [str(total), str(rng.binomial(total, p_rep)), ""]
        gi_rows.append(row)

    # Complications and Deaths -----------------------------------------------------------------
    cd_rows = [CD_HEADER]
    start_mort, end = "07/01/2020", "06/30/2023"
    start_psi = "07/01/2021"
    for i in range(n_hospitals):
        t = htype[i]
        p_rep = REPORTS_MEASURES.get(t, 0.0)
        base = [ids[i], name[i], address[i], city[i], states[h_state[i]]["state_code"], h_zip[i], county[i], phone[i]]
        for mid, (mname, rate) in MEASURES.items():
            start = start_psi if mid.startswith("PSI") else start_mort
            if rng.random() >= p_rep:
                cd_rows.append(base + [mid, mname, NA, NA, NA, NA, NA, "5", start, end])
                continue
            denom = int(rng.lognormal(np.log(120 if t == "Acute Care Hospitals" else 30), 0.8))
            if denom < MIN_CASES:
                cd_rows.append(
                    base + [mid, mname, "Number of Cases Too Small", str(denom), NA, NA, NA, "1", start, end]
                )
                continue
            z = MEASURE_LOADING * latent[i] + rng.normal(0, MEASURE_NOISE_SD)
            score = max(rate * (1 + MEASURE_CV * z), rate * 0.05)
            half = rate * 1.6 / np.sqrt(denom)
            lower, upper = max(score - half, 0.0), score + half
            nat = "Value" if mid == "PSI_90" else "Rate"
            if lower > rate:
                comp = f"Worse Than the National {nat}"
            elif upper < rate:
                comp = f"Better Than the National {nat}"
            else:
                comp = f"No Different Than the National {nat}"
            dec = 4 if rate < 1 else 2
            cd_rows.append(
                base
                + [
                    mid,
                    mname,
                    comp,
                    str(denom),
                    f"{score:.{dec}f}",
                    f"{lower:.{dec}f}",
                    f"{upper:.{dec}f}",
                    "",
                    start,
                    end,
                ]
            )

    truth = {
        "income_slope": INCOME_SLOPE,
        "income_slope_description": (
            "latent clinical risk (higher = worse) per unit of log(median household income of the "
            "hospital's ZCTA); latent = slope*(log income - log national median) + type + state + N(0,1)"
        ),
        "national_median_income": NATIONAL_MEDIAN,
        "income_log_sd_state": INCOME_LOG_SD_STATE,
        "income_log_sd_within": INCOME_LOG_SD_WITHIN,
        "type_effect": TYPE_EFFECT,
        "state_effect": {states[s]["state_code"]: float(state_effect[s]) for s in range(n_states)},
        "measure_score_model": {
            "formula": "score = national_rate * (1 + cv * (loading * latent + noise)), noise ~ N(0, noise_sd)",
            "cv": MEASURE_CV,
            "loading": MEASURE_LOADING,
            "noise_sd": MEASURE_NOISE_SD,
            "min_cases": MIN_CASES,
            "national_rates": {k: v[1] for k, v in MEASURES.items()},
        },
        "group_count_model": "P(worse) = logistic(-2.6 + 0.9*latent), P(better) = logistic(-2.6 - 0.9*latent)",
        "n_hospitals": n_hospitals,
        "n_zcta": int(zcta.size),
        "hospitals_with_zip_without_zcta": int(no_zcta.sum()),
    }
    planted = {
        "facility_id": ids.tolist(),
        "latent_risk": latent.round(6).tolist(),
        "zip": h_zip.tolist(),
        "zip_has_zcta": (~no_zcta).tolist(),
    }
    return (
        {
            "Hospital_General_Information": gi_rows,
            "Complications_and_Deaths-Hospital": cd_rows,
            "ACSDT5Y.B19013-Data": acs_rows,
        },
        truth,
        planted,
    )
