-- Every GP practice row, cleaned, with the first reason (if any) it cannot be used.
with

source as (
    select * from {{ source('asthma_raw', 'gp_practices') }}
),

cleaned as (
    select
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
            when practice_code is null then 'null key: practice_code'
            when count(*) over (partition by practice_code) > 1 then 'duplicate key: practice_code'
        end as quarantine_reason
    from cleaned
)

select * from final
