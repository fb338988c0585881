"""The asthma world: the shared pools (names, addresses, practices, LSOAs) and each chunk's cohort.

``build_pools`` draws once per run what every chunk shares; ``_cohort`` draws one chunk's
patients (demographics, deprivation, phenotype, registration, death) and their exacerbations,
from which generators.asthma_events draws every extract. Also the small date and event helpers
both use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from faker import Faker

from generators import reference
from generators.asthma_params import (
    AGE_BAND_LOWER,
    AGE_BANDS,
    BASE_EXACERBATION_RATE,
    DECILE_P,
    ETHNIC_CATEGORY_SHARE,
    FRAILTY_ALPHA,
    IRR_AGE,
    IRR_ETHNICITY,
    IRR_IMD,
    IRR_PHENOTYPE,
    IRR_SEX,
    MINORITY_DECILE_SHIFT,
    MONTH_SHARE,
    N_LSOA,
    P_MINORITY_DECILE_SHIFT,
    PHENOTYPE_ETHNICITY_SHIFT,
    PHENOTYPE_INTERCEPT,
    PHENOTYPE_PER_IMD_STEP,
    PHENOTYPES,
    RATES_BY_PHENOTYPE,
    STUDY_VARS,
)


# ----------------------------------------------------------------------------------------------
# Pools built once per run with Faker (small) and shared by every chunk.
# ----------------------------------------------------------------------------------------------
@dataclass
class Pools:
    given_f: np.ndarray
    given_m: np.ndarray
    family: np.ndarray
    street: np.ndarray
    town: np.ndarray
    postcode: np.ndarray
    practices: dict[str, np.ndarray]
    lsoa_decile: np.ndarray  # decile of each LSOA index
    providers: np.ndarray
    eth_codes: np.ndarray
    eth_share: np.ndarray
    eth_group: np.ndarray
    snomed_diag: np.ndarray


def build_pools(seed: int, n_practices: int, rng: np.random.Generator) -> Pools:
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    given_f = np.array(sorted({fake.first_name_female() for _ in range(400)}))
    given_m = np.array(sorted({fake.first_name_male() for _ in range(400)}))
    family = np.array(sorted({fake.last_name() for _ in range(800)}))
    street = np.array([fake.street_address().replace("\n", " ") for _ in range(2000)])
    town = np.array([fake.city() for _ in range(300)])
    postcode = np.array([fake.postcode() for _ in range(3000)])
    codes = [f"{chr(65 + i % 26)}{81000 + i:05d}" for i in range(n_practices)]
    suffix = np.array(["Medical Centre", "Surgery", "Health Centre", "Family Practice", "Group Practice"])
    practices = {
        "practice_code": np.array(codes),
        "practice_name": np.array(
            [f"{fake.last_name()} {suffix[rng.integers(len(suffix))]}" for _ in range(n_practices)]
        ),
        "address_line_1": np.array([fake.street_address().replace("\n", " ") for _ in range(n_practices)]),
        "town": np.array([fake.city() for _ in range(n_practices)]),
        "postcode": np.array([fake.postcode() for _ in range(n_practices)]),
    }
    # IoD2019 ranks LSOAs 1..N; decile 1 = most deprived 10%. Shuffle codes against ranks.
    rank = rng.permutation(N_LSOA)
    lsoa_decile = (rank * 10 // N_LSOA + 1).astype(np.int64)
    providers = np.array([f"R{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in rng.choice(26 * 10, 40, replace=False)])
    eth = reference.load("ref_ethnicity_groups")
    eth_codes = np.array([r["ethnic_category_code"] for r in eth])
    eth_share = np.array([ETHNIC_CATEGORY_SHARE[c] for c in eth_codes])
    eth_share = eth_share / eth_share.sum()
    eth_group = np.array([r["ethnicity_group"] for r in eth])
    snomed_diag = np.array(
        reference.column("ref_snomed_asthma_concepts", "snomed_concept_id", concept_group="diagnosis")
    )
    return Pools(
        given_f,
        given_m,
        family,
        street,
        town,
        postcode,
        practices,
        lsoa_decile,
        providers,
        eth_codes,
        eth_share,
        eth_group,
        snomed_diag,
    )


def practices_table(pools: Pools) -> pa.Table:
    return pa.table(pools.practices)


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _day(d: np.datetime64) -> int:
    return int(d.astype("datetime64[D]").astype(np.int64))


def _nhs_numbers(rng: np.random.Generator, patient_index: np.ndarray) -> np.ndarray:
    """10-digit NHS-number-like ids with a valid modulus-11 check digit (never 10).

    Each patient owns a block of 25 nine-digit bodies, so numbers are unique across chunks; a
    random body in the block is stepped forward until its check digit is valid (at most 6 steps,
    since each step moves the weighted sum by 2 modulo 11)."""
    body = 400_000_000 + patient_index.astype(np.int64) * 25 + rng.integers(0, 19, patient_index.size)
    weights = np.arange(10, 1, -1)
    while True:
        digits = (body[:, None] // (10 ** np.arange(8, -1, -1))) % 10
        check = (11 - (digits * weights).sum(axis=1) % 11) % 11
        bad = check == 10
        if not bad.any():
            break
        body[bad] += 1
    return np.char.add(body.astype(str), check.astype(str))


def seasonal_events(rng, rate, start, stop):
    """Seasonal Poisson process per patient over [start, stop) (days), by thinning.

    ``rate`` is per person-year at an average month; returns (patient index, day)."""
    years = np.clip(stop - start, 0, None) / 365.25
    smax = MONTH_SHARE.max() * 12
    n = rng.poisson(rate * years * smax)
    idx = np.repeat(np.arange(rate.size), n)
    day = start[idx] + np.floor(rng.random(idx.size) * (stop - start)[idx]).astype(np.int64)
    month = (day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)) % 12
    keep = rng.random(idx.size) < MONTH_SHARE[month] * 12 / smax
    return idx[keep], day[keep]


def uniform_events(rng, rate, start, stop):
    years = np.clip(stop - start, 0, None) / 365.25
    n = rng.poisson(rate * years)
    idx = np.repeat(np.arange(rate.size), n)
    day = start[idx] + np.floor(rng.random(idx.size) * (stop - start)[idx]).astype(np.int64)
    return idx, day


def _dates(days: np.ndarray) -> pa.Array:
    # A zero-copy view of int32 days; building date32 from numpy directly goes through objects.
    return pa.array(days.astype(np.int32), type=pa.int32()).view(pa.date32())


def _dates_nullable(days: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=missing).view(pa.date32())


class Cat:
    """A string column kept as codes into a few categories until it is written.

    Building Arrow strings from numpy unicode arrays is the slowest step at millions of rows;
    ``take`` on a small Arrow array is not."""

    def __init__(self, categories, codes: np.ndarray):
        self.categories = np.asarray(categories, dtype=object)
        self.codes = np.asarray(codes, dtype=np.int64)

    def __getitem__(self, index) -> Cat:
        return Cat(self.categories, self.codes[index])

    def to_arrow(self) -> pa.Array:
        return pa.array(self.categories.tolist(), type=pa.string()).take(pa.array(self.codes))


@dataclass
class Cohort:
    """One chunk of patients: who they are, when they are observed and their exacerbations.

    Every extract of the chunk is drawn from it."""

    patient_id: np.ndarray
    sex: np.ndarray
    age: np.ndarray
    dob: np.ndarray
    eth_idx: np.ndarray
    decile: np.ndarray
    lsoa_idx: np.ndarray
    imd_q: np.ndarray
    phenotype: np.ndarray
    reg_start: np.ndarray
    leave: np.ndarray
    death: np.ndarray
    has_leave: np.ndarray
    has_death: np.ndarray
    entry: np.ndarray
    exit: np.ndarray  # first day after the patient's observation ends
    diag: np.ndarray
    ex_idx: np.ndarray  # exacerbations: patient index and day
    ex_day: np.ndarray

    @property
    def n(self) -> int:
        return self.patient_id.size

    def rate(self, kind: str) -> np.ndarray:
        """Each patient's RATES_BY_PHENOTYPE[kind] (per person-year)."""
        return np.array(RATES_BY_PHENOTYPE[kind])[self.phenotype]

    def uniform(self, rng: np.random.Generator, kind: str):
        """(patient index, day) of events at rate(kind), uniform over each patient's observation."""
        return uniform_events(rng, self.rate(kind), self.entry, self.exit)


