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

from dataclasses import dataclass

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


def _states():
    rows = reference.load("ref_us_states")
    pop = np.array([float(r["population_2020"]) for r in rows])
    return rows, pop


@dataclass
class Places:
    """Name pools drawn with Faker (seeded), shared by every hospital."""

    cities: np.ndarray
    streets: np.ndarray
    counties: np.ndarray


def _places(seed: int) -> Places:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    cities = np.array(sorted({fake.city().upper() for _ in range(1500)}))
    streets = np.array([fake.street_address().upper() for _ in range(3000)])
    counties = np.array(sorted({fake.last_name().upper() for _ in range(600)}))
    return Places(cities, streets, counties)


@dataclass
class Zctas:
    """ACS ZCTAs: code, state index, income (clipped to the coding bounds), whether computable, and
    per state the ZIPs with no ZCTA (PO boxes, firms)."""

    zcta: np.ndarray
    state: np.ndarray
    income: np.ndarray
    not_computable: np.ndarray
    spare: list[list[str]]


def _zctas(rng: np.random.Generator, states: list[dict], pop: np.ndarray, state_income, n_hospitals: int) -> Zctas:
    """ZCTAs per state by population, inside each state's three-digit ZIP ranges, with incomes."""
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
        spare[s] = pick[per_state[s] :]
    zcta = np.array([z for s in range(len(states)) for z in zcta_of[s]])
    zcta_state = np.array([s for s in range(len(states)) for _ in zcta_of[s]])
    log_income = np.log(NATIONAL_MEDIAN) + state_income[zcta_state] + rng.normal(0, INCOME_LOG_SD_WITHIN, zcta.size)
    # Incomes beyond the ACS coding bounds are published as "250,000+" / "2,500-": the bound is
    # what anyone can know, so it is what the planted relation uses too.
    income = np.clip(np.round(np.exp(log_income), 0), 2_500, 250_000)
    not_computable = rng.random(zcta.size) < P_NOT_COMPUTABLE
    return Zctas(zcta, zcta_state, income, not_computable, spare)


def _acs_income(rng: np.random.Generator, z: Zctas) -> list[list[str]]:
    """Rows of ACSDT5Y.B19013-Data.csv (header first), with the Census's special values."""
    rows = [[*ACS_HEADER, ""]]
    for code, inc, nc in zip(z.zcta.tolist(), z.income.tolist(), z.not_computable.tolist()):
        if nc:
            e, ea, m, ma = "-", "-", "**", "**"
        elif inc >= 250_000:
            e, ea, m, ma = "250,000+", "250,000+", "***", "***"
        elif inc <= 2_500:
            e, ea, m, ma = "2,500-", "2,500-", "***", "***"
        else:
            e, ea, m, ma = str(int(inc)), "null", str(int(round(inc * rng.uniform(0.05, 0.3), -1))), "null"
        rows.append([f"8600000US{code}", f"ZCTA5 {code}", e, ea, m, ma, ""])
    return rows


@dataclass
class Hospitals:
    """Every hospital: type, state index, ZIP, latent risk and the descriptors both CMS files carry."""

    htype: np.ndarray
    state: np.ndarray
    zip: np.ndarray
    no_zcta: np.ndarray
    latent: np.ndarray
    ids: np.ndarray
    name: list[str]
    city: np.ndarray
    address: np.ndarray
    county: np.ndarray
    phone: list[str]
    state_code: list[str]

    def descriptors(self, i: int) -> list[str]:
        """Facility ID to Telephone Number: the first eight columns of both CMS files."""
        return [
            self.ids[i],
            self.name[i],
            self.address[i],
            self.city[i],
            self.state_code[i],
            self.zip[i],
            self.county[i],
            self.phone[i],
        ]


