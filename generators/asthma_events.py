"""The asthma extracts of one chunk of patients: admissions, prescriptions, GP events,
outpatient appointments and the patients file, drawn from the chunk's cohort
(generators.asthma_world) in a fixed order, which is part of what makes a seed reproduce the
same bytes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from generators import reference
from generators.asthma_params import (
    ASTHMA_ICD,
    ELECTIVE_ICD,
    OTHER_EMERGENCY_ICD,
    P_ADMIT_PER_EXACERBATION,
    P_DIE_IN_HOSPITAL,
    P_DNA,
    P_GP_PER_EXACERBATION,
    P_OCS_PER_EXACERBATION,
    P_READMIT_30D,
    P_TRANSFER,
    PHENOTYPES,
    SABA_NB_ALPHA,
    SPECIALTIES,
    _presentations,
)
from generators.asthma_world import (
    Cat,
    Cohort,
    Pools,
    _cohort,
    _dates,
    _dates_nullable,
    _nhs_numbers,
    _study_days,
    uniform_events,
)

# ----------------------------------------------------------------------------------------------
# One chunk of patients and all of their events
# ----------------------------------------------------------------------------------------------
# 30 days of the readmission window plus the longest transfer continuation (5 days) and one.
REFRACTORY_DAYS = 36


def _readmissions(rng, a_idx, a_day, a_dis, exit_, readmitted):
    """Background admissions kept REFRACTORY_DAYS clear of the previous emergency spell of the same
    patient, and the planted readmissions, in patient and date order.

    Returns (a_idx, a_day, a_dis, r_idx, r_day, r_dis)."""
    offset = rng.integers(1, 31, a_idx.size)
    r_los = np.minimum(rng.geometric(0.4, a_idx.size) - 1, 20)
    order = np.lexsort((a_day, a_idx))
    idx, day, dis = a_idx[order], a_day[order].copy(), a_dis[order].copy()
    readmitted, offset, r_los = readmitted[order], offset[order], r_los[order]
    keep = np.ones(idx.size, dtype=bool)
    r_rows: list[tuple[int, int, int]] = []
    last_patient, last_end = -1, 0
    for k in range(idx.size):
        p = int(idx[k])
        stop = int(exit_[p])
        if p != last_patient:
            last_patient, last_end = p, -(10**9)
        if day[k] <= last_end + REFRACTORY_DAYS:
            shift = last_end + REFRACTORY_DAYS + 1 - int(day[k])
            day[k] += shift
            dis[k] += shift
        if day[k] >= stop:
            keep[k] = False
            continue
        dis[k] = max(min(int(dis[k]), stop - 1), int(day[k]))
        last_end = int(dis[k])
        if readmitted[k] and dis[k] + 30 < stop:
            rd = int(dis[k]) + int(offset[k])
            rdis = max(min(rd + int(r_los[k]), stop - 1), rd)
            r_rows.append((p, rd, rdis))
            last_end = rdis
    r = np.array(r_rows, dtype=np.int64).reshape(-1, 3)
    cast = a_day.dtype
    return (
        idx[keep],
        day[keep].astype(cast),
        dis[keep].astype(cast),
        r[:, 0].astype(a_idx.dtype),
        r[:, 1].astype(cast),
        r[:, 2].astype(cast),
    )


def _hospital_admissions(rng: np.random.Generator, c: Cohort, pools: Pools) -> pa.Table:
    s0 = _study_days()[0]
    adm = rng.random(c.ex_idx.size) < P_ADMIT_PER_EXACERBATION
    a_idx, a_day = c.ex_idx[adm], c.ex_day[adm]
    los = np.minimum(rng.geometric(0.4, a_idx.size) - 1, 20)
    a_dis = np.minimum(a_day + los, c.exit[a_idx] - 1)
    a_dis = np.maximum(a_dis, a_day)
    # Planted 30-day readmissions: a new emergency asthma admission 1-30 days after discharge, with
    # probability P_READMIT_30D for every admission. They are the only readmissions: an
    # exacerbation admission that would fall within REFRACTORY_DAYS of the end of the patient's
    # previous emergency spell is moved to just after it (dropped if that is past the patient's
    # exit). So the share of discharges readmitted within 30 days is the same in every group,
    # whatever its admission rate.
    a_idx, a_day, a_dis, r_idx, r_day, r_dis = _readmissions(
        rng, a_idx, a_day, a_dis, c.exit, rng.random(a_idx.size) < P_READMIT_30D
    )
    e_idx = np.concatenate([a_idx, r_idx])
    e_day = np.concatenate([a_day, r_day])
    e_dis = np.concatenate([a_dis, r_dis])
    e_dx = rng.choice(ASTHMA_ICD[0], size=e_idx.size, p=ASTHMA_ICD[1])
    e_dest = np.where(rng.random(e_idx.size) < P_TRANSFER, "transfer", "home")
    # A transfer continues the spell at another provider, admitted on the discharge day.
    t = e_dest == "transfer"
    t_idx, t_day = e_idx[t], e_dis[t]
    t_dis = np.maximum(np.minimum(t_day + rng.integers(0, 6, t.sum()), c.exit[t_idx] - 1), t_day)
    # Deaths in hospital: an emergency non-asthma admission ending on the death day.
    dih = c.has_death & (rng.random(c.n) < P_DIE_IN_HOSPITAL) & (c.death > s0 + 10)
    d_idx = np.flatnonzero(dih)
    d_dis = c.death[d_idx]
    d_day = d_dis - rng.integers(0, 10, d_idx.size)
    # Elective admissions (non-asthma), uniform in time.
    l_idx, l_day = c.uniform(rng, "elective_admission")
    l_dis = np.maximum(np.minimum(l_day + rng.integers(0, 4, l_idx.size), c.exit[l_idx] - 1), l_day)

    adm_idx = np.concatenate([e_idx, t_idx, d_idx, l_idx])
    tab = {
        "patient_id": c.patient_id[adm_idx],
        "provider_code": pools.providers[rng.integers(0, pools.providers.size, adm_idx.size)],
        "admission_date": np.concatenate([e_day, t_day, d_day, l_day]),
        "discharge_date": np.concatenate([e_dis, t_dis, d_dis, l_dis]),
        "admission_method": np.concatenate(
            [
                np.full(e_idx.size, "emergency"),
                np.full(t_idx.size, "transfer"),
                np.full(d_idx.size, "emergency"),
                np.full(l_idx.size, "elective"),
            ]
        ),
        "primary_diagnosis": np.concatenate(
            [
                e_dx,
                rng.choice(ASTHMA_ICD[0], size=t_idx.size, p=ASTHMA_ICD[1]),
                rng.choice(OTHER_EMERGENCY_ICD, size=d_idx.size),
                rng.choice(ELECTIVE_ICD, size=l_idx.size),
            ]
        ),
        "discharge_destination": np.concatenate(
            [e_dest, np.full(t_idx.size, "home"), np.full(d_idx.size, "died"), np.full(l_idx.size, "home")]
        ),
    }
    return _event_table(tab, "admission_date")


def _prescriptions(rng: np.random.Generator, c: Cohort) -> pa.Table:
    presentations = _presentations()
    rx_parts = []
    ocs = rng.random(c.ex_idx.size) < P_OCS_PER_EXACERBATION
    rx_parts.append(("OCS", c.ex_idx[ocs], c.ex_day[ocs], np.ones(ocs.sum(), dtype=np.int64)))
    # SABA items carry 1 or 2 canisters (mean 1.4); draw items at rate canisters / 1.4.
    saba_rate = c.rate("saba_canisters") * rng.gamma(1 / SABA_NB_ALPHA, SABA_NB_ALPHA, c.n)
    i, d = uniform_events(rng, saba_rate / 1.4, c.entry, c.exit)
    rx_parts.append(("SABA", i, d, np.where(rng.random(i.size) < 0.4, 2, 1)))
    for cls, key in (("ICS", "ics_items"), ("ICS/LABA", "ics_laba_items"), ("LTRA", "ltra_items")):
        i, d = c.uniform(rng, key)
        rx_parts.append((cls, i, d, np.ones(i.size, dtype=np.int64)))
    all_pres = [(cls, *p) for cls, pres in presentations.items() for p in pres]
    pres_code = np.array([p[1] for p in all_pres], dtype=object)
    pres_name = np.array([p[2] for p in all_pres], dtype=object)
    pres_qty = np.array([p[3] for p in all_pres])
    pres_unit = np.array(["tablet" if p[0] in ("OCS", "LTRA") else "inhaler" for p in all_pres], dtype=object)
    first_of = {cls: [i for i, p in enumerate(all_pres) if p[0] == cls] for cls in presentations}
    rx_idx, rx_day, rx_pres, rx_mult = [], [], [], []
    for cls, i, d, mult in rx_parts:
        options = np.array(first_of[cls])
        rx_idx.append(i)
        rx_day.append(d)
        rx_pres.append(options[rng.integers(0, options.size, i.size)])
        rx_mult.append(mult)
    rx_idx = np.concatenate(rx_idx)
    rx_pres = np.concatenate(rx_pres)
    tab = {
        "patient_id": c.patient_id[rx_idx],
        "issue_date": np.concatenate(rx_day),
        "bnf_code": Cat(pres_code, rx_pres),
        "medicine": Cat(pres_name, rx_pres),
        "quantity": pres_qty[rx_pres] * np.concatenate(rx_mult),
        "quantity_unit": Cat(pres_unit, rx_pres),
    }
    return _event_table(tab, "issue_date")


def _gp_events(rng: np.random.Generator, c: Cohort, pools: Pools) -> tuple[pa.Table, np.ndarray]:
    """GP events, and each patient's practice (drawn here, after the events, and used by patients)."""
    snomed = {r["snomed_concept_id"]: r for r in reference.load("ref_snomed_asthma_concepts")}
    review_codes = [k for k, r in snomed.items() if r["concept_group"] == "review"]
    acute_codes = [k for k, r in snomed.items() if r["concept_group"] == "exacerbation"]
    other_codes = [k for k, r in snomed.items() if r["concept_group"] == "other_consultation"]
    gp = rng.random(c.ex_idx.size) < P_GP_PER_EXACERBATION
    g1_idx = c.ex_idx[gp]
    g1_day = np.minimum(c.ex_day[gp] + rng.integers(0, 4, gp.sum()), c.exit[g1_idx] - 1)
    # Acute asthma consultations without an exacerbation (poor control), mostly reliever-reliant.
    g4_idx, g4_day = c.uniform(rng, "acute_consultation")
    g1_idx, g1_day = np.concatenate([g1_idx, g4_idx]), np.concatenate([g1_day, g4_day])
    g2_idx, g2_day = c.uniform(rng, "asthma_review")
    g3_idx, g3_day = c.uniform(rng, "other_consultation")
    codes = np.array(acute_codes + review_codes + other_codes, dtype=object)
    g_code = np.concatenate(
        [
            rng.integers(0, len(acute_codes), g1_idx.size),
            len(acute_codes) + rng.integers(0, len(review_codes), g2_idx.size),
            len(acute_codes) + len(review_codes) + rng.integers(0, len(other_codes), g3_idx.size),
        ]
    )
    g_idx = np.concatenate([g1_idx, g2_idx, g3_idx])
    practice_of = rng.integers(0, pools.practices["practice_code"].size, c.n)
    tab = {
        "patient_id": c.patient_id[g_idx],
        "practice_code": Cat(pools.practices["practice_code"], practice_of[g_idx]),
        "event_date": np.concatenate([g1_day, g2_day, g3_day]),
        "snomed_code": Cat(codes, g_code),
        "term": Cat(np.array([snomed[k]["term"] for k in codes], dtype=object), g_code),
    }
    return _event_table(tab, "event_date"), practice_of


