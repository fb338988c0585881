"""Export the published marts to Parquet, one Tableau Hyper file, and a Tableau data source per analysis.

What leaves the warehouse is decided by dbt, not here: dbt_project.yml gives every mart a model
config ``meta: {release: published}`` or ``meta: {release: restricted}``, and this tool reads it
from dbt's ``target/manifest.json``.

- Published: the aggregate, disclosure-controlled marts (asthma_inequalities,
  asthma_cluster_profiles, asthma_admission_rate_ratios, asthma_model_diagnostics,
  asthma_inequality_indices), every hospital_* mart (public CMS data), data_quality_* and
  data_provenance. These go to ``<out>/<mart>.parquet``, ``<out>/health_equity.hyper`` and the
  ``.tds`` files.
- Restricted: the patient-level, pseudonymous marts (models/marts/asthma/restricted/:
  asthma_patients, asthma_patient_clusters). They stay in the warehouse. Only
  ``--include-restricted-patient-level`` writes them, as Parquet under ``<out>/restricted/``, never
  into the Hyper extract or a .tds; they are not for publication.

The export fails closed: with no readable manifest, or a mart that the manifest does not classify,
it stops (exit 2) before writing anything, and it never falls back to exporting every table. A
mart with a ``patient_key`` column that the manifest calls published is an error too. Files that an
earlier export left for a mart that is now restricted (``<out>/<mart>.parquet``, and
``<out>/restricted/`` without the flag) are removed, so no patient-level table stays in ``<out>``.

Each file is written to a temporary name in the same folder and renamed into place, so a reader
never sees half a file. The .tds files (health_equity.outputs.tableau) carry the dbt docs' descriptions,
field roles, formats and the relationships between marts. Usage:
``python -m health_equity.outputs.exports --db health_equity.duckdb --out exports --manifest target/manifest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from health_equity.outputs._cli import add_db_argument, add_path_argument, parse_with_db

SCHEMA = "marts"
# Types Tableau Hyper rejects or pandas cannot carry exactly. DuckDB's sum() of integers is a
# 128-bit HUGEINT: counts are exported as BIGINT (so BI tools see whole numbers, not floats);
# DECIMAL becomes DOUBLE.
WIDE_INTEGER = ("HUGEINT", "UHUGEINT", "UBIGINT")
WIDE_NUMERIC = ("DECIMAL",)
# The release classes of dbt_project.yml's `meta: {release: ...}`.
PUBLISHED = "published"
RESTRICTED = "restricted"
# A mart with one of these columns is at patient grain, whatever the manifest says.
PATIENT_LEVEL_COLUMNS = ("patient_key",)
# Subfolder of --out for the restricted marts, written only with --include-restricted-patient-level.
RESTRICTED_DIR = "restricted"
HYPER_NAME = "health_equity.hyper"
RUN_DBT = "run `dbt build` (or `dbt docs generate`) first; nothing exported"


class ReleaseError(Exception):
    """The export cannot tell which marts may leave the warehouse: it stops before writing anything."""


@dataclass(frozen=True)
class Release:
    """The marts of the warehouse by release class, each list sorted by name."""

    published: list[str]
    restricted: list[str]


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.sql(
        f"select table_name from information_schema.tables where table_schema = '{SCHEMA}' order by table_name"
    ).fetchall()
    return [r[0] for r in rows]


def patient_level_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Marts with a patient identifier column: patient grain, so never published."""
    names = ", ".join(f"'{c}'" for c in PATIENT_LEVEL_COLUMNS)
    rows = con.sql(
        "select distinct table_name from information_schema.columns "
        f"where table_schema = '{SCHEMA}' and lower(column_name) in ({names})"
    ).fetchall()
    return {r[0] for r in rows}


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def manifest_releases(manifest: Path) -> dict[str, str | None]:
    """{relation name: meta.release or None} of every dbt model that builds into schema marts.

    A model is a mart when its config's schema (or its node's schema) is ``marts``; its relation
    is its alias, else its name. The release is the model config's ``meta.release`` (dbt copies it
    to the node's ``meta``, read as well). When two models build the same relation, the most
    restrictive class wins (restricted, then missing or unknown, then published).
    Raises ReleaseError when the manifest is missing or is not a dbt manifest."""
    try:
        nodes = json.loads(manifest.read_text())["nodes"]
        if not isinstance(nodes, dict):
            raise TypeError("'nodes' is not an object")
    except FileNotFoundError:
        raise ReleaseError(f"--manifest {manifest}: no such file; {RUN_DBT}") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReleaseError(f"--manifest {manifest}: unreadable ({_one_line(e)}); {RUN_DBT}") from None
    rank = {RESTRICTED: 0, PUBLISHED: 2}  # anything else (missing, misspelt): 1
    releases: dict[str, str | None] = {}
    for node in nodes.values():
        if not isinstance(node, dict) or node.get("resource_type") != "model":
            continue
        config = node.get("config") or {}
        if SCHEMA not in (config.get("schema"), node.get("schema")):
            continue
        relation = node.get("alias") or node.get("name")
        if not relation:
            continue
        release = (config.get("meta") or {}).get("release") or (node.get("meta") or {}).get("release")
        if isinstance(release, str):
            release = release.strip().lower() or None
        elif release is not None:
            release = str(release)
        if relation not in releases or rank.get(release, 1) < rank.get(releases[relation], 1):
            releases[relation] = release
    return releases


