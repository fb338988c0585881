"""Asthma register extracts (UK primary/secondary care style) with a planted truth.

Each patient carries a latent utilisation phenotype (controlled / reliever-reliant / high
utiliser) whose probability rises with deprivation and differs by ethnicity. Exacerbations are a
seasonal Poisson process whose rate is a product of known rate ratios (phenotype, IMD quintile,
ethnicity group, age band, sex) times a gamma frailty drawn per patient and window (known alpha).
Each exacerbation yields an OCS course, sometimes an emergency asthma admission and sometimes an
acute GP consultation, so admissions inherit the exacerbation rate ratios exactly. Rates anchor
to published figures (Bloom et al., Thorax 2018;73:313, exacerbation rates by age; SABINA I,
Bloom et al., Adv Ther 2020, SABA use; Gupta et al., Thorax 2018;73:706, IMD gradient; Sheikh
et al., BMC Med 2016;14:3, ethnicity); the definitions are the dbt doc blocks in models/docs.

The parameters and extract layouts are in generators.asthma_params, the pools and cohorts in
generators.asthma_world and the extracts of a chunk in generators.asthma_events; this module holds
the planted truth (truth.json) and the simulation that checks it, and is what callers import.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from generators import reference
from generators.asthma_events import (
    REFRACTORY_DAYS,
    _hospital_admissions,
    generate_chunk,
)
from generators.asthma_params import (
    AGE_BAND_LOWER,
    AGE_BANDS,
    ASTHMA_ICD,
    BASE_EXACERBATION_RATE,
    COLUMNS,
    DECILE_P,
    ELECTIVE_ICD,
    ETHNIC_CATEGORY_SHARE,
    FRAILTY_ALPHA,
    INT_COLUMNS,
    IRR_AGE,
    IRR_ETHNICITY,
    IRR_IMD,
    IRR_PHENOTYPE,
    IRR_SEX,
    MINORITY_DECILE_SHIFT,
    MONTH_SHARE,
    N_LSOA,
    OTHER_EMERGENCY_ICD,
    P_ADMIT_PER_EXACERBATION,
    P_DIE_IN_HOSPITAL,
    P_DNA,
    P_GP_PER_EXACERBATION,
    P_MINORITY_DECILE_SHIFT,
    P_OCS_PER_EXACERBATION,
    P_READMIT_30D,
    P_TRANSFER,
    PHENOTYPE_ETHNICITY_SHIFT,
    PHENOTYPE_INTERCEPT,
    PHENOTYPE_PER_IMD_STEP,
    PHENOTYPES,
    RATES_BY_PHENOTYPE,
    SABA_NB_ALPHA,
    SCHEMAS,
    SPECIALTIES,
    STUDY_VARS,
)
from generators.asthma_world import (
    Cat,
    Cohort,
    Pools,
    _cohort,
    _study_days,
    build_pools,
    practices_table,
    seasonal_events,
    study_window,
    uniform_events,
)

# What callers import from generators.asthma (the CLI, the tests, benchmarks/): its own functions and
# every public name of the modules it was split into.
__all__ = [
    "AGE_BANDS",
    "AGE_BAND_LOWER",
    "ASTHMA_ICD",
    "BASE_EXACERBATION_RATE",
    "COLUMNS",
    "Cat",
    "Cohort",
    "DECILE_P",
    "ELECTIVE_ICD",
    "ETHNIC_CATEGORY_SHARE",
    "FRAILTY_ALPHA",
    "INT_COLUMNS",
    "IRR_AGE",
    "IRR_ETHNICITY",
    "IRR_IMD",
    "IRR_PHENOTYPE",
    "IRR_SEX",
    "MINORITY_DECILE_SHIFT",
    "MONTH_SHARE",
    "N_LSOA",
    "OTHER_EMERGENCY_ICD",
    "PHENOTYPES",
    "PHENOTYPE_ETHNICITY_SHIFT",
    "PHENOTYPE_INTERCEPT",
    "PHENOTYPE_PER_IMD_STEP",
    "P_ADMIT_PER_EXACERBATION",
    "P_DIE_IN_HOSPITAL",
    "P_DNA",
    "P_GP_PER_EXACERBATION",
    "P_MINORITY_DECILE_SHIFT",
    "P_OCS_PER_EXACERBATION",
    "P_READMIT_30D",
    "P_TRANSFER",
    "Pools",
    "RATES_BY_PHENOTYPE",
    "REFRACTORY_DAYS",
    "SABA_NB_ALPHA",
    "SCHEMAS",
    "SPECIALTIES",
    "STUDY_VARS",
    "build_pools",
    "generate_chunk",
    "practices_table",
    "seasonal_events",
    "simulate_followup",
    "study_window",
    "total_effect_irr",
    "truth",
    "uniform_events",
]


def _ethnicity_group_share() -> dict[str, float]:
    """Share of patients in each ethnicity group (ETHNIC_CATEGORY_SHARE through the reference seed)."""
    rows = reference.load("ref_ethnicity_groups")
    total = sum(ETHNIC_CATEGORY_SHARE[r["ethnic_category_code"]] for r in rows)
    out: dict[str, float] = {}
    for r in rows:
        g = r["ethnicity_group"]
        out[g] = out.get(g, 0.0) + ETHNIC_CATEGORY_SHARE[r["ethnic_category_code"]] / total
    return out


def _imd_quintile_share(minority: bool) -> np.ndarray:
    """P(IMD quintile 1..5) for a patient of a minority group or not, as generate_chunk draws it."""
    p = DECILE_P.copy()
    if minority:
        shifted = np.zeros(10)
        for d in range(10):
            shifted[max(0, d - MINORITY_DECILE_SHIFT)] += p[d]
        p = (1 - P_MINORITY_DECILE_SHIFT) * p + P_MINORITY_DECILE_SHIFT * shifted
    return p.reshape(5, 2).sum(axis=1)  # quintile = (decile + 1) // 2


def _phenotype_probability(imd_quintile: int, group: str) -> np.ndarray:
    logit = PHENOTYPE_INTERCEPT + PHENOTYPE_PER_IMD_STEP * (5 - imd_quintile)
    logit = logit + np.array([0.0, 1.0, 1.0]) * PHENOTYPE_ETHNICITY_SHIFT[group]
    prob = np.exp(logit)
    return prob / prob.sum()


def total_effect_irr() -> dict:
    """Total (marginal over phenotype and frailty) rate ratios of IMD quintile, ethnicity, age and sex.

    The estimand is what the warehouse's ``total`` model (health_equity.stats.rates: follow-up emergency
    asthma admission spells on IMD quintile, ethnicity group, age band and sex, offset log
    follow-up person-years, fitted on every patient with follow-up person-time) converges to as
    the register grows: its pseudo-true parameter at the generator's population.

    Analytic. Given (IMD quintile q, ethnicity group e, age band a, sex s) the expected admission
    rate is base * IRR_IMD[q] * IRR_eth[e] * IRR_age[a] * IRR_sex[s] * M(q, e), where
    M(q, e) = sum over phenotypes of P(phenotype | q, e) * IRR_phenotype (the gamma frailty has
    mean 1 and the admission and readmission probabilities are constant, so they cancel from every
    ratio). M depends on q and e jointly, so no single log-linear model holds exactly; the value
    recorded is what a Poisson regression on IMD, ethnicity, age and sex converges to at this
    population: the root of the expected score equations. Age band and sex are drawn
    independently of (q, e), and follow-up person-time depends on age alone (death) and on none of
    q, e and s (registration and leaving are drawn independently), so the cell weights factorise
    and those equations separate: age and sex keep their planted IRRs, and the IMD and ethnicity
    IRRs solve a Poisson fit of M-weighted rates on the 5 x 6 (q, e) cells weighted by P(q, e), by
    Newton's method to 1e-12.

    What the analytic value leaves out, each checked against ``simulate_followup`` (the
    generator's own draws, counted as the warehouse counts them) fitted by health_equity.stats.rates on
    three independent sets of 140 seeds of 1M patients (373.6M with follow-up in all;
    benchmarks/validate_truth.py --engine pooled --scale large --seeds 1..140, 141..280 and
    2000..2019,3000..3059,4000..4059): the negative binomial fit (the primary family) weights the
    cells differently from the Poisson one, which moves no IRR by more than 0.05% (M is nearly
    log-linear); the readmissions and the refractory period between spells make admissions a
    slightly non-linear function of the exacerbation rate, and the warehouse counts the exit day
    as person-time, effects too small to see; the age bands are the warehouse's (whole years on
    the follow-up start) for every patient. Each set's IRRs lie within 0.8% of the analytic ones
    and the three sets' together within 0.25% (largest |z| 1.9 of the 13), under 0.03 of a
    standard error at 100k patients. Fitted on the clustered patients only (at least the minimum
    baseline person-time; the total model no longer is) they lie as close: clustering selects on
    registration date and survival, not on deprivation or ethnicity.
    tests/python/synthetic/test_generated_extracts.py checks the agreement at 1M patients and
    benchmarks/validate_truth.py the coverage of the warehouse's intervals over seeds.
    """
    groups = list(IRR_ETHNICITY)
    share = _ethnicity_group_share()
    minority = {g: g not in ("White", "Not stated or unknown") for g in groups}
    cells = [(q, g) for q in range(1, 6) for g in groups]
    weight = np.array([share[g] * _imd_quintile_share(minority[g])[q - 1] for q, g in cells])
    phen_irr = np.array([IRR_PHENOTYPE[p] for p in PHENOTYPES])
    mixing = np.array([_phenotype_probability(q, g) @ phen_irr for q, g in cells])
    rate = np.array([IRR_IMD[q] * IRR_ETHNICITY[g] for q, g in cells]) * mixing
    # Design: intercept, IMD 1-4 against 5, ethnicity against White.
    cols = [np.ones(len(cells))]
    cols += [np.array([q == k for q, _ in cells], dtype=float) for k in range(1, 5)]
    cols += [np.array([g == h for _, g in cells], dtype=float) for h in groups[1:]]
    x = np.column_stack(cols)
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(np.sum(weight * rate) / np.sum(weight))
    for _ in range(100):
        mu = np.exp(x @ beta)
        step = np.linalg.solve(x.T @ (x * (weight * mu)[:, None]), x.T @ (weight * (rate - mu)))
        beta += step
        if np.max(np.abs(step)) < 1e-12:
            break
    irr = np.exp(beta)
    return {
        "description": (
            "Total (marginal) rate ratios of emergency asthma admissions by IMD quintile, "
            "ethnicity group, age band and sex, not conditioning on phenotype: what a follow-up "
            "window regression on these four covariates alone (the 'total' model, fitted on every "
            "patient with follow-up person-time) should recover: its pseudo-true value at the "
            "generator's population. Derived analytically and checked against a simulation of "
            "the generator's own draws fitted the warehouse's way; see "
            "generators.asthma.total_effect_irr and simulate_followup."
        ),
        "reference": {"imd_quintile": 5, "ethnicity_group": "White", "age_band": "18-54", "sex": "M"},
        "imd_quintile": {str(q): float(irr[q]) for q in range(1, 5)} | {"5": 1.0},
        "ethnicity_group": {"White": 1.0} | {g: float(irr[4 + i]) for i, g in enumerate(groups[1:], start=1)},
        "age_band": IRR_AGE,
        "sex": IRR_SEX,
        "phenotype_mixing_by_imd_quintile_white": {
            str(q): float(_phenotype_probability(q, "White") @ phen_irr) for q in range(1, 6)
        },
    }


def simulate_followup(seed: int, n_patients: int) -> dict[str, np.ndarray]:
    """Per patient, what the warehouse's ``total`` rate model reads, for the patients
    ``python -m generators --seed <seed> --patients <n_patients>`` writes (the same draws: the CLI's
    seed sequence, pools and chunks), computed from the generator's own cohort and admissions
    without writing or reading any file: the truth.json check at any size (about 3 s per
    million patients).

    Counted as the warehouse counts them: IMD quintile, ethnicity group, sex; the age band of
    whole years on the follow-up start (from the date of birth); baseline and follow-up days of
    the observation period (registration or study start to leaving, death or study end, both days
    included); follow-up emergency asthma admission spells (emergency method, asthma diagnosis,
    started inside the follow-up window and the observation period; a transfer continues its
    spell). tests/python/warehouse/test_asthma_models.py checks every column against the warehouse built
    from the CLI's files. Also the planted phenotype, which the warehouse never sees."""
    from generators.cli import CHUNK_PATIENTS  # the CLI's chunking is part of the draws

    s0, f0, e1 = _study_days()
    asthma_seq = np.random.SeedSequence(seed).spawn(3)[0]
    pools = build_pools(seed, max(20, n_patients // 800), np.random.default_rng(asthma_seq.spawn(1)[0]))
    n_chunks = -(-n_patients // CHUNK_PATIENTS)
    chunk_seqs = asthma_seq.spawn(n_chunks + 1)[1:]
    f0_date = np.datetime64(int(f0), "D")
    f0_month_day = (f0_date.astype("datetime64[M]") - f0_date.astype("datetime64[Y]")).astype(int) * 100 + (
        f0_date - f0_date.astype("datetime64[M]")
    ).astype(int)
    out: dict[str, list] = {}
    for c in range(n_chunks):
        first = c * CHUNK_PATIENTS
        n = min(CHUNK_PATIENTS, n_patients - first)
        rng = np.random.default_rng(chunk_seqs[c])
        cohort = _cohort(rng, pools, 1_000_001 + first, n)
        admissions = _hospital_admissions(rng, cohort, pools)  # drawn next, as generate_chunk does
        # The observation period, both ends included (the warehouse's int_asthma_person_time).
        start = np.maximum(cohort.reg_start, s0)
        end = np.minimum.reduce(
            [np.where(cohort.has_leave, cohort.leave, e1 - 1), np.where(cohort.has_death, cohort.death, e1 - 1)]
        )
        end = np.minimum(end, e1 - 1)
        baseline_days = np.maximum(0, np.minimum(end, f0 - 1) - start + 1)
        followup_days = np.maximum(0, end - np.maximum(start, f0) + 1)
        # Whole years on the follow-up start.
        dob = cohort.dob.astype("datetime64[D]")
        month_day = (dob.astype("datetime64[M]") - dob.astype("datetime64[Y]")).astype(int) * 100 + (
            dob - dob.astype("datetime64[M]")
        ).astype(int)
        years = (f0_date.astype("datetime64[Y]") - dob.astype("datetime64[Y]")).astype(int)
        age = np.maximum(years - (month_day > f0_month_day), 0)
        band = np.searchsorted(AGE_BAND_LOWER, age, side="right") - 1
        # Emergency asthma admission spells: an emergency admission with an asthma diagnosis
        # starts one (transfers continue it), counted on its start day inside the window.
        patient = admissions["patient_id"].to_numpy() - (1_000_001 + first)
        day = admissions["admission_date"].cast(pa.int32()).to_numpy().astype(np.int64)
        starts = np.asarray(admissions["admission_method"].to_numpy(zero_copy_only=False) == "emergency") & np.isin(
            admissions["primary_diagnosis"].to_numpy(zero_copy_only=False), ASTHMA_ICD[0]
        )
        counted = starts & (day >= np.maximum(start[patient], f0)) & (day <= end[patient])
        columns = {
            "patient_id": cohort.patient_id,
            "imd_quintile": cohort.imd_q.astype(np.int64),
            "ethnicity_group": pools.eth_group[cohort.eth_idx],
            "age_band": np.array(AGE_BANDS)[band],
            "sex": cohort.sex,
            "baseline_days": baseline_days.astype(np.int64),
            "followup_days": followup_days.astype(np.int64),
            "followup_emergency_admissions": np.bincount(patient[counted], minlength=n).astype(np.int64),
            "phenotype": np.array(PHENOTYPES)[cohort.phenotype],
        }
        for k, v in columns.items():
            out.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in out.items()}


def truth() -> dict:
    """The planted parameters, as written to truth.json."""
    return {
        **{var: str(day) for var, day in study_window().items()},
        "phenotypes": PHENOTYPES,
        "n_phenotypes": len(PHENOTYPES),
        "phenotype_model": {
            "intercept": dict(zip(PHENOTYPES, PHENOTYPE_INTERCEPT.tolist())),
            "per_imd_step_below_5": dict(zip(PHENOTYPES, PHENOTYPE_PER_IMD_STEP.tolist())),
            "ethnicity_shift": PHENOTYPE_ETHNICITY_SHIFT,
        },
        "emergency_admission_irr": {
            "description": (
                "Rate ratios of emergency asthma admissions (and of exacerbations), "
                "conditional on phenotype; a follow-up-window Poisson/NB regression with "
                "offset log(person-years) should recover them. Baseline emergency admissions "
                "carry no planted effect beyond phenotype (frailty is drawn per window)."
            ),
            "reference": {
                "phenotype": "controlled",
                "imd_quintile": 5,
                "ethnicity_group": "White",
                "age_band": "18-54",
                "sex": "M",
            },
            "phenotype": IRR_PHENOTYPE,
            "imd_quintile": {str(k): v for k, v in IRR_IMD.items()},
            "ethnicity_group": IRR_ETHNICITY,
            "age_band": IRR_AGE,
            "sex": IRR_SEX,
        },
        "base_exacerbation_rate_per_person_year": BASE_EXACERBATION_RATE,
        "total_effect_irr": total_effect_irr(),
        "frailty_alpha": FRAILTY_ALPHA,
        "frailty_alpha_description": (
            "Variance of the gamma frailty (mean 1) that multiplies each patient's exacerbation "
            "rate, drawn afresh per window: the NB2 alpha of exacerbation counts given phenotype "
            "and covariates. Admission counts given the covariates are more dispersed than this: "
            "they also mix over phenotype and add planted 30-day readmissions (a compound count)."
        ),
        "p_admit_per_exacerbation": P_ADMIT_PER_EXACERBATION,
        "p_ocs_per_exacerbation": P_OCS_PER_EXACERBATION,
        "p_readmit_30d": P_READMIT_30D,
        "readmission_refractory_days": REFRACTORY_DAYS,
        "readmission_note": (
            "every emergency asthma admission is followed by a planted readmission 1-30 days after its "
            "discharge with probability p_readmit_30d; other admissions are kept readmission_refractory_days "
            "clear of the previous emergency spell, so the 30-day readmission share is the same in every group"
        ),
        "p_transfer": P_TRANSFER,
        "rates_by_phenotype_per_person_year": RATES_BY_PHENOTYPE,
        "saba_nb_alpha": SABA_NB_ALPHA,
        "month_share": MONTH_SHARE.tolist(),
        "age_band_definition": "age in whole years on the follow-up start date",
    }