def _outpatient_appointments(rng: np.random.Generator, c: Cohort) -> pa.Table:
    o_idx, o_day = c.uniform(rng, "outpatient")
    spec = np.where(c.age[o_idx] < 16, 1, np.where(rng.random(o_idx.size) < 0.8, 0, 2))
    dna_p = P_DNA * (1 + 0.15 * (5 - c.imd_q[o_idx]))
    tab = {
        "patient_id": c.patient_id[o_idx],
        "appointment_date": o_day,
        "treatment_specialty_code": Cat([s[0] for s in SPECIALTIES], spec),
        "treatment_specialty": Cat([s[1] for s in SPECIALTIES], spec),
        "attendance": Cat(["Attended", "Did not attend"], (rng.random(o_idx.size) < dna_p).astype(np.int64)),
    }
    return _event_table(tab, "appointment_date")


def _patients(rng: np.random.Generator, c: Cohort, pools: Pools, practice_of: np.ndarray) -> pa.Table:
    n = c.n
    given = np.where(
        c.sex == "F",
        pools.given_f[rng.integers(0, pools.given_f.size, n)],
        pools.given_m[rng.integers(0, pools.given_m.size, n)],
    )
    smoking = np.where(
        c.age < 16,
        "Never smoked",
        rng.choice(["Never smoked", "Ex-smoker", "Current smoker"], size=n, p=[0.55, 0.27, 0.18]),
    )
    bmi = np.round(np.where(c.age < 18, 17 + 0.3 * c.age, 27.5) + rng.normal(0, 4.5, n), 1)
    bmi_missing = rng.random(n) < 0.12
    return pa.table(
        {
            "patient_id": c.patient_id,
            "nhs_number": _nhs_numbers(rng, c.patient_id - 1_000_001),
            "given_name": given,
            "family_name": pools.family[rng.integers(0, pools.family.size, n)],
            "address_line_1": pools.street[rng.integers(0, pools.street.size, n)],
            "town": pools.town[rng.integers(0, pools.town.size, n)],
            "postcode": pools.postcode[rng.integers(0, pools.postcode.size, n)],
            "date_of_birth": _dates(c.dob),
            "sex": c.sex,
            "ethnic_category": pools.eth_codes[c.eth_idx],
            "lsoa_code": np.char.add("E01", np.char.zfill((c.lsoa_idx + 1).astype(str), 6)),
            "imd_decile": c.decile.astype(np.int64),
            "practice_code": Cat(pools.practices["practice_code"], practice_of).to_arrow(),
            "registration_start_date": _dates(c.reg_start),
            "registration_end_date": _dates_nullable(c.leave, ~c.has_leave),
            "date_of_death": _dates_nullable(c.death, ~c.has_death),
            "smoking_status": smoking,
            "bmi": pa.array(bmi, mask=bmi_missing),
            "asthma_diagnosis_date": _dates(c.diag),
            "asthma_snomed_code": rng.choice(pools.snomed_diag, size=n),
        }
    )