def study_window() -> dict[str, np.datetime64]:
    """Study start, follow-up start and study end (inclusive): the vars study_start,
    followup_start and study_end of dbt_project.yml, which the warehouse reads too."""
    return {var: reference.study_date(var) for var in STUDY_VARS}


def _study_days() -> tuple[int, int, int]:
    """Study start, follow-up start and the day after the study end, as day numbers."""
    start, followup, end = study_window().values()
    return _day(start), _day(followup), _day(end) + 1


def _cohort(rng: np.random.Generator, pools: Pools, first_id: int, n: int) -> Cohort:
    s0, f0, e1 = _study_days()
    patient_id = np.arange(first_id, first_id + n, dtype=np.int64)

    # Demographics ----------------------------------------------------------------------------
    sex = np.where(rng.random(n) < 0.55, "F", "M")
    # Age on the follow-up start: asthma registers hold many children and working-age adults.
    band_p = np.array([0.04, 0.20, 0.50, 0.26])
    band = rng.choice(4, size=n, p=band_p)
    lo = np.array([1, 5, 18, 55])[band]
    hi = np.array([5, 18, 55, 96])[band]
    age = lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64)
    dob = f0 - (age * 365.25 + rng.random(n) * 365).astype(np.int64)
    eth_idx = rng.choice(pools.eth_codes.size, size=n, p=pools.eth_share)
    eth_group = pools.eth_group[eth_idx]
    # Asthma registers skew deprived; minority groups a little more so.
    minority = ~np.isin(eth_group, ["White", "Not stated or unknown"])
    decile = rng.choice(10, size=n, p=DECILE_P) + 1
    shift = minority & (rng.random(n) < P_MINORITY_DECILE_SHIFT)
    decile[shift] = np.maximum(1, decile[shift] - MINORITY_DECILE_SHIFT)
    lsoa_by_decile = [np.flatnonzero(pools.lsoa_decile == d) for d in range(1, 11)]
    lsoa_idx = np.empty(n, dtype=np.int64)
    for d in range(1, 11):
        m = decile == d
        lsoa_idx[m] = rng.choice(lsoa_by_decile[d - 1], size=m.sum())
    imd_q = (decile + 1) // 2

    # Phenotype ------------------------------------------------------------------------------
    eth_shift = np.array([PHENOTYPE_ETHNICITY_SHIFT[g] for g in eth_group])
    logit = PHENOTYPE_INTERCEPT[None, :] + PHENOTYPE_PER_IMD_STEP[None, :] * (5 - imd_q)[:, None]
    logit[:, 1:] += eth_shift[:, None]
    prob = np.exp(logit)
    prob /= prob.sum(axis=1, keepdims=True)
    u = rng.random(n)[:, None]
    phenotype = (u > np.cumsum(prob, axis=1)).sum(axis=1)

    # Registration and person-time -------------------------------------------------------------
    late = rng.random(n) < 0.15
    reg_start = np.where(
        late, s0 + (rng.random(n) * (e1 - s0 - 60)).astype(np.int64), s0 - (rng.random(n) * 365 * 12).astype(np.int64)
    )
    reg_start = np.maximum(reg_start, dob + 30)
    # The extract holds patients registered at some time in the study: leaving and death are
    # drawn from the later of registration and the study start.
    leave = np.maximum(s0, reg_start) + (rng.exponential(1 / 0.06, n) * 365.25).astype(np.int64)
    mort = np.clip(0.0015 * np.exp(0.085 * (age - 50)), 0.0002, 0.2)
    death = np.maximum(s0, reg_start) + (rng.exponential(1 / mort) * 365.25).astype(np.int64)
    has_death = death < e1
    has_leave = (leave < e1) & (leave < death)
    exit_ = np.minimum.reduce([np.full(n, e1), np.where(has_leave, leave, e1), np.where(has_death, death, e1)])
    entry = np.maximum(reg_start, s0)
    exit_ = np.maximum(exit_, entry)
    diag = np.maximum(dob + 365, reg_start - (rng.random(n) * 365 * 5).astype(np.int64))
    diag = np.minimum(diag, entry + 30)

    exac_rate = _exacerbation_rate(phenotype, imd_q, eth_group, age, sex)
    ex_idx, ex_day = _exacerbations(rng, exac_rate, entry, exit_)
    return Cohort(
        patient_id=patient_id,
        sex=sex,
        age=age,
        dob=dob,
        eth_idx=eth_idx,
        decile=decile,
        lsoa_idx=lsoa_idx,
        imd_q=imd_q,
        phenotype=phenotype,
        reg_start=reg_start,
        leave=leave,
        death=death,
        has_leave=has_leave,
        has_death=has_death,
        entry=entry,
        exit=exit_,
        diag=diag,
        ex_idx=ex_idx,
        ex_day=ex_day,
    )


