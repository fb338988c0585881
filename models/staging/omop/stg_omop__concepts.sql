-- The concepts the data's own vocabulary (the concept file) holds, when it is supplied; empty
-- when it is not. A concept the data use that is missing here is counted as such.
select
    {{ omop_id('concept_id') }} as concept_id,
    concept_name,
    vocabulary_id,
    standard_concept
from (
    {{ omop_select('concept', {
        'concept_id': 'concept_id', 'concept_name': 'concept_name', 'vocabulary_id': 'vocabulary_id',
        'standard_concept': 'standard_concept'}) }}
) as concept
qualify row_number() over (partition by {{ omop_id('concept_id') }} order by omop_row_number) = 1
order by concept_id