def _event_table(tab: dict, date_col: str) -> pa.Table:
    """Columns of one event extract in patient and date order, as Arrow (codes and days converted)."""
    order = np.lexsort((tab[date_col], tab["patient_id"]))
    cols = {}
    for k, v in tab.items():
        v = v[order]
        cols[k] = v.to_arrow() if isinstance(v, Cat) else _dates(v) if k.endswith("_date") else v
    return pa.table(cols)


def generate_chunk(rng: np.random.Generator, pools: Pools, first_id: int, n: int) -> tuple[dict[str, pa.Table], dict]:
    """Every asthma extract for patients ``first_id`` .. ``first_id + n - 1``, and their phenotypes.

    The extracts are drawn from ``rng`` in this fixed order (it is part of what makes a seed give
    the same bytes): cohort, admissions, prescriptions, GP events, outpatients, patients."""
    cohort = _cohort(rng, pools, first_id, n)
    admissions = _hospital_admissions(rng, cohort, pools)
    prescriptions = _prescriptions(rng, cohort)
    gp_events, practice_of = _gp_events(rng, cohort, pools)
    outpatients = _outpatient_appointments(rng, cohort)
    tables = {
        "patients": _patients(rng, cohort, pools, practice_of),
        "gp_events": gp_events,
        "prescriptions": prescriptions,
        "hospital_admissions": admissions,
        "outpatient_appointments": outpatients,
    }
    planted = {"patient_id": cohort.patient_id, "phenotype": np.array(PHENOTYPES)[cohort.phenotype]}
    return tables, planted
