-- The practices of the OMOP register in the layout of the gp_practices extract: one per care
-- site the patients are registered with (OMOP when the person has none).
with

patients as (
    select * from {{ ref('stg_omop__patients') }}
),

final as (
    select distinct
        practice_code,
        'OMOP care site ' || practice_code as practice_name,
        cast(null as string) as address_line_1,
        cast(null as string) as town,
        cast(null as string) as postcode
    from patients
)

select * from final
order by practice_code