def classify(con: duckdb.DuckDBPyConnection, tables: list[str], manifest: Path) -> Release:
    """Split the marts of the warehouse into published and restricted, from dbt's manifest.

    Fails closed (ReleaseError, one line naming the tables) when a mart has no model or no valid
    ``meta.release`` in the manifest, and when a mart the manifest calls published has a
    patient-level column: a manifest that disagrees with the data is not trusted for either."""
    releases = manifest_releases(manifest)

    def named(ts: list[str]) -> str:
        return ", ".join(f"{SCHEMA}.{t}" for t in ts)

    missing = [t for t in tables if t not in releases]
    if missing:
        raise ReleaseError(
            f"{named(missing)}: no model in --manifest {manifest} (a stale manifest, or a table dbt no "
            f"longer builds: drop it); {RUN_DBT}"
        )
    unset = [t for t in tables if releases[t] is None]
    if unset:
        raise ReleaseError(
            f"{named(unset)}: no meta.release (published or restricted) in --manifest {manifest}; "
            f"declare it in dbt_project.yml and {RUN_DBT}"
        )
    unknown = [t for t in tables if releases[t] not in (PUBLISHED, RESTRICTED)]
    if unknown:
        values = ", ".join(f"{SCHEMA}.{t} = {releases[t]!r}" for t in unknown)
        raise ReleaseError(
            f"meta.release in --manifest {manifest} is neither {PUBLISHED} nor {RESTRICTED}: {values}; "
            f"fix dbt_project.yml and {RUN_DBT}"
        )
    patient_level = patient_level_tables(con)
    mismatch = [t for t in tables if releases[t] == PUBLISHED and t in patient_level]
    if mismatch:
        raise ReleaseError(
            f"{named(mismatch)}: a {'/'.join(PATIENT_LEVEL_COLUMNS)} column (patient-level data) but "
            f"release: {PUBLISHED} in --manifest {manifest}; make it {RESTRICTED} in dbt_project.yml "
            f"(models/marts/asthma/restricted/) and {RUN_DBT}"
        )
    return Release(
        published=sorted(t for t in tables if releases[t] == PUBLISHED),
        restricted=sorted(t for t in tables if releases[t] == RESTRICTED),
    )


def export_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """select list casting 128-bit integers to BIGINT and DECIMAL to DOUBLE (Hyper has neither)."""
    cols = con.sql(
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{SCHEMA}' and table_name = '{table}' order by ordinal_position"
    ).fetchall()

    def column(name: str, data_type: str) -> str:
        if data_type.upper().startswith(WIDE_INTEGER):
            return f'cast("{name}" as bigint) as "{name}"'
        if data_type.upper().startswith(WIDE_NUMERIC):
            return f'cast("{name}" as double) as "{name}"'
        if data_type.strip('"').upper() == "NULL":  # an all-NULL column with no type: text
            return f'cast("{name}" as varchar) as "{name}"'
        return f'"{name}"'

    parts = [column(c, t) for c, t in cols]
    return f'select {", ".join(parts)} from {SCHEMA}."{table}"'


