-- Rows read from each raw asthma extract, counted straight from the file, with the path of the
-- file actually read, for reconciliation. One row per extract declared in asthma_raw.
{{ extract_row_counts('asthma') }}
