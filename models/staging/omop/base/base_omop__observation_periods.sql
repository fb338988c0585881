-- Every row of the OMOP observation_period table, cleaned, with the first reason (if any) it
-- cannot be used.
with

source as (
    {{ omop_select('observation_period', {
        'observation_period_id': 'observation_period_id', 'person_id': 'person_id',
        'start_date': 'observation_period_start_date', 'end_date': 'observation_period_end_date'}) }}
),

cleaned as (
    select
        omop_row_number,
        {{ omop_ids(['observation_period_id', 'person_id']) }},
        {{ omop_date('start_date') }} as observation_period_start_date,
        {{ omop_date('end_date') }} as observation_period_end_date
    from source
),

final as (
    select
        *,
        {% call omop_exclusion_reason(dates=['observation_period_start_date', 'observation_period_end_date']) -%}
            when observation_period_end_date < observation_period_start_date
                then 'impossible date: observation_period_end_date before its start'
        {%- endcall %} as exclusion_reason
    from cleaned
)

select * from final
order by omop_row_number
