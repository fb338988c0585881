"""U.S. hospital extracts in the exact real layouts (dbt doc block cms_file_layouts), with planted truth.

* ``Hospital_General_Information.csv``: the 38-column CMS file (quoted header, unquoted values,
  "Not Available" strings, footnote codes, alphanumeric VA/DoD ids).
* ``Complications_and_Deaths-Hospital.csv``: one row per hospital x measure (19 measures).
* ``ACSDT5Y.B19013-Data.csv``: ACS 5-year median household income by ZCTA, data.census.gov
  layout with every value quoted and a trailing empty column.

Each hospital's latent clinical risk (higher = worse, unit variance noise) is
``INCOME_SLOPE * (log(income) - log(NATIONAL_MEDIAN)) + type effect + state effect + u``;
group better/worse counts and measure scores derive from it, linearly for the scores.

The parameters and fixed layouts are in generators.hospitals_params and the states, name pools
and ZCTAs in generators.hospitals_geography; this module draws the hospitals, writes their files
and the planted truth, and is what callers import.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from generators import reference
from generators.hospitals_geography import (
    Places,
    Zctas,
    _acs_income,
    _places,
    _states,
    _zctas,
)
from generators.hospitals_params import (
    ACS_HEADER,
    CD_HEADER,
    DEFAULT_HOSPITALS,
    EMERGENCY_SHARE,
    FEDERAL_OWNER,
    GROUP_P_REPORT,
    GROUPS,
    HEADER,
    ID_RANGE,
    INCOME_LOG_SD_STATE,
    INCOME_LOG_SD_WITHIN,
    INCOME_SLOPE,
    MAX_HOSPITALS,
    MEASURE_CV,
    MEASURE_LOADING,
    MEASURE_NOISE_SD,
    MEASURE_PERIOD,
    MEASURES,
    MIN_CASES,
    MIN_ZCTAS_PER_STATE,
    NA,
    NAME_BY_TYPE,
    NAME_SUFFIXES,
    NATIONAL_MEDIAN,
    OWNERSHIP_GENERAL,
    OWNERSHIP_PSYCH,
    P_NOT_COMPUTABLE,
    P_ZIP_WITHOUT_ZCTA,
    REAL_ZCTAS,
    REPORTS_MEASURES,
    STAR_SHARES,
    STATE_EFFECT_SD,
    TYPE_EFFECT,
)

# What callers import from generators.hospitals (the CLI, the tests): its own functions and every
# public name of the modules it was split into.
__all__ = [
    "ACS_HEADER",
    "CD_HEADER",
    "DEFAULT_HOSPITALS",
    "EMERGENCY_SHARE",
    "FEDERAL_OWNER",
    "GROUPS",
    "GROUP_P_REPORT",
    "HEADER",
    "Hospitals",
    "ID_RANGE",
    "INCOME_LOG_SD_STATE",
    "INCOME_LOG_SD_WITHIN",
    "INCOME_SLOPE",
    "MAX_HOSPITALS",
    "MEASURES",
    "MEASURE_CV",
    "MEASURE_LOADING",
    "MEASURE_NOISE_SD",
    "MEASURE_PERIOD",
    "MIN_CASES",
    "MIN_ZCTAS_PER_STATE",
    "NA",
    "NAME_BY_TYPE",
    "NAME_SUFFIXES",
    "NATIONAL_MEDIAN",
    "OWNERSHIP_GENERAL",
    "OWNERSHIP_PSYCH",
    "P_NOT_COMPUTABLE",
    "P_ZIP_WITHOUT_ZCTA",
    "Places",
    "REAL_ZCTAS",
    "REPORTS_MEASURES",
    "STAR_SHARES",
    "STATE_EFFECT_SD",
    "TYPE_EFFECT",
    "Zctas",
    "generate",
]


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
