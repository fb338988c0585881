"""Structural checks on every raw extract before DuckDB reads it.

DuckDB's CSV reader guesses: a gzip or Parquet file under a ``.csv`` name gives "could not
detect the CSV dialect", a row with one comma too many gives false "missing column" errors, and a
rejected row is printed verbatim (names, NHS numbers) to the terminal and the dbt log. This module
reads each file itself, once, as a stream, and reports what is wrong in words: the file, the line
number and the problem, never a field's content. The only text it repeats from a file is header
names, and only once the header is recognisably the extract's own.

It runs inside the dbt run: ``health_equity.engine.plugin`` registers :func:`sql_check` as a DuckDB
function and the ``validate_sources`` macro (on-run-start) calls it once per source declared in
the source YAML, with the columns the YAML declares, the source's ``meta.optional`` flag and the
var that points the extract at a file. The declaration has that one reader
(macros/extracts/extract_declaration.sql); nothing here reads the sources YAML.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import itertools
import json
import os
from pathlib import Path

from health_equity.engine.extract_files import CHUNK, file_key, remember_sha256

# First bytes of formats that are not CSV text, and what to call them.
MAGIC = [
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"PAR1", "a Parquet file"),
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook)"),
    (b"BZh", "bzip2-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
]
MAX_LINES_NAMED = 5  # bad lines listed by number per file; the rest are counted
# DuckDB's read_csv refuses a line longer than its max_line_size (2 MiB by default) with a generic
# "could not detect the CSV dialect"; no one field may be longer, so the check stops at the first
# one that is, naming its line, instead of reading (say) a 2 GB field into memory.
MAX_FIELD_CHARS = 2_097_152
csv.field_size_limit(MAX_FIELD_CHARS)
# Byte-order marks of encodings other than UTF-8 (longest first: UTF-32 LE starts like UTF-16 LE).
BOMS = [
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
]
# Delimiters a spreadsheet or another system may have written instead of the comma.
OTHER_DELIMITERS = {";": "semicolon ';'", "\t": "tab", "|": "pipe '|'"}


def _content_kind(head: bytes) -> str | None:
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: ASCII characters with a NUL byte beside each."""
    pairs = len(head) // 2
    if pairs < 4:
        return None
    if sum(head[2 * i + 1] == 0 and head[2 * i] != 0 for i in range(pairs)) >= 0.9 * pairs:
        return "UTF-16 (little-endian)"
    if sum(head[2 * i] == 0 and head[2 * i + 1] != 0 for i in range(pairs)) >= 0.9 * pairs:
        return "UTF-16 (big-endian)"
    return None


def _other_encoding(head: bytes) -> str | None:
    """The encoding of a file that is text, but not UTF-8, where its first bytes tell."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    return _utf16_without_bom(head)


def _first_bad_utf8(path: str) -> tuple[int, int]:
    """(line, byte) of the first byte that is not UTF-8: the physical line (1 = the header) and
    the byte's position in that line, both counted from 1. Read line by line, as bytes: the text
    reader decodes ahead in blocks, so where it fails says nothing about the line."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, exc.start + 1
    return 0, 0


def _delimiter_found(header_line: str, columns: list[str]) -> str | None:
    """The delimiter a header line uses when it is not the comma: the one that splits it into at
    least half of the expected column names, where the comma does not."""
    expected = set(columns)

    def names(delimiter: str) -> set[str]:
        return {n.strip().strip('"').strip() for n in header_line.split(delimiter)}

    if not expected or len(names(",") & expected) * 2 >= len(expected):
        return None
    for delimiter, name in OTHER_DELIMITERS.items():
        if len(names(delimiter) & expected) * 2 >= len(expected):
            return name
    return None


