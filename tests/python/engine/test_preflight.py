"""Structural checks on raw extracts (health_equity.engine.preflight): one case per class of fault, each
message naming the file and the line or column and never a value from a row."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import dbt
from dbt_declaration import declared_extracts

from health_equity.engine import preflight as P

COLUMNS = ["patient_id", "nhs_number", "given_name", "date_of_birth"]
HEADER = ",".join(COLUMNS) + "\n"
ROWS = [
    "1000001,4000000017,Olivia,1980-02-03\n",
    "1000002,4000000025,Harry,1975-11-30\n",
    "1000003,4000000033,Amelia,2001-07-14\n",
]
SECRETS = ["4000000017", "4000000025", "4000000033", "Olivia", "Harry", "Amelia"]


def write(tmp_path, text: str | bytes, name: str = "patients.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def problems(path, optional=False, columns=COLUMNS):
    out = P.check("asthma_raw.patients", path, columns, optional)
    for message in out:
        assert path in message and "asthma_raw.patients" in message
        assert not any(s in message for s in SECRETS), message
    return out


def test_a_well_formed_extract_has_no_problem(tmp_path):
    assert problems(write(tmp_path, HEADER + "".join(ROWS))) == []
    # Quoted values with commas, doubled quotes and line breaks are CSV, not faults.
    quoted = HEADER + '1000001,"40000,00017","O""Brien","line\nbreak"\n'
    assert problems(write(tmp_path, quoted)) == []


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (gzip.compress((HEADER + "".join(ROWS)).encode()), "gzip-compressed data"),
        (b"PAR1" + b"\x00" * 40 + b"PAR1", "a Parquet file"),
        (b"BZh91AY&SY" + b"\x00" * 20, "bzip2-compressed data"),
    ],
)
def test_compressed_or_parquet_content_under_a_csv_name_is_named(tmp_path, content, kind):
    out = problems(write(tmp_path, content))
    assert out == [f"extract asthma_raw.patients ({tmp_path}/patients.csv): the file is {kind}, not CSV text: "
                   "convert or decompress it first"]  # fmt: skip


def test_a_zip_archive_under_a_csv_name_is_named(tmp_path):
    with zipfile.ZipFile(tmp_path / "patients.csv", "w") as z:
        z.writestr("patients.csv", HEADER + "".join(ROWS))
    assert "a zip archive" in problems(str(tmp_path / "patients.csv"))[0]


def test_a_row_with_an_extra_unquoted_comma_is_named_by_line(tmp_path):
    rows = [ROWS[0], "1000002,4000000025,Harry,Jr,1975-11-30\n", ROWS[2]]
    (message,) = problems(write(tmp_path, HEADER + "".join(rows)))
    assert "wrong number of fields: line 3 has 5 fields, the header has 4" in message
    assert "unquoted comma" in message


def test_many_bad_lines_are_listed_up_to_five_then_counted(tmp_path):
    rows = ["1,2,3\n"] * 8 + ROWS
    (message,) = problems(write(tmp_path, HEADER + "".join(rows)))
    assert "line 2 has 3 fields" in message and "line 6 has 3 fields" in message
    assert "line 7 " not in message and "and 3 more line(s)" in message


def test_a_file_truncated_mid_row_says_so(tmp_path):
    text = HEADER + "".join(ROWS)
    (message,) = problems(write(tmp_path, text[: len(text) - 18]))
    assert "line 4 has 3 fields, the header has 4 (line 4 is the last line: the file looks truncated)" in message


def test_an_unterminated_quote_names_the_line_it_opens_on(tmp_path):
    rows = [ROWS[0], '1000002,4000000025,"Harry,1975-11-30\n', ROWS[2]]
    (message,) = problems(write(tmp_path, HEADER + "".join(rows)))
    assert "a quoted field opened on line 3 is never closed" in message


def test_a_stray_quote_after_a_quoted_value_names_the_line(tmp_path):
    rows = [ROWS[0], ROWS[1], '1000003,"4000000033"x,Amelia,2001-07-14\n']
    (message,) = problems(write(tmp_path, HEADER + "".join(rows)))
    assert "line 4 has a quote out of place" in message


def test_text_that_is_not_utf8_names_the_line_and_byte_and_the_encoding_it_looks_like(tmp_path):
    # The bad byte far into the file: the text reader decodes ahead in 8 kB blocks, so where it
    # fails is not the line; the check must find the line itself.
    body = HEADER + ROWS[0] * 4457 + "1000002,4000000025,Zoë,1975-11-30\n" + ROWS[2] * 50
    (message,) = problems(write(tmp_path, body.encode("latin-1")))
    assert message == (
        f"extract asthma_raw.patients ({tmp_path}/patients.csv): the file is not UTF-8 text: line 4459, byte 22 "
        "is not UTF-8; it looks like an 8-bit encoding such as Latin-1 (ISO-8859-1) or Windows-1252: save it as "
        "UTF-8 (or iconv -f WINDOWS-1252 -t UTF-8)"
    )
    # On line 2, it says line 2 (not "after line 0").
    body = HEADER + "1000002,4000000025,Zoë,1975-11-30\n"
    assert "line 2, byte 22 is not UTF-8" in problems(write(tmp_path, body.encode("latin-1")))[0]


@pytest.mark.parametrize(
    ("encoding", "named"),
    [("utf-16", "UTF-16 (little-endian)"), ("utf-16-be", "UTF-16 (big-endian)"),
     ("utf-16-le", "UTF-16 (little-endian)"), ("utf-32", "UTF-32 (little-endian)")],
)  # fmt: skip
def test_utf16_or_utf32_text_is_named_with_its_encoding(tmp_path, encoding, named):
    (message,) = problems(write(tmp_path, (HEADER + "".join(ROWS)).encode(encoding)))
    assert message == (
        f"extract asthma_raw.patients ({tmp_path}/patients.csv): the file is {named} text, not UTF-8: save it as "
        "UTF-8 (in a spreadsheet, 'CSV UTF-8'; or iconv -f UTF-16 -t UTF-8)"
    )


@pytest.mark.parametrize(("delimiter", "named"), [(";", "semicolon ';'"), ("\t", "tab"), ("|", "pipe '|'")])
def test_a_file_delimited_by_something_other_than_the_comma_names_both_delimiters(tmp_path, delimiter, named):
    text = (HEADER + "".join(ROWS)).replace(",", delimiter)
    (message,) = problems(write(tmp_path, text))
    assert message == (
        f"extract asthma_raw.patients ({tmp_path}/patients.csv): line 1 is delimited by {named}, not by the comma "
        "',' the project reads: save the file as comma-separated values"
    )
    assert "header row missing" not in message
    # A spreadsheet quotes every name: still the delimiter, not a quote out of place.
    quoted = HEADER.replace(",", f'"{delimiter}"').replace("patient_id", '"patient_id').replace("birth\n", 'birth"\n')
    assert problems(write(tmp_path, quoted + "".join(ROWS).replace(",", delimiter))) == [message]


def test_an_oversized_field_is_caught_with_its_line_before_duckdb_guesses(tmp_path):
    huge = ROWS[0] + '1000002,4000000025,"' + "x" * (P.MAX_FIELD_CHARS + 10) + '",1975-11-30\n' + ROWS[2]
    (message,) = problems(write(tmp_path, HEADER + huge))
    assert message == (
        f"extract asthma_raw.patients ({tmp_path}/patients.csv): line 3 has a field longer than 2,097,152 "
        "characters, more than DuckDB reads on one line (a quote that is never closed, or content that is not a "
        "CSV value)"
    )
    # Just under the limit is a value, not a fault.
    fits = ROWS[0] + '1000002,4000000025,"' + "x" * (P.MAX_FIELD_CHARS - 10) + '",1975-11-30\n'
    assert problems(write(tmp_path, HEADER + fits)) == []


def test_a_symbolic_link_loop_or_an_empty_folder_is_reported_as_what_it_is(tmp_path):
    import os

    from health_equity.engine import extract_files

    loop = tmp_path / "patients.parquet"
    os.symlink(loop, loop)
    (message,) = problems(str(loop))
    assert message == (
        f"extract asthma_raw.patients ({loop}): is a symbolic link that leads nowhere (it loops, or its target "
        f"'{loop}' does not exist)"
    )
    folder = tmp_path / "hospital_admissions.parquet"
    folder.mkdir()
    assert P.check("asthma_raw.x", str(folder), COLUMNS) == [
        f"extract asthma_raw.x ({folder}): is an empty folder, not a file"
    ]
    # Both count as present when the build picks an extract's format, so it reads (and the check
    # reports) the .parquet the user put there, instead of asking for a .csv nobody mentioned.
    assert extract_files.path_exists(str(loop)) and extract_files.path_exists(str(folder))
    assert not extract_files.path_exists(str(tmp_path / "patients.csv"))


@pytest.mark.parametrize(
    ("header", "kind", "named"),
    [
        ("patient_id,nhs_number,given_name,given_name,date_of_birth", "duplicate", "'given_name', 'given_name'"),
        ("patient_id,nhs_number,given_name,Given_Name ,date_of_birth", "ambiguous", "'given_name', 'Given_Name '"),
    ],
)
def test_duplicate_or_ambiguous_header_names_are_an_error_naming_them(tmp_path, header, kind, named):
    rows = "1000001,4000000017,Olivia,Liv,1980-02-03\n"
    (message,) = problems(write(tmp_path, header + "\n" + rows))
    assert message.startswith(f"extract asthma_raw.patients ({tmp_path}/patients.csv): {kind} column names")
    assert named in message


def test_a_missing_column_is_named_with_the_unexpected_ones(tmp_path):
    text = "patient_id,nhs_number,given_name,dob\n" + "1000001,4000000017,Olivia,1980-02-03\n"
    (message,) = problems(write(tmp_path, text))
    assert message.endswith("missing column 'date_of_birth'; columns in the file not expected: dob")


def test_a_file_without_its_header_row_is_not_echoed(tmp_path):
    (message,) = problems(write(tmp_path, "".join(ROWS)))
    assert "line 1 is not this extract's header: only 0 of the 4 expected columns" in message


def test_empty_and_header_only_files_are_errors_unless_the_source_is_optional(tmp_path):
    empty, header_only = write(tmp_path, "", "a.csv"), write(tmp_path, HEADER, "b.csv")
    assert "the file is empty" in P.check("x.a", empty, COLUMNS)[0]
    assert "has a header but no data rows" in P.check("x.b", header_only, COLUMNS)[0]
    assert "meta: {optional: true}" in P.check("x.b", header_only, COLUMNS)[0]
    assert P.check("x.a", empty, COLUMNS, optional=True) == []
    assert P.check("x.b", header_only, COLUMNS, optional=True) == []


def test_an_absent_file_is_an_error_unless_the_source_is_optional(tmp_path):
    path = str(tmp_path / "nowhere.csv")
    (message,) = P.check("hospitals_raw.complications_and_deaths", path, COLUMNS)
    assert f"file not found: {path}" in message and "complications_and_deaths_path" in message
    assert P.check("hospitals_raw.complications_and_deaths", path, COLUMNS, optional=True) == []


def test_parquet_extracts_are_checked_for_content_columns_and_rows(tmp_path):
    good = tmp_path / "patients.parquet"
    pq.write_table(pa.table({c: ["1"] for c in COLUMNS}), good)
    assert problems(str(good)) == []
    cut = write(tmp_path, good.read_bytes()[:-30], "cut.parquet")
    assert "expected Parquet" in problems(cut)[0]
    csv_inside = write(tmp_path, HEADER + ROWS[0], "text.parquet")
    assert "expected Parquet" in problems(csv_inside)[0]
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({c: pa.array([], pa.string()) for c in COLUMNS}), empty)
    assert "no data rows" in problems(str(empty))[0] and problems(str(empty), optional=True) == []
    renamed = tmp_path / "renamed.parquet"
    pq.write_table(pa.table({c if c != "nhs_number" else "nhs_no": ["1"] for c in COLUMNS}), renamed)
    assert "missing column 'nhs_number'" in problems(str(renamed))[0]


def test_the_sql_entry_point_returns_the_problems_as_json(tmp_path):
    path = write(tmp_path, HEADER)
    assert json.loads(P.sql_check("asthma_raw.patients", path, json.dumps(COLUMNS), False)) == P.check(
        "asthma_raw.patients", path, COLUMNS
    )
    assert json.loads(P.sql_check("asthma_raw.patients", path, json.dumps(COLUMNS), True)) == []
    absent = str(tmp_path / "none.csv")
    (message,) = json.loads(P.sql_check("hospitals_raw.acs", absent, json.dumps(COLUMNS), False, "acs_income_path"))
    assert "or acs_income_path, to the folder" in message


def test_every_declared_extract_passes_with_its_header_and_names_its_own_path_var_when_absent(tmp_path):
    """Every extract as the declaration's reader gives it to validate_sources (through dbt)."""
    extracts = declared_extracts()
    assert extracts
    for extract in extracts:
        label = f"{extract['source_name']}.{extract['table_name']}"
        columns, optional, path_var = extract["columns"], extract["optional"], extract["path_var"]
        path = str(tmp_path / f"{extract['name']}.csv")
        absent = f"extract {label}: file not found: {path} (set var raw_dir, or {path_var}, to the folder or file)"
        expected = [] if optional else [absent]
        assert P.check(label, path, columns, optional, path_var) == expected, label
        header = ",".join(f'"{c}"' for c in columns)
        write(tmp_path, header + "\n" + ",".join("x" for _ in columns) + "\n", f"{extract['name']}.csv")
        assert P.check(label, path, columns, optional, path_var) == [], label
        assert columns and extract["key"] and extract["base_model"] and extract["family"], label


