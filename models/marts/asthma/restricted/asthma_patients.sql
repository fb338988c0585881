-- Patient-grain asthma mart, the one patient table every model reads: one row per clean
-- register patient with demographics as bands, person-time and every utilisation and outcome
-- count (a BIGINT, the mart's contract) in the baseline (two years) and follow-up (one year)
-- windows. Every patient is kept; a patient with no events has zeros. Events count only inside
-- the patient's own observation period. No direct identifiers. study_start_date dates the
-- whole-study-period counts the dbt semantic layer aggregates.
{#- The measures, in the mart's column order (its contract), are the rules of
    asthma_event_rules(), written once there. -#}
{%- set rules = asthma_event_rules() %}
{%- set measures = rules | map(attribute='measure') | list %}
{#- Each relation is counted in one pass per date it counts on: the rows inside the patient's
    observation period, summed per patient with one filtered sum per measure and window. -#}
{%- set passes = [] %}
{%- set counted_in = {} %}
{%- for rule in rules %}
    {%- set name = rule.relation ~ '_' ~ rule.date %}
    {%- if name not in passes | map(attribute='name') | list %}
        {%- do passes.append({'name': name, 'relation': rule.relation, 'date': rule.date}) %}
    {%- endif %}
    {%- do counted_in.update({rule.measure: name}) %}
{%- endfor %}
{%- set windows = [('baseline', '<'), ('followup', '>=')] %}
{%- set count_columns = [] %}
{%- for m in measures %}
    {%- for study_window, comparison in windows %}
        {%- do count_columns.append({'name': study_window ~ '_' ~ m, 'measure': m}) %}
    {%- endfor %}
{%- endfor %}
with

patients as (
    select * from {{ ref('stg_asthma__patients') }}
),

person_time as (
    select * from {{ ref('int_asthma_person_time') }}
),
{% if omop_input() %}
omop_deprivation as (
    select * from {{ ref('stg_omop__patient_deprivation') }}
),
{% endif %}

{{ asthma_event_relations() }},
{% for pass in passes %}
    {%- set pass_rules = rules | selectattr('relation', 'equalto', pass.relation)
        | selectattr('date', 'equalto', pass.date) | list %}

    -- Rows of {{ pass.relation }} dated ({{ pass.date }}) inside the patient's observation period.
    in_period_{{ pass.name }} as (
        select {{ pass.relation }}.*
        from {{ pass.relation }}
        inner join person_time
            on
                {{ pass.relation }}.patient_key = person_time.patient_key
                and {{ pass.relation }}.{{ pass.date }} between person_time.observation_start_date
                and person_time.observation_end_date
    ),

    counts_{{ pass.name }} as (
        select
            patient_key,
            {%- for rule in pass_rules %}
                {%- set last_rule = loop.last %}
                {%- for study_window, comparison in windows %}
                    cast(sum({{ rule.amount }}) filter (
                        where {{ pass.date }} {{ comparison }} date '{{ var("followup_start") }}'
                        and ({{ rule.condition }})
                    ) as bigint) as {{ study_window }}_{{ rule.measure }}
                    {%- if not (loop.last and last_rule) %},{% endif %}
                {%- endfor %}
            {%- endfor %}
        from in_period_{{ pass.name }}
        group by patient_key
    ),
{% endfor %}

-- Every pass's counts in one relation (NULL where a pass does not count that measure), so each
-- patient meets all their counts in one aggregate and one join. A left join per pass (seven
-- hash joins of a million rows in one query) ran out of DuckDB's 3 GB at 1M patients.
pass_counts as (
    {%- for pass in passes %}
        select
            patient_key,
            {%- for column in count_columns %}
                {% if counted_in[column.measure] == pass.name -%}
                    {{ column.name }}
                {%- else -%}
                    cast(null as bigint) as {{ column.name }}
                {%- endif %}{% if not loop.last %},{% endif %}
            {%- endfor %}
        from counts_{{ pass.name }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- A patient has one row per pass at most, and each measure is counted in one pass: the sum
-- is that one count.
counts as (
    select
        patient_key,
        {%- for column in count_columns %}
            cast(sum({{ column.name }}) as bigint) as {{ column.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from pass_counts
    group by patient_key
),

joined as (
    select
        patients.patient_key,
        patients.age_band,
        patients.esp_age_band,
        patients.sex,
        patients.ethnicity_group,
        patients.imd_quintile,
        {% if omop_input() -%}
            -- On the OMOP input a patient without a quintile gets the reason (doc omop_deprivation).
            coalesce(omop_deprivation.deprivation_measure, patients.deprivation_measure) as deprivation_measure,
        {%- else -%}
            patients.deprivation_measure,
        {%- endif %}
        patients.practice_code,
        patients.smoking_status,
        case
            when patients.bmi is null then 'Not recorded'
            when patients.bmi < 18.5 then 'Underweight'
            when patients.bmi < 25 then 'Healthy weight'
            when patients.bmi < 30 then 'Overweight'
            else 'Obese'
        end as bmi_band,
        person_time.died_in_study,
        person_time.left_in_study,
        person_time.baseline_person_years,
        person_time.followup_person_years,
        person_time.person_years,
        {% for m in measures %}
            coalesce(counts.baseline_{{ m }}, 0) as baseline_{{ m }},
            coalesce(counts.followup_{{ m }}, 0) as followup_{{ m }},
        {% endfor %}
        person_time.followup_person_years >= {{ var('saba_min_followup_years') }} as is_saba_assessable
    from patients
    inner join person_time on patients.patient_key = person_time.patient_key
    {%- if omop_input() %}
        left join omop_deprivation on patients.patient_key = omop_deprivation.patient_key
    {%- endif %}
    left join counts on patients.patient_key = counts.patient_key
),

final as (
    select
        *,
        -- SABA over-reliance (SABINA; NRAD): canisters per year in follow-up, judged only for
        -- patients observed for at least var saba_min_followup_years (half) of the follow-up year.
        -- The thresholds are in the column names: >= 3 (SABINA), >= 6 and > 12 (NRAD) a year.
        case when is_saba_assessable then followup_saba_canisters / followup_person_years end
            as followup_saba_canisters_per_year,
        case when is_saba_assessable then followup_saba_canisters / followup_person_years >= 3 end
            as is_saba_over_reliant_3,
        case when is_saba_assessable then followup_saba_canisters / followup_person_years >= 6 end
            as is_saba_over_reliant_6,
        case when is_saba_assessable then followup_saba_canisters / followup_person_years > 12 end
            as is_saba_over_reliant_12,
        cast('{{ var("followup_start") }}' as date) as followup_start_date,
        cast('{{ var("study_start") }}' as date) as study_start_date
    from joined
)

select * from final
