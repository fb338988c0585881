"""The synthetic asthma world in OMOP CDM 5.4 tables (``python -m generators --layout omop``).

The extracts are generated as always; this module then writes the same patients, consultations,
admissions, appointments and prescriptions as OMOP tables in ``<out>/omop``, plus the area lookup
a user would supply (``area_deprivation.csv``: LSOA to IMD decile), so the warehouse's OMOP input
(``--vars '{asthma_input: omop, omop_dir: <out>/omop, omop_area_deprivation_path: ...}'``) reads
the same world. Concepts are the ones the warehouse's concept-set seed lists; the one concept no
standard vocabulary gives us here, an ICS/LABA combination inhaler, is a local concept in the
2-billion range (the CDM's convention for site-specific concepts), linked to its two ingredients
in the concept_ancestor file written beside it.

What OMOP cannot say, and so differs from the extracts by construction: a did-not-attend
appointment (OMOP records visits that happened), an asthma review (a procedure, not read by the
OMOP input), smoking status and BMI (observations and measurements, not read), the practice's ODS
code (care sites are numbered), and the Mixed ethnic groups (no OMOP race concept).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from generators.reference import SEED_DIR, project_vars

# Concept ids, as in ref_omop_concept_sets (the warehouse's seed) and the OMOP vocabularies.
MALE, FEMALE = 8507, 8532
RACE = {"White": 8527, "Black/Black British": 8516, "Asian/Asian British": 8515, "Other ethnic group": 8557}
ASTHMA, EXACERBATION = 317009, 257581
INPATIENT, EMERGENCY_ADMISSION, OUTPATIENT, OFFICE = 9201, 262, 9202, 581477
HOME, HOSPITAL = 8536, 8717
# BNF chemical -> RxNorm ingredient (ref_omop_concept_sets.maps_to read the other way).
INGREDIENT = {
    "0301011R0": 1154343,
    "0301011V0": 1236744,
    "0302000C0": 1115572,
    "0302000K0": 939259,
    "0302000N0": 1149380,
    "0302000R0": 905233,
    "0302000U0": 902938,
    "0303020G0": 1154161,
    "0303020Z0": 1111706,
    "0603020T0": 1550557,
}
ICS_LABA = 2_000_000_001  # local concept: beclometasone/formoterol inhaler
ICS_LABA_INGREDIENTS = (1115572, 1196677)
EXACERBATION_CODES = ("281239006", "708038006", "734904007")


def _values(mapping: dict) -> str:
    return ", ".join(f"('{k}', {v})" for k, v in mapping.items())


def write_omop(raw: Path, fmt: str) -> dict[str, int]:
    """Write ``raw/omop/<table>.<fmt>`` from the asthma extracts in ``raw``; rows per table. A
    registration still open is observed to the day after the study end (the dbt var study_end)."""
    study_end = project_vars()["study_end"]
    out = raw / "omop"
    out.mkdir(exist_ok=True)
    con = duckdb.connect()
    con.execute("set threads = 1")  # one thread: rows come out in one order, run after run
    for name in ["patients", "gp_events", "prescriptions", "hospital_admissions", "outpatient_appointments"]:
        path = raw / f"{name}.{fmt}"
        reader = (
            f"read_parquet('{path}')" if fmt == "parquet" else f"read_csv('{path}', header = true, all_varchar = true)"
        )
        con.execute(f"create view {name} as select * from {reader}")
    for seed in ["ref_ethnicity_groups", "ref_bnf_asthma_presentations", "ref_bnf_asthma_medicines"]:
        con.execute(f"create view {seed} as select * from read_csv('{SEED_DIR / seed}.csv', all_varchar = true)")
    tables = {
        "person": f"""
            select
                cast(p.patient_id as bigint) as person_id,
                case p.sex when 'M' then {MALE} when 'F' then {FEMALE} else 0 end as gender_concept_id,
                year(cast(p.date_of_birth as date)) as year_of_birth,
                month(cast(p.date_of_birth as date)) as month_of_birth,
                day(cast(p.date_of_birth as date)) as day_of_birth,
                cast(cast(p.date_of_birth as date) as timestamp) as birth_datetime,
                coalesce(race.concept_id, 0) as race_concept_id,
                0 as ethnicity_concept_id,
                cast(p.patient_id as bigint) as location_id,
                cast(null as bigint) as provider_id,
                cast(null as bigint) as care_site_id,
                cast(p.patient_id as string) as person_source_value,
                p.sex as gender_source_value,
                p.ethnic_category as race_source_value
            from patients as p
            left join ref_ethnicity_groups as e on p.ethnic_category = e.ethnic_category_code
            left join (values {_values(RACE)}) as race (ethnicity_group, concept_id)
                on e.ethnicity_group = race.ethnicity_group
            order by person_id""",
        "location": """
            select cast(patient_id as bigint) as location_id, cast(null as string) as zip,
                lsoa_code as location_source_value, 'GB' as country_source_value
            from patients order by location_id""",
        "observation_period": f"""
            select
                row_number() over (order by patient_id) as observation_period_id,
                cast(patient_id as bigint) as person_id,
                cast(registration_start_date as date) as observation_period_start_date,
                -- A registration still open is observed to the extraction, the day after the study end.
                coalesce(cast(registration_end_date as date), date '{study_end}' + 1) as observation_period_end_date,
                32817 as period_type_concept_id
            from patients order by person_id""",
        "death": """
            select cast(patient_id as bigint) as person_id, cast(date_of_death as date) as death_date,
                32817 as death_type_concept_id
            from patients where date_of_death is not null order by person_id""",
        # Visits: GP consultations (ids 1..), admissions (+ 10^12), attended outpatient (+ 2 * 10^12).
        "visit_occurrence": f"""
            select * from (
                select cast(gp_event_id as bigint) as visit_occurrence_id, cast(patient_id as bigint) as person_id,
                    {OFFICE} as visit_concept_id, cast(event_date as date) as visit_start_date,
                    cast(event_date as date) as visit_end_date, 32817 as visit_type_concept_id,
                    cast(null as bigint) as admitted_from_concept_id, cast(null as bigint) as discharged_to_concept_id
                from gp_events
                union all
                select 1000000000000 + cast(admission_id as bigint), cast(patient_id as bigint),
                    case admission_method when 'emergency' then {EMERGENCY_ADMISSION} else {INPATIENT} end,
                    cast(admission_date as date), cast(discharge_date as date), 32817,
                    case admission_method when 'transfer' then {HOSPITAL} end,
                    case discharge_destination when 'home' then {HOME} when 'transfer' then {HOSPITAL} end
                from hospital_admissions
                union all
                select 2000000000000 + cast(appointment_id as bigint), cast(patient_id as bigint), {OUTPATIENT},
                    cast(appointment_date as date), cast(appointment_date as date), 32817, null, null
                from outpatient_appointments where attendance = 'Attended'
            ) order by visit_occurrence_id""",
        # Asthma on the register: the diagnosis, carried again at registration when it falls outside
        # the registration (a problem-list entry), exacerbations on their consultation, asthma on an
        # admission.
        "condition_occurrence": f"""
            select row_number() over (order by person_id, kind, condition_start_date, visit_occurrence_id)
                    as condition_occurrence_id, *
            from (
                select cast(patient_id as bigint) as person_id, 1 as kind, {ASTHMA} as condition_concept_id,
                    cast(asthma_diagnosis_date as date) as condition_start_date,
                    cast(null as bigint) as visit_occurrence_id, 32817 as condition_type_concept_id
                from patients
                union all
                select cast(patient_id as bigint), 2, {ASTHMA}, cast(registration_start_date as date), null, 32817
                from patients
                where
                    cast(asthma_diagnosis_date as date) < cast(registration_start_date as date)
                    or cast(asthma_diagnosis_date as date)
                    > coalesce(cast(registration_end_date as date), date '{study_end}' + 1)
                union all
                select cast(patient_id as bigint), 3, {EXACERBATION}, cast(event_date as date),
                    cast(gp_event_id as bigint), 32817
                from gp_events where snomed_code in {EXACERBATION_CODES}
                union all
                select cast(patient_id as bigint), 4, {ASTHMA}, cast(admission_date as date),
                    1000000000000 + cast(admission_id as bigint), 32817
                from hospital_admissions where regexp_matches(primary_diagnosis, '^J4[56]')
            ) order by condition_occurrence_id""",
        # The class as the extracts' staging finds it (presentation, else chemical): an ICS/LABA
        # is the local combination concept, anything else its ingredient.
        "drug_exposure": f"""
            select cast(prescription_id as bigint) as drug_exposure_id, cast(patient_id as bigint) as person_id,
                case
                    when coalesce(presentation.medicine_class, chemical.medicine_class) = 'ICS/LABA' then {ICS_LABA}
                    else ingredient.concept_id
                end as drug_concept_id,
                cast(issue_date as date) as drug_exposure_start_date,
                cast(issue_date as date) as drug_exposure_end_date, 32838 as drug_type_concept_id,
                cast(quantity as double) as quantity, bnf_code as drug_source_value
            from prescriptions
            left join ref_bnf_asthma_presentations as presentation
                on prescriptions.bnf_code = presentation.bnf_presentation_code
            left join ref_bnf_asthma_medicines as chemical
                on left(prescriptions.bnf_code, 9) = chemical.bnf_chemical_code
            left join (values {_values(INGREDIENT)}) as ingredient (bnf_chemical_code, concept_id)
                on left(prescriptions.bnf_code, 9) = ingredient.bnf_chemical_code
            order by drug_exposure_id""",
        "concept_ancestor": f"""
            select ancestor_concept_id, descendant_concept_id, 1 as min_levels_of_separation,
                1 as max_levels_of_separation
            from (values {", ".join(f"({i}, {ICS_LABA})" for i in ICS_LABA_INGREDIENTS)})
                as t (ancestor_concept_id, descendant_concept_id)
            order by ancestor_concept_id""",
    }
    rows = {}
    for table, sql in tables.items():
        relation = con.sql(sql)
        target = out / f"{table}.{fmt}"
        if fmt == "parquet":
            relation.write_parquet(str(target))
        else:
            relation.write_csv(str(target), header=True)
        rows[table] = con.sql(f"select count(*) from ({sql})").fetchall()[0][0]
    lookup = "select distinct lsoa_code as area_code, imd_decile from patients order by area_code"
    con.sql(lookup).write_csv(str(raw / "area_deprivation.csv"), header=True)
    con.close()
    return rows