# --- settings ------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[3]


def test_an_unknown_var_is_named_with_the_nearest_declared_one():
    assert P.unknown_vars(["raw_dir", "round_counts_to"], REPO) == []
    (msg,) = P.unknown_vars(["raw_dri"], REPO)
    assert "'raw_dri'" in msg and "did you mean 'raw_dir'?" in msg
    (msg,) = P.unknown_vars(["redact_below"], REPO)
    assert "'redact_counts_at_or_below'" in msg
    # Nothing near: the declared vars are listed instead of a guess.
    (msg,) = P.unknown_vars(["zzzzqqq"], REPO)
    assert "did you mean" not in msg and "raw_dir" in msg and "study_start" in msg


def test_every_var_the_project_reads_is_declared():
    import re

    declared = set(yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"])
    read = set()
    for folder in ("models", "macros", "tests/dbt", "analyses"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in {".sql", ".py", ".yml", ".md"}:
                read |= set(re.findall(r"""\bvar\(\s*['"]([a-z_0-9]+)['"]""", path.read_text()))
    assert read and read <= declared, read - declared


def test_dbt_build_stops_on_a_mistyped_var_naming_it_and_the_nearest(tmp_path):
    r = dbt(["build", "--select", "int_project_settings"], tmp_path / "w.duckdb", tmp_path, {"raw_dri": "x"})
    assert r.returncode != 0
    assert "unknown var 'raw_dri'" in r.stdout and "did you mean 'raw_dir'?" in r.stdout
    assert not (tmp_path / "w.duckdb").exists() or "int_project_settings" not in r.stdout.split("Unknown setting")[0]


def test_a_file_in_the_other_format_than_raw_format_is_named_with_the_setting(tmp_path):
    """raw_format is an explicit setting: an extract absent in that format but present in the
    other, or a path var pointing at a file in the other format, says which setting reads it."""
    (tmp_path / "patients.csv").write_text(HEADER + ROWS[0])
    absent = P.check("asthma_raw.patients", str(tmp_path / "patients.parquet"), COLUMNS, raw_format="parquet")
    assert absent == [
        f"extract asthma_raw.patients: file not found: {tmp_path}/patients.parquet; found {tmp_path}/patients.csv, "
        "but var raw_format is parquet: set raw_format: csv (e.g. --vars '{raw_format: csv}')"
    ]
    other = P.check("asthma_raw.patients", str(tmp_path / "patients.csv"), COLUMNS, False, "patients_path", "parquet")
    assert other == [
        f"extract asthma_raw.patients ({tmp_path}/patients.csv): the file is named as CSV, but var raw_format is "
        "parquet, the format it is read in: set raw_format: csv, or point patients_path at the extract's .parquet file"
    ]
    assert P.check("asthma_raw.patients", str(tmp_path / "patients.csv"), COLUMNS, raw_format="csv") == []
    # Through the SQL entry point, as validate_sources calls it; '' is an extract with one format.
    assert (
        json.loads(
            P.sql_check("asthma_raw.patients", str(tmp_path / "patients.csv"), json.dumps(COLUMNS), False, "", "")
        )
        == []
    )