def _hospital_zips(rng, h_state, z: Zctas, n_hospitals: int) -> tuple[np.ndarray, np.ndarray]:
    """Hospital ZIPs: mostly a ZCTA of the state (computable income or not), some with no ZCTA."""
    h_zip = np.empty(n_hospitals, dtype=object)
    no_zcta = rng.random(n_hospitals) < P_ZIP_WITHOUT_ZCTA
    zcta_set = set(z.zcta.tolist())
    for s in range(len(z.spare)):
        m = np.flatnonzero(h_state == s)
        pool = z.zcta[z.state == s]
        if m.size == 0:
            continue
        h_zip[m] = rng.choice(pool, m.size)
        sp = [code for code in z.spare[s] if code not in zcta_set]
        for i in m[no_zcta[m]]:
            if sp:
                h_zip[i] = sp[rng.integers(len(sp))]
            else:
                no_zcta[i] = False
    return h_zip, no_zcta


def _facility_ids(h_state, htype, states: list[dict], n_hospitals: int) -> np.ndarray:
    counters: dict[tuple[int, str], int] = {}
    ids = []
    for s, t in zip(h_state.tolist(), htype.tolist()):
        k = counters.get((s, t), 0)
        counters[(s, t)] = k + 1
        first, last = ID_RANGE[t]
        if first + k > last:
            raise ValueError(
                f"{n_hospitals} hospitals give {states[s]['state_code']} more {t} than its facility id "
                f"range {first}-{last} holds; use at most {MAX_HOSPITALS} hospitals"
            )
        code = states[s]["cms_state_code"]
        ids.append(f"{code}{first + k:03d}F" if t in FEDERAL_OWNER else f"{code}{first + k:04d}")
    return np.array(ids)


def _hospitals(rng, places: Places, states, pop, state_income, state_effect, z: Zctas, n_hospitals: int) -> Hospitals:
    types = reference.load("ref_cms_hospital_types")
    type_names = np.array([t["hospital_type"] for t in types])
    type_n = np.array([float(t["hospitals_in_cms_file"]) for t in types])
    htype = type_names[rng.choice(type_names.size, n_hospitals, p=type_n / type_n.sum())]
    h_state = rng.choice(len(states), n_hospitals, p=pop**0.85 / (pop**0.85).sum())
    h_zip, no_zcta = _hospital_zips(rng, h_state, z, n_hospitals)
    known = ~z.not_computable
    zip_income = dict(zip(z.zcta[known].tolist(), z.income[known].tolist()))
    # Where a hospital's ZIP has no computable ZCTA income, the income it faces is the median over
    # the computable ZCTAs sharing its first three digits (the warehouse's documented fallback),
    # else the state's median.
    zip3 = pd.Series(z.income[known]).groupby(pd.Series(z.zcta[known]).str[:3]).median().to_dict()
    h_income = np.array([zip_income.get(code, zip3.get(code[:3], np.nan)) for code in h_zip])
    h_log_income = np.where(np.isnan(h_income), np.log(NATIONAL_MEDIAN) + state_income[h_state], np.log(h_income))
    latent = (
        INCOME_SLOPE * (h_log_income - np.log(NATIONAL_MEDIAN))
        + np.array([TYPE_EFFECT[t] for t in htype])
        + state_effect[h_state]
        + rng.normal(0, 1, n_hospitals)
    )
    city = places.cities[rng.integers(0, places.cities.size, n_hospitals)]
    suffix = NAME_SUFFIXES[rng.integers(0, NAME_SUFFIXES.size, n_hospitals)]
    name = [
        NAME_BY_TYPE.get(t, "{city} {suffix}").format(city=c, suffix=sfx)
        for c, t, sfx in zip(city.tolist(), htype.tolist(), suffix.tolist())
    ]
    phone = [
        f"({a}) {b}-{c:04d}"
        for a, b, c in zip(
            rng.integers(201, 990, n_hospitals).tolist(),
            rng.integers(200, 999, n_hospitals).tolist(),
            rng.integers(0, 10000, n_hospitals).tolist(),
        )
    ]
    return Hospitals(
        htype=htype,
        state=h_state,
        zip=h_zip,
        no_zcta=no_zcta,
        latent=latent,
        ids=_facility_ids(h_state, htype, states, n_hospitals),
        name=name,
        city=city,
        address=places.streets[rng.integers(0, places.streets.size, n_hospitals)],
        county=places.counties[rng.integers(0, places.counties.size, n_hospitals)],
        phone=phone,
        state_code=[states[s]["state_code"] for s in h_state.tolist()],
    )


