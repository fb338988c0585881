"""Every writer of the generators, deterministic to the byte: the extracts (CSV through pyarrow or
Parquet; the CMS and Census layouts), truth.json and manifest.json, their sha256, and the move of a
complete run into the output folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


class TableWriter:
    """Streams chunks of one extract to ``<out>/<name>.<fmt>``.

    CSV headers are quoted and values quoted only when needed, which is the CMS layout too.
    """

    def __init__(self, out: Path, name: str, fmt: str, schema: pa.Schema):
        self.path = out / f"{name}.{fmt}"
        self.schema = schema
        self.rows = 0
        if fmt == "csv":
            opts = pacsv.WriteOptions(quoting_style="needed")
            self._writer = pacsv.CSVWriter(self.path, schema, write_options=opts)
        else:
            self._writer = pq.ParquetWriter(self.path, schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


def _cms_value(value) -> str:
    if value is None:
        return ""
    if any(ch in value for ch in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_cms_csv(path: Path, table: pa.Table) -> None:
    """CMS Provider Data layout: every header name quoted, values quoted only when needed."""
    columns = [table.column(c).to_pylist() for c in table.column_names]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(f'"{c}"' for c in table.column_names) + "\n")
        for row in zip(*columns):
            fh.write(",".join(_cms_value(v) for v in row) + "\n")


def write_census_csv(path: Path, rows: list[list[str]]) -> None:
    """data.census.gov layout: every value quoted and each line ending with an empty column.

    Each row carries that empty last column, which is written as the trailing comma."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        for r in rows:
            fh.write(",".join(f'"{v}"' for v in r[:-1]) + ",\n")


def write_json(path: Path, value, sort_keys: bool = False) -> None:
    """``value`` as JSON, one-space indent, ending in a newline (truth.json, manifest.json)."""
    path.write_text(json.dumps(value, indent=1, sort_keys=sort_keys) + "\n")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def sweep_partial_dirs(out: Path) -> list[Path]:
    """Remove the folders runs in progress left beside ``out`` when they were killed outright
    (SIGKILL, a power cut: nothing of theirs ran to clean up): every ``.<out>.partial-<pid>-*`` whose
    process is gone, and those of the naming before the pid was in it. A live run's folder stays."""
    removed = []
    parent, name = out.resolve().parent, out.resolve().name
    for path in sorted(parent.glob(f".{name}.partial-*")):
        pid = path.name.removeprefix(f".{name}.partial-").split("-", 1)[0]
        if path.is_dir() and not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def partial_dir(out: Path) -> Path:
    """A fresh folder beside ``out`` for a run in progress (same file system, so moving files in
    is a rename), named with this process's id so that a later run can tell a dead run's folder
    from a live one's (sweep_partial_dirs)."""
    return Path(tempfile.mkdtemp(prefix=f".{out.resolve().name}.partial-{os.getpid()}-", dir=out.resolve().parent))


def swap_in(work: Path, out: Path, files: dict[str, dict]) -> None:
    """Move a complete run from ``work`` into ``out``; only renames happen here.

    The old manifest goes first (a folder without a manifest is visibly incomplete), extracts
    the previous run wrote and this one did not are removed (no stale file beside new ones),
    then the new files move in and the new manifest last. Anything else in ``out`` is kept.
    """
    old_manifest = out / "manifest.json"
    stale: set[str] = set()
    if old_manifest.exists():
        try:
            stale = {m["path"] for m in json.loads(old_manifest.read_text())["files"].values()}
        except (ValueError, KeyError, TypeError):
            stale = set()
        old_manifest.unlink()
    new = {m["path"] for m in files.values()} | {"truth.json"}
    for name in sorted(stale - new):
        if Path(name).name == name:  # only plain file names the generator itself wrote
            (out / name).unlink(missing_ok=True)
    for name in sorted(new):
        os.replace(work / name, out / name)
    os.replace(work / "manifest.json", old_manifest)
