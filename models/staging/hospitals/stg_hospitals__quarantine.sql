-- Rows of the hospital and income files that cannot be used, with the file, the row's key and
-- the reason. Rows read = rows staged + rows quarantined. One select per extract declared in
-- hospitals_raw (macros/extracts/extract_declaration.sql).
{{ extract_quarantine('hospitals') }}
