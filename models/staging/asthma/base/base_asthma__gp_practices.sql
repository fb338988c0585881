-- Every GP practice row, cleaned, with the first reason (if any) it cannot be used.
with

source as (
    {{ numbered_source(asthma_extract('gp_practices'), clean_code('practice_code')) }}
),

cleaned as (
    select
        {{ numbered_columns() }},
        {{ clean_code('practice_code') }} as practice_code,
        {{ clean_text('practice_name') }} as practice_name,
        {{ clean_text('town') }} as town,
        {{ clean_code('postcode') }} as postcode
    from source
),

final as (
    select
        *,
        case
            {{ key_reasons('practice_code') }}
        end as quarantine_reason
    from cleaned
)

select * from final