def _header_problems(label: str, path: str, header: list[str], columns: list[str]) -> list[str]:
    problems = []
    names = [h for h in header if h != ""]  # the ACS layout ends every line with an empty column
    seen: dict[str, list[str]] = {}
    for name in names:
        seen.setdefault(name.strip().casefold(), []).append(name)
    clashes = [group for group in seen.values() if len(group) > 1]
    expected = {c for c in columns}
    found = expected & set(header)
    looks_like_header = len(found) * 2 >= len(expected) if expected else True
    for group in clashes:
        shown = ", ".join(f"'{n}'" for n in group) if looks_like_header else f"{len(group)} columns"
        kind = "duplicate" if len(set(group)) == 1 else "ambiguous"
        note = "" if kind == "duplicate" else " (the same name apart from case or spaces)"
        problems.append(
            f"extract {label} ({path}): {kind} column names in the header: {shown}{note}; "
            "each column must have one unique name"
        )
    missing = [c for c in columns if c not in header]
    if missing and not looks_like_header:
        problems.append(
            f"extract {label} ({path}): line 1 is not this extract's header: only {len(found)} of the "
            f"{len(expected)} expected columns are there (is the header row missing?); expected: " + ", ".join(columns)
        )
    elif missing:
        others = [h for h in header if h and h not in expected]
        for col in missing:
            problems.append(
                f"extract {label} ({path}): missing column '{col}'"
                + (f"; columns in the file not expected: {', '.join(others)}" if others else "")
            )
    return problems


