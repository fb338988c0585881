-- Every concept of each OMOP concept set (ref_omop_concept_sets): the concepts the seed lists,
-- and, for those with include_descendants, each descendant the data's own concept_ancestor
-- gives. Without a concept_ancestor file only the listed concepts count (doc omop_concept_sets).
with

concept_sets as (
    select * from {{ ref('ref_omop_concept_sets') }}
),

ancestors as (
    select
        {{ omop_id('ancestor_concept_id') }} as ancestor_concept_id,
        {{ omop_id('descendant_concept_id') }} as descendant_concept_id
    from (
        {{ omop_select('concept_ancestor', {
            'ancestor_concept_id': 'ancestor_concept_id', 'descendant_concept_id': 'descendant_concept_id'}) }}
    ) as concept_ancestor
),

members as (
    select
        concept_set,
        concept_id,
        concept_id as listed_concept_id,
        maps_to,
        'listed' as membership
    from concept_sets
    union all
    select
        concept_sets.concept_set,
        ancestors.descendant_concept_id as concept_id,
        concept_sets.concept_id as listed_concept_id,
        concept_sets.maps_to,
        'descendant' as membership
    from concept_sets
    inner join ancestors on concept_sets.concept_id = ancestors.ancestor_concept_id
    where
        concept_sets.include_descendants
        and ancestors.descendant_concept_id != ancestors.ancestor_concept_id
),

final as (
    select * from members
    -- A concept under two listed concepts of one set counts once: as listed, else under the
    -- lowest listed id.
    qualify row_number() over (
        partition by concept_set, concept_id
        order by membership = 'listed' desc, listed_concept_id
    ) = 1
)

select * from final
order by concept_set, concept_id