def _exacerbation_rate(phenotype, imd_q, eth_group, age, sex) -> np.ndarray:
    """Each patient's exacerbation rate per person-year: the base rate times the planted ratios."""
    age_band = np.searchsorted(AGE_BAND_LOWER, age, side="right") - 1
    return (
        BASE_EXACERBATION_RATE
        * np.array([IRR_PHENOTYPE[p] for p in PHENOTYPES])[phenotype]
        * np.array([IRR_IMD[q] for q in range(1, 6)])[imd_q - 1]
        * np.vectorize(IRR_ETHNICITY.get, otypes=[float])(eth_group)
        * np.array([IRR_AGE[b] for b in AGE_BANDS])[age_band]
        * np.where(sex == "F", IRR_SEX["F"], IRR_SEX["M"])
    )


def _exacerbations(rng: np.random.Generator, rate, entry, exit_) -> tuple[np.ndarray, np.ndarray]:
    """(patient index, day) of exacerbations in the baseline then the follow-up window, each at
    ``rate`` times a gamma frailty drawn afresh per window."""
    s0, f0, e1 = _study_days()
    windows = [(np.clip(entry, s0, f0), np.clip(exit_, s0, f0)), (np.clip(entry, f0, e1), np.clip(exit_, f0, e1))]
    ex_idx, ex_day = [], []
    for w_start, w_stop in windows:
        frailty = rng.gamma(1 / FRAILTY_ALPHA, FRAILTY_ALPHA, rate.size)
        i, d = seasonal_events(rng, rate * frailty, w_start, w_stop)
        ex_idx.append(i)
        ex_day.append(d)
    return np.concatenate(ex_idx), np.concatenate(ex_day)