def write_parquet(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> Path:
    final = out / f"{table}.parquet"
    tmp = out / f".{table}.parquet.tmp"
    con.sql(f"copy ({export_select(con, table)}) to '{tmp}' (format parquet, compression zstd)")
    os.replace(tmp, final)
    return final


def write_hyper(con: duckdb.DuckDBPyConnection, tables: list[str], out: Path, manifest: Path | None = None) -> Path:
    """The Hyper extract and the .tds files of ``tables``: callers pass only published marts.

    A patient-level table is refused here too, so no caller can put one in the extract."""
    import pantab

    from health_equity.outputs.tableau import write_datasources

    patient_level = sorted(patient_level_tables(con) & set(tables))
    if patient_level:
        raise ValueError(f"patient-level marts never go into {HYPER_NAME}: {', '.join(patient_level)}")
    # Arrow keeps DuckDB's types, typed NULLs included (a pandas detour turns all-NULL columns
    # into a type Hyper rejects).
    frames = {t: con.sql(export_select(con, t)).to_arrow_table() for t in tables}
    final = out / HYPER_NAME
    tmp = out / f".{HYPER_NAME}.tmp"
    tmp.unlink(missing_ok=True)
    pantab.frames_to_hyper(frames, tmp)
    os.replace(tmp, final)
    write_datasources(frames, out, manifest)
    return final


def hyper_available() -> bool:
    try:
        import pantab  # noqa: F401
    except ImportError:
        return False
    return True


def remove_stale_files(out: Path, tables: list[str], release: Release, keep_restricted: bool) -> list[Path]:
    """Delete what an earlier export left that this one must not: a restricted mart's Parquet in
    ``out`` (earlier exports wrote every mart there), and ``out/restricted/`` when this run was not
    asked for the restricted marts (or a mart there that is published now). Only files named after
    a table of schema marts are touched, never anything else a user keeps in the folder."""
    candidates = [out / f"{t}.parquet" for t in release.restricted]
    candidates += [out / f".{t}.parquet.tmp" for t in release.restricted]  # a half-written one
    restricted_dir = out / RESTRICTED_DIR
    stale_there = tables if not keep_restricted else release.published
    candidates += [restricted_dir / name for t in stale_there for name in (f"{t}.parquet", f".{t}.parquet.tmp")]
    removed = []
    for path in candidates:
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
    if not keep_restricted and restricted_dir.is_dir() and not any(restricted_dir.iterdir()):
        restricted_dir.rmdir()
    return removed


def remove_stale_hyper(out: Path) -> list[Path]:
    """Delete an earlier run's Hyper extract and .tds files when this run writes none: they no
    longer match the Parquet files, and an extract from before the release rules held every mart,
    the patient-level ones included."""
    from health_equity.outputs.tableau import ANALYSES

    removed = []
    for path in [out / HYPER_NAME, *(out / f"health_equity_{a}.tds" for a in ANALYSES)]:
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m health_equity.outputs.exports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_argument(p)
    add_path_argument(p, "--out", "exports", "output folder")
    p.add_argument(
        "--hyper",
        choices=["auto", "yes", "no"],
        default="auto",
        help=f"write <out>/{HYPER_NAME} and the .tds files of the published marts: auto = when pantab is "
        "installed (default); without them, an earlier run's Hyper and .tds files are removed",
    )
    add_path_argument(
        p,
        "--manifest",
        "target/manifest.json",
        "dbt manifest (from `dbt build` or `dbt docs generate`): which marts are published (meta.release) "
        "and the Tableau field descriptions; without a readable one nothing is exported",
    )
    p.add_argument(
        "--include-restricted-patient-level",
        action="store_true",
        help="ALSO write the restricted, patient-level pseudonymous marts (release: restricted in the "
        "manifest: asthma_patients, asthma_patient_clusters) as Parquet into <out>/restricted/. They never "
        "go into the Hyper extract or the .tds files, and they are NOT for publication: only for analysts "
        "allowed to see patient-level data, inside the secure environment",
    )
    args = parse_with_db(p, argv)
    if args.hyper == "yes" and not hyper_available():
        p.exit(2, f"{p.prog}: error: --hyper yes needs pantab (in requirements.txt)\n")
    started = time.perf_counter()
    with duckdb.connect(str(args.db), read_only=True) as con:
        tables = mart_tables(con)
        if not tables:
            p.exit(2, f"{p.prog}: error: no tables in schema {SCHEMA} of {args.db}\n")
        try:
            release = classify(con, tables, args.manifest)
        except ReleaseError as e:
            p.exit(2, f"{p.prog}: error: {e}\n")
        if not release.published:
            p.exit(2, f"{p.prog}: error: no mart is release: {PUBLISHED} in --manifest {args.manifest}\n")
        args.out.mkdir(parents=True, exist_ok=True)
        # Stale patient-level files go first: a failure further on must not leave them behind.
        removed = remove_stale_files(args.out, tables, release, args.include_restricted_patient_level)
        for t in release.published:
            write_parquet(con, t, args.out)
        hyper = None
        if args.hyper == "yes" or (args.hyper == "auto" and hyper_available()):
            hyper = write_hyper(con, release.published, args.out, args.manifest)
        else:
            removed += remove_stale_hyper(args.out)
        restricted_dir = args.out / RESTRICTED_DIR
        if args.include_restricted_patient_level and release.restricted:
            restricted_dir.mkdir(exist_ok=True)
            for t in release.restricted:
                write_parquet(con, t, restricted_dir)
    if removed:
        print(f"removed {_count(len(removed), 'stale file')}: {', '.join(map(str, removed))}", file=sys.stderr)
    restricted = _count(len(release.restricted), "restricted mart")
    if args.include_restricted_patient_level and release.restricted:
        what = _count(len(release.restricted), "restricted, patient-level pseudonymous mart")
        print(
            f"{p.prog}: warning: --include-restricted-patient-level wrote {what} "
            f"({', '.join(release.restricted)}) to {restricted_dir}/ as Parquet (not into the Hyper extract or "
            "the .tds files). NOT for publication: keep them inside the secure environment and delete them "
            "when done.",
            file=sys.stderr,
        )
        left = f"{restricted} (patient-level) written only to {restricted_dir}/, not for publication"
    else:
        left = f"{restricted} (patient-level) not exported"
    if hyper:
        note = f", {hyper.name} and the Tableau .tds files"
    else:
        note = " (no Hyper file: --hyper no)" if args.hyper == "no" else " (no Hyper file: pip install pantab)"
    print(
        f"exported {_count(len(release.published), 'published mart')} to {args.out}/ as Parquet{note} in "
        f"{time.perf_counter() - started:.1f}s; {left}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