def _star_ratings(rng, h: Hospitals, rated: np.ndarray) -> np.ndarray:
    """Stars 1-5 of the rated hospitals by latent-risk quantile (STAR_SHARES); 0 for the others."""
    stars = np.zeros(h.htype.size, dtype=int)
    if rated.any():
        order = np.argsort(h.latent[rated] + rng.normal(0, 0.5, rated.sum()))
        cuts = np.round(np.cumsum(STAR_SHARES) * rated.sum()).astype(int)
        s_of_rank = 5 - np.searchsorted(cuts, np.arange(rated.sum()), side="right")
        tmp = np.empty(rated.sum(), dtype=int)
        tmp[order] = s_of_rank
        stars[rated] = tmp
    return stars


def _group_counts(rng, hospital_type: str, latent: float) -> list[str]:
    """The MORT, Safety, READM (better / no different / worse counts) and Pt Exp, TE columns."""
    row: list[str] = []
    p_rep = GROUP_P_REPORT.get(hospital_type, 0.0)
    for _g, total in GROUPS:
        if p_rep == 0:
            row += [NA, NA, NA, NA, NA, "19"]
            continue
        facility = rng.binomial(total, p_rep)
        if facility == 0:
            row += [str(total), NA, NA, NA, NA, "5"]
            continue
        p_worse = 1 / (1 + np.exp(-(-2.6 + 0.9 * latent)))
        p_better = 1 / (1 + np.exp(-(-2.6 - 0.9 * latent)))
        worse, better, same = rng.multinomial(facility, [p_worse, p_better, 1 - p_worse - p_better])
        row += [str(total), str(facility), str(better), str(same), str(worse), ""]
    for total in (15, 10):
        if p_rep == 0:
            row += [NA, NA, "19"]
        else:
            row += [str(total), str(rng.binomial(total, p_rep)), ""]
    return row


def _general_information(rng: np.random.Generator, h: Hospitals) -> list[list[str]]:
    """Rows of Hospital_General_Information.csv (header first)."""
    n_hospitals = h.htype.size
    ownership = []
    for t in h.htype.tolist():
        if t in FEDERAL_OWNER:
            ownership.append(FEDERAL_OWNER[t])
        else:
            owners, p = OWNERSHIP_PSYCH if t == "Psychiatric" else OWNERSHIP_GENERAL
            ownership.append(str(rng.choice(owners, p=p)))
    emergency = np.where(rng.random(n_hospitals) < np.array([EMERGENCY_SHARE[t] for t in h.htype]), "Yes", "No")
    birthing = np.where((h.htype == "Acute Care Hospitals") & (rng.random(n_hospitals) < 0.35), "Y", "")
    # Star ratings: missing by type; among the rated, stars by latent-risk quantile.
    types = reference.load("ref_cms_hospital_types")
    type_missing = {t["hospital_type"]: float(t["rating_missing_share"]) for t in types}
    rated = rng.random(n_hospitals) >= np.array([type_missing[t] for t in h.htype])
    stars = _star_ratings(rng, h, rated)
    rating_footnote = np.where(
        h.htype == "Acute Care - Department of Defense",
        "22",
        np.where(np.isin(h.htype, list(GROUP_P_REPORT)), "16", "19"),
    )
    rows = [HEADER]
    for i in range(n_hospitals):
        t = h.htype[i]
        rating = [str(stars[i]), ""] if rated[i] else [NA, rating_footnote[i]]
        counts = _group_counts(rng, t, h.latent[i])
        rows.append([*h.descriptors(i), t, ownership[i], emergency[i], birthing[i], *rating, *counts])
    return rows