class _HashingReader(io.RawIOBase):
    """The bytes of a file as they are read, SHA-256 hashed on the way: the structural pass and
    the provenance hash are one read of the file."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
        return n


def _open_hashed(path: str) -> tuple[io.BufferedReader, _HashingReader, tuple]:
    """The file opened once, buffered, with the hasher under the buffer and the file's cache key
    (health_equity.engine.extract_files.file_key) as it was opened."""
    raw = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the caller's with-block
    key = file_key(path, os.fstat(raw.fileno()))
    hashing = _HashingReader(raw)
    return io.BufferedReader(hashing, CHUNK), hashing, key


def check_csv(label: str, path: str, columns: list[str], optional: bool = False) -> list[str]:
    """Problems with one CSV extract, each naming the file and, where there is one, the line. The
    file is opened once and read once, as a stream; read to its end, its SHA-256 is left for
    ``file_info`` (the provenance hash), so no one reads it again for that."""
    buffered, hashing, key = _open_hashed(path)
    with buffered, hashing.raw:
        problems = _check_csv_stream(label, path, columns, optional, buffered)
        if not problems and not buffered.read(1):  # read to the end: the digest is the file's
            remember_sha256(key, hashing.digest.hexdigest())
    return problems


def _check_csv_stream(label: str, path: str, columns: list[str], optional: bool, buffered) -> list[str]:
    head = buffered.peek(8)[:8]
    kind = _content_kind(head)
    if kind:
        return [f"extract {label} ({path}): the file is {kind}, not CSV text: convert or decompress it first"]
    if not head:
        return [] if optional else [f"extract {label} ({path}): the file is empty (no header, no rows)"]
    encoding = _other_encoding(head)
    if encoding:
        return [
            f"extract {label} ({path}): the file is {encoding} text, not UTF-8: save it as UTF-8 "
            "(in a spreadsheet, 'CSV UTF-8'; or iconv -f UTF-16 -t UTF-8)"
        ]
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")
    try:
        first_line = text.readline(MAX_FIELD_CHARS)
    except UnicodeDecodeError:
        text.detach()
        return [_not_utf8(label, path)]
    delimiter = _delimiter_found(first_line, columns)
    if delimiter:
        text.detach()
        return [
            f"extract {label} ({path}): line 1 is delimited by {delimiter}, not by the comma ',' "
            "the project reads: save the file as comma-separated values"
        ]
    try:
        return _check_csv_rows(label, path, columns, optional, text, first_line)
    finally:
        text.detach()  # the caller's with-block closes the file


def _not_utf8(label: str, path: str) -> str:
    """The problem of a file that is not UTF-8, naming the first bad byte (found by reading the
    file again: only on this error)."""
    line, byte = _first_bad_utf8(path)
    return (
        f"extract {label} ({path}): the file is not UTF-8 text: line {line}, byte {byte} is not UTF-8; "
        "it looks like an 8-bit encoding such as Latin-1 (ISO-8859-1) or Windows-1252: save it as UTF-8 "
        "(or iconv -f WINDOWS-1252 -t UTF-8)"
    )


def _check_csv_rows(label: str, path: str, columns: list[str], optional: bool, text, first_line: str) -> list[str]:
    problems: list[str] = []
    bad: list[str] = []
    n_bad = 0
    rows = 0
    last = last_bad = 0
    try:
        reader = csv.reader(itertools.chain([first_line], text), strict=True)
        start = 1
        try:
            header = next(reader)
        except StopIteration:
            header = []
        problems += _header_problems(label, path, header, columns)
        width = len(header)
        start = reader.line_num + 1
        for record in reader:
            if record == []:  # a blank line
                start = reader.line_num + 1
                continue
            rows += 1
            last = start
            if len(record) != width:
                n_bad += 1
                last_bad = start
                if len(bad) < MAX_LINES_NAMED:
                    bad.append(f"line {start} has {len(record)} fields, the header has {width}")
            start = reader.line_num + 1
    except csv.Error as exc:
        message = str(exc)
        if "unexpected end of data" in message:
            what = f"a quoted field opened on line {start} is never closed (unterminated quote, or a truncated file)"
        elif "field larger than field limit" in message:
            what = (
                f"line {start} has a field longer than {MAX_FIELD_CHARS:,} characters, more than DuckDB reads "
                "on one line (a quote that is never closed, or content that is not a CSV value)"
            )
        elif "NUL" in message:
            what = f"line {start} contains a NUL byte (binary content, not CSV text)"
        else:
            what = (
                f"line {start} has a quote out of place (a quoted value must end at a comma or line end; "
                "a quote inside a quoted value must be doubled)"
            )
        problems.append(f"extract {label} ({path}): {what}")
        return problems
    except UnicodeDecodeError:
        problems.append(_not_utf8(label, path))
        return problems
    if bad:
        more = f"; and {n_bad - len(bad)} more line(s)" if n_bad > len(bad) else ""
        hint = (
            f"line {last} is the last line: the file looks truncated"
            if last_bad == last and n_bad == 1
            else "an unquoted comma in a value, or a line break inside one"
        )
        problems.append(f"extract {label} ({path}): wrong number of fields: " + "; ".join(bad) + more + f" ({hint})")
    if rows == 0 and not optional and header:
        problems.append(
            f"extract {label} ({path}): the file has a header but no data rows "
            "(declare the source meta: {optional: true} if it may be empty)"
        )
    return problems


def check_parquet(label: str, path: str, columns: list[str], optional: bool = False) -> list[str]:
    """Problems with one Parquet extract: its magic bytes, footer, columns and rows. The file is
    opened once: read through once for its SHA-256 (left for ``file_info``), then its footer is
    read from the same handle."""
    import pyarrow.parquet as pq

    buffered, hashing, key = _open_hashed(path)
    with buffered, hashing.raw:
        head = buffered.peek(8)[:8]
        tail = b""
        size = 0
        for block in iter(lambda: buffered.read(CHUNK), b""):
            size += len(block)
            tail = (tail + block)[-4:]
        sha256 = hashing.digest.hexdigest()
        if not (head.startswith(b"PAR1") and tail == b"PAR1"):
            kind = _content_kind(head) or ("empty" if size == 0 else "not a Parquet file (or a truncated one)")
            return [f"extract {label} ({path}): the file is {kind}, expected Parquet"]
        hashing.raw.seek(0)
        try:
            meta = pq.read_metadata(hashing.raw)
        except Exception:  # noqa: BLE001 - any reader error means the same thing here
            return [f"extract {label} ({path}): the Parquet footer cannot be read (a truncated or damaged file)"]
    remember_sha256(key, sha256)
    header = meta.schema.to_arrow_schema().names
    problems = _header_problems(label, path, header, columns)
    if meta.num_rows == 0 and not optional:
        problems.append(
            f"extract {label} ({path}): the file has no data rows "
            "(declare the source meta: {optional: true} if it may be empty)"
        )
    return problems


def check(
    label: str,
    path: str,
    columns: list[str],
    optional: bool = False,
    path_var: str | None = None,
    raw_format: str | None = None,
) -> list[str]:
    """Every problem with one declared extract; an absent optional extract is no problem.
    ``raw_format`` is var raw_format (csv or parquet) for an extract that may come in either: the
    file must be in that format, and a file absent in it but present in the other is named with
    the setting that reads it. Without it (an extract with one format) the extension decides."""
    pattern = any(ch in path for ch in "*?[")
    matches = sorted(glob.glob(path)) if pattern else ([path] if os.path.lexists(path) else [])
    var = path_var or label.split(".")[-1] + "_path"
    if not matches:
        if optional:
            return []
        other = {"csv": "parquet", "parquet": "csv"}.get(raw_format or "")
        if other and path.endswith("." + raw_format) and os.path.exists(path[: -len(raw_format)] + other):
            return [
                f"extract {label}: file not found: {path}; found {path[: -len(raw_format)] + other}, but var "
                f"raw_format is {raw_format}: set raw_format: {other} (e.g. --vars '{{raw_format: {other}}}')"
            ]
        return [f"extract {label}: file not found: {path} (set var raw_dir, or {var}, to the folder or file)"]
    problems = []
    for one in matches:
        if os.path.islink(one) and not os.path.exists(one):
            problems.append(
                f"extract {label} ({one}): is a symbolic link that leads nowhere (it loops, or its target "
                f"{os.readlink(one)!r} does not exist)"
            )
            continue
        if os.path.isdir(one):
            empty = "an empty folder" if not any(os.scandir(one)) else "a folder"
            problems.append(f"extract {label} ({one}): is {empty}, not a file")
            continue
        kind = "parquet" if one.endswith(".parquet") else "csv"
        if raw_format and kind != raw_format:
            problems.append(
                f"extract {label} ({one}): the file is named as {kind.upper() if kind == 'csv' else 'Parquet'}, "
                f"but var raw_format is {raw_format}, the format it is read in: set raw_format: {kind}, "
                f"or point {var} at the extract's .{raw_format} file"
            )
            continue
        try:
            if kind == "parquet":
                problems += check_parquet(label, one, columns, optional)
            else:
                problems += check_csv(label, one, columns, optional)
        except OSError as exc:
            problems.append(f"extract {label} ({one}): cannot be read: {exc.strerror}")
    return problems


def sql_check(
    label: str, path: str, columns_json: str, optional: bool, path_var: str | None = None, raw_format: str | None = None
) -> str:
    """DuckDB scalar function: the problems as a JSON list of strings (empty list when fine)."""
    return json.dumps(check(label, path, json.loads(columns_json), bool(optional), path_var, raw_format or None))


def unknown_vars(names: list[str], project_dir: str | Path = ".") -> list[str]:
    """The vars given on the command line (``--vars``) that the project does not declare (the
    ``vars:`` of its dbt_project.yml), each as a message naming the var and the nearest declared
    one. dbt itself ignores an unknown var, so a typo (``raw_dri`` for ``raw_dir``) would build on
    the default data without a word."""
    import difflib

    import yaml

    project_file = Path(project_dir or ".") / "dbt_project.yml"
    declared = sorted((yaml.safe_load(project_file.read_text()) or {}).get("vars") or {})
    problems = []
    for name in sorted(set(names) - set(declared)):
        nearest = difflib.get_close_matches(name, declared, n=1, cutoff=0.5)
        hint = f"did you mean '{nearest[0]}'?" if nearest else f"the vars are: {', '.join(declared)}"
        problems.append(f"unknown var '{name}' given with --vars: {hint} (declared in {project_file.name})")
    return problems


def sql_unknown_vars(names_json: str, project_dir: str) -> str:
    """DuckDB / Spark scalar function over ``unknown_vars``: the messages as a JSON list."""
    return json.dumps(unknown_vars(json.loads(names_json), project_dir))
