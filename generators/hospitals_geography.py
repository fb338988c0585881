"""The places the U.S. hospitals sit in: states, Faker name pools and ACS ZCTAs with their incomes.

``_zctas`` draws each state's ZCTAs inside its three-digit ZIP ranges with a median household
income; ``_acs_income`` writes them as the Census's ACSDT5Y.B19013-Data.csv rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faker import Faker

from generators import reference
from generators.hospitals_params import (
    ACS_HEADER,
    DEFAULT_HOSPITALS,
    INCOME_LOG_SD_WITHIN,
    MIN_ZCTAS_PER_STATE,
    NATIONAL_MEDIAN,
    P_NOT_COMPUTABLE,
    REAL_ZCTAS,
)


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