def _measure_row(rng, hospital_type: str, latent: float, mid: str, rate: float) -> list[str]:
    """Compared to National, Denominator, Score, Lower and Higher Estimate, Footnote of one measure."""
    if rng.random() >= REPORTS_MEASURES.get(hospital_type, 0.0):
        return [NA, NA, NA, NA, NA, "5"]
    denom = int(rng.lognormal(np.log(120 if hospital_type == "Acute Care Hospitals" else 30), 0.8))
    if denom < MIN_CASES:
        return ["Number of Cases Too Small", str(denom), NA, NA, NA, "1"]
    z = MEASURE_LOADING * latent + rng.normal(0, MEASURE_NOISE_SD)
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
    return [comp, str(denom), f"{score:.{dec}f}", f"{lower:.{dec}f}", f"{upper:.{dec}f}", ""]


def _complications_and_deaths(rng: np.random.Generator, h: Hospitals) -> list[list[str]]:
    """Rows of Complications_and_Deaths-Hospital.csv (header first): one per hospital x measure."""
    rows = [CD_HEADER]
    for i in range(h.htype.size):
        base = h.descriptors(i)
        for mid, (mname, rate) in MEASURES.items():
            start = MEASURE_PERIOD["PSI"] if mid.startswith("PSI") else MEASURE_PERIOD["MORT"]
            values = _measure_row(rng, h.htype[i], h.latent[i], mid, rate)
            rows.append([*base, mid, mname, *values, start, MEASURE_PERIOD["end"]])
    return rows


def _truth(states, state_effect, z: Zctas, h: Hospitals) -> dict:
    return {
        "income_slope": INCOME_SLOPE,
        "income_slope_description": (
            "latent clinical risk (higher = worse) per unit of log(median household income of the "
            "hospital's ZCTA); latent = slope*(log income - log national median) + type + state + N(0,1)"
        ),
        "national_median_income": NATIONAL_MEDIAN,
        "income_log_sd_state": INCOME_LOG_SD_STATE,
        "income_log_sd_within": INCOME_LOG_SD_WITHIN,
        "type_effect": TYPE_EFFECT,
        "state_effect": {states[s]["state_code"]: float(state_effect[s]) for s in range(len(states))},
        "measure_score_model": {
            "formula": "score = national_rate * (1 + cv * (loading * latent + noise)), noise ~ N(0, noise_sd)",
            "cv": MEASURE_CV,
            "loading": MEASURE_LOADING,
            "noise_sd": MEASURE_NOISE_SD,
            "min_cases": MIN_CASES,
            "national_rates": {k: v[1] for k, v in MEASURES.items()},
        },
        "group_count_model": "P(worse) = logistic(-2.6 + 0.9*latent), P(better) = logistic(-2.6 - 0.9*latent)",
        "n_hospitals": int(h.htype.size),
        "n_zcta": int(z.zcta.size),
        "hospitals_with_zip_without_zcta": int(h.no_zcta.sum()),
    }


def generate(rng: np.random.Generator, seed: int, n_hospitals: int) -> tuple[dict[str, list[list[str]]], dict, dict]:
    """Return ({file: rows of strings}, truth, per-hospital planted values).

    Everything is drawn from ``rng`` in this fixed order (it is part of what makes a seed give
    the same bytes): state effects, ZCTAs, the ACS file, hospitals, General Information,
    Complications and Deaths."""
    places = _places(seed)
    states, pop = _states()
    state_income = rng.normal(0, INCOME_LOG_SD_STATE, len(states))
    state_effect = rng.normal(0, STATE_EFFECT_SD, len(states))
    z = _zctas(rng, states, pop, state_income, n_hospitals)
    acs_rows = _acs_income(rng, z)
    h = _hospitals(rng, places, states, pop, state_income, state_effect, z, n_hospitals)
    tables = {
        "Hospital_General_Information": _general_information(rng, h),
        "Complications_and_Deaths-Hospital": _complications_and_deaths(rng, h),
        "ACSDT5Y.B19013-Data": acs_rows,
    }
    planted = {
        "facility_id": h.ids.tolist(),
        "latent_risk": h.latent.round(6).tolist(),
        "zip": h.zip.tolist(),
        "zip_has_zcta": (~h.no_zcta).tolist(),
    }
    return tables, _truth(states, state_effect, z, h), planted
