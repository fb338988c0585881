-- Rows of the asthma extracts that cannot be used, with the extract, the row's own key and
-- the reason, and the row's number in the file (1 = first data row) to find it by without
-- repeating its content. Nothing is dropped silently: rows read = rows staged + rows quarantined.
-- One select per extract declared in asthma_raw (macros/extracts/extract_declaration.sql).
{{ extract_quarantine('asthma') }}
