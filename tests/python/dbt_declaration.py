"""The extract declaration as the project's one reader reads it, asked through dbt.

The sources YAML has one reader: extract_spec and declared_extracts (macros/extracts/extract_declaration.sql),
over dbt's own parse of the YAML (`graph.sources`). Python never parses that YAML itself: a test
that needs the declared extracts asks dbt (`dbt show --inline` of declared_extracts(), in a
throwaway warehouse) and gets each extract's spec, plus what its source() renders as (how DuckDB
reads the file) and its source's meta. The generator knows what it writes without the
declaration; `disagreements` is where the two are compared.
"""

from __future__ import annotations

import csv
import functools
import json
import subprocess
import tempfile
from pathlib import Path

from conftest import REPO, dbt

# Each declared extract's spec, with its source rendered (`relation`) and its meta as dbt read it,
# and the families with their base models (extract_families()).
QUERY = """
{%- set found = [] -%}
{%- for e in declared_extracts() -%}
    {%- do found.append(dict(e, relation=source(e.source_name, e.table_name) | string,
        meta=extract_node(e.source_name, e.table_name).meta)) -%}
{%- endfor -%}
select {{ sql_string(tojson({'extracts': found, 'families': extract_families()})) }} as declaration
"""


def read_declaration(vars_: dict | None = None, project: Path = REPO) -> subprocess.CompletedProcess:
    """dbt's run of the reader: its output, or the error that stopped it."""
    with tempfile.TemporaryDirectory(prefix="declaration-") as work:
        command = ["--quiet", "show", "--inline", QUERY, "--output", "json", "--limit", "-1"]
        return dbt(command, Path(work) / "d.duckdb", Path(work), vars_ or None, project=project)


@functools.cache
def _declared(vars_json: str, project: str) -> str:
    r = read_declaration(json.loads(vars_json), Path(project))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(r.stdout)["show"][0]["declaration"]


def declaration(vars_: dict | None = None, project: Path = REPO) -> dict:
    """{extracts, families}: one dbt run per project and vars in a test process."""
    return json.loads(_declared(json.dumps(vars_ or {}, sort_keys=True), str(project)))


def declared_extracts(vars_: dict | None = None, project: Path = REPO) -> list[dict]:
    """Every declared extract's spec (name, family, path, path_var, format, formats, optional,
    key, base_model, columns, ...), plus `relation` and `meta`."""
    return declaration(vars_, project)["extracts"]


def written_columns(path: Path) -> list[str]:
    """A generated file's column names: the Parquet schema, or the CSV header (without the empty
    name of the trailing comma the ACS layout ends each line with)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(path).names
    with path.open(newline="", encoding="utf-8") as fh:
        return [name for name in next(csv.reader(fh)) if name]


def generated(out: Path) -> tuple[dict[str, dict], str]:
    """The files a generator run wrote into `out` (its manifest's files, each with the columns
    read from the file) and the format it was asked for."""
    manifest = json.loads((out / "manifest.json").read_text())
    files = {name: {**meta, "columns": written_columns(out / meta["path"])} for name, meta in manifest["files"].items()}
    return files, manifest["format"]


def disagreements(files: dict[str, dict], fmt: str, declared: list[dict]) -> list[str]:
    """Where the generator's files (name -> path, kind, columns) and the declared extracts
    disagree: a file no source declares; one with another extension than the declared format
    (`fmt` where the extract may come in it, else its one format), other columns than the
    declared ones, or another family than its kind; a non-optional declared extract of a family
    the generator writes that it does not write."""
    by_name = {e["name"]: e for e in declared}
    problems = []
    for name, meta in sorted(files.items()):
        e = by_name.get(name)
        if e is None:
            problems.append(f"{name}: written ({meta['path']}), but no source declares it")
            continue
        expected = f"{name}.{fmt if fmt in e['formats'] else e['formats'][0]}"
        if meta["path"] != expected:
            problems.append(f"{name}: written as {meta['path']}; the declaration reads {expected}")
        if meta["columns"] != e["columns"]:
            extra = [c for c in meta["columns"] if c not in e["columns"]]
            missing = [c for c in e["columns"] if c not in meta["columns"]]
            what = f"undeclared {extra}, not written {missing}" if extra or missing else "in another order"
            problems.append(f"{name}: its columns are not the declared ones ({what})")
        if meta["kind"] != e["family"]:
            problems.append(f"{name}: written as kind {meta['kind']}; declared in family {e['family']}")
    kinds = {meta["kind"] for meta in files.values()}
    for e in declared:
        if e["family"] in kinds and not e["optional"] and e["name"] not in files:
            problems.append(f"{e['name']}: declared in family {e['family']} (not optional), but not written")
    return problems
