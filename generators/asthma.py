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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from faker import Faker

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
    tests/python/generators/test_generators.py checks the agreement at 1M patients and
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
