-- One row per measure of the Complications and Deaths file or of the reference seed: rows read,
-- rows and hospitals with a reported score, and whether the measure enters measure_score. A
-- measure the seed does not list (a newer CMS measure such as the hybrid hospital-wide mortality
-- measure) is kept in staging and counted here, never dropped from view; only the seed's
-- measures are scored.
with

rows_read as (
    select * from {{ ref('base_cms__complications_and_deaths') }}
    where measure_id is not null
),

seed as (
    select * from {{ ref('ref_cms_complication_measures') }}
),

by_measure as (
    select
        measure_id,
        count(*) as rows_read,
        count(*) filter (where quarantine_reason is null) as rows_staged,
        count(score) filter (where quarantine_reason is null) as rows_with_score,
        count(distinct facility_id) filter (where quarantine_reason is null and score is not null)
            as hospitals_with_score
    from rows_read
    group by measure_id
),

final as (
    select
        coalesce(by_measure.measure_id, seed.measure_id) as measure_id,
        seed.measure_name,
        seed.star_rating_group,
        seed.measure_id is not null as in_reference_seed,
        seed.measure_id is not null and coalesce(by_measure.rows_with_score, 0) > 0 as used_in_score,
        coalesce(by_measure.rows_read, 0) as rows_read,
        coalesce(by_measure.rows_staged, 0) as rows_staged,
        coalesce(by_measure.rows_with_score, 0) as rows_with_score,
        coalesce(by_measure.hospitals_with_score, 0) as hospitals_with_score,
        case
            when seed.measure_id is null then 'kept, not scored: not in ref_cms_complication_measures'
            when by_measure.measure_id is null then 'not in the file read'
            when coalesce(by_measure.rows_with_score, 0) = 0 then 'in the file, no reported score'
            else 'scored'
        end as coverage_status
    from by_measure
    full outer join seed on by_measure.measure_id = seed.measure_id
)

select * from final
