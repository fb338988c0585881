-- Rows read from each raw asthma extract, counted straight from the file, with the path of the
-- file actually read, for reconciliation. One row per extract declared in asthma_raw.
-- Built after the family's base models, so a selection of the sources' descendants recounts it.
{{ depends_on_extracts('asthma') }}
{{ extract_row_counts('asthma') }}
