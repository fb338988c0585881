"""Deterministic writers: CSV through pyarrow (fast, byte-stable) or Parquet, plus sha256."""

from __future__ import annotations

import hashlib
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


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
