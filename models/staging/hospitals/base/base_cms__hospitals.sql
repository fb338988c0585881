-- Every row of the CMS Hospital General Information file, cleaned, with the first reason (if
-- any) it cannot be used. Ids are text with leading zeros restored (Facility ID to 6 characters,
-- ZIP to 5); "Not Available" becomes NULL with a status column saying so. A hospital type the
-- reference seed does not know (older releases carry "Not Available") is kept and flagged
-- (is_known_type): every hospital of the file reaches hospital_equity.
{% set groups = cms_outcome_groups() %}
with

source as (
    select * from {{ source('hospitals_raw', 'hospital_general_information') }}
),

states as (
    select * from {{ ref('ref_us_states') }}
),

hospital_types as (
    select * from {{ ref('ref_cms_hospital_types') }}
),

cleaned as (
    select
        lpad({{ clean_code(adapter.quote('Facility ID')) }}, 6, '0') as facility_id,
        {{ header_text('Facility Name') }} as facility_name,
        {{ header_text('Address') }} as address,
        {{ header_text('City/Town') }} as city,
        {{ clean_code(adapter.quote('State')) }} as state_code,
        -- ZIP+4 keeps its first five digits; a lost leading zero comes back.
        lpad(split_part({{ header_text('ZIP Code') }}, '-', 1), 5, '0') as zip_code,
        {{ header_text('County/Parish') }} as county,
        {{ header_text('Telephone Number') }} as telephone_number,
        {{ header_text('Hospital Type') }} as hospital_type,
        {{ header_text('Hospital Ownership') }} as hospital_ownership,
        case lower({{ header_text('Emergency Services') }})
            when 'yes' then true when 'no' then false
        end as has_emergency_services,
        coalesce(upper({{ header_text('Meets criteria for birthing friendly designation') }}) = 'Y', false)
            as is_birthing_friendly,
        try_cast({{ header_text('Hospital overall rating') }} as integer) as overall_rating,
        case
            when try_cast({{ header_text('Hospital overall rating') }} as integer) is not null then 'rated'
            else coalesce({{ header_text('Hospital overall rating') }}, 'blank')
        end as overall_rating_status,
        {{ header_text('Hospital overall rating footnote') }} as overall_rating_footnote,
        {% for key, label in groups %}
            try_cast({{ header_text('Count of Facility ' ~ label ~ ' Measures') }} as integer)
                as {{ key }}_facility_measures,
            try_cast({{ header_text('Count of ' ~ label ~ ' Measures Better') }} as integer) as {{ key }}_better,
            try_cast({{ header_text('Count of ' ~ label ~ ' Measures No Different') }} as integer)
                as {{ key }}_no_different,
            try_cast({{ header_text('Count of ' ~ label ~ ' Measures Worse') }} as integer) as {{ key }}_worse,
            case
                when try_cast({{ header_text('Count of ' ~ label ~ ' Measures Worse') }} as integer) is not null
                    then 'reported'
                else coalesce({{ header_text('Count of Facility ' ~ label ~ ' Measures') }}, 'blank')
            end as {{ key }}_status,
            {{ header_text(label ~ ' Group Footnote') }} as {{ key }}_footnote,
        {% endfor %}
        try_cast({{ header_text('Count of Facility Pt Exp Measures') }} as integer) as pt_exp_facility_measures,
        try_cast({{ header_text('Count of Facility TE Measures') }} as integer) as te_facility_measures,
        {{ identical_row_counts('source') }}
    from source
),

checked as (
    select
        cleaned.*,
        states.state_code is not null as is_known_state,
        hospital_types.hospital_type is not null as is_known_type,
        count(*) over (partition by cleaned.facility_id) as rows_with_key
    from cleaned
    left join states on cleaned.state_code = states.state_code
    left join hospital_types on cleaned.hospital_type = hospital_types.hospital_type
),

final as (
    select
        *,
        case
            {{ unique_key_reasons({'facility_id': 'Facility ID'}) }}
            when not is_known_state then 'unknown code: State'
            when not {{ regex_match('zip_code', '[0-9]{5}') }} then 'unparseable: ZIP Code'
            when overall_rating not between 1 and 5 then 'out of range: Hospital overall rating'
        end as quarantine_reason
    from checked
)

select * from final
