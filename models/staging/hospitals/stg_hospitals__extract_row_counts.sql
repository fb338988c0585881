-- Rows read from each raw hospital and income file, counted straight from the file, with the path
-- of the file actually read. An optional file that is absent reads 0. One row per extract declared
-- in hospitals_raw.
{{ extract_row_counts('hospitals') }}
