"""What the build needs to know about an extract's file, asked from SQL on every engine.

``file_info(path)`` says whether the path (a file, a folder of Parquet parts or a glob pattern)
exists and, for the first matching file in sorted order, its size, SHA-256, modification time
(UTC, to the second) and whether a ``manifest.json`` beside it, as ``python -m generators``
writes, lists that SHA-256: the file is then ``synthetic``, otherwise ``supplied``.

The macro ``file_origin`` (macros/extracts/file_origins.sql) calls it as the SQL function
``health_equity_file_info(path)``, which returns this dict as JSON text. The dbt-duckdb plugin
(``health_equity.engine.plugin``) registers the function on DuckDB and ``health_equity.engine.spark``
registers it on the local Spark session, so one macro serves both engines instead of DuckDB's
``glob()``/``read_blob()`` on one and Spark's ``binaryFile`` on the other. It never prints a file's
bytes, and reads them only when the preflight has not already hashed the file as it stands (the
preflight hashes each file in its one structural pass: ``remember_sha256``). ``path_exists(path)``
(``health_equity_path_exists``) only says whether the path matches a file; the
``extract_file_exists`` macro asks it.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from datetime import UTC, datetime

CHUNK = 1 << 20


def _matches(path: str) -> list[str]:
    if os.path.isdir(path):
        found = glob.glob(os.path.join(path, "**", "*"), recursive=True)
    else:
        found = glob.glob(path, recursive=True)
    return sorted(p for p in found if os.path.isfile(p))


# SHA-256 of each file as it stands (real path, size, modification time, inode): the preflight
# (health_equity.engine.preflight) hashes a file in the same pass that checks its structure and
# leaves the digest here, so the origin checks and the provenance model, which ask for the same
# files in one dbt run, never read a file again for it.
_DIGESTS: dict[tuple, str] = {}


def file_key(path: str, stat: os.stat_result | None = None) -> tuple:
    """What identifies a file's content for the digest cache: a file replaced or edited since has
    another key."""
    stat = stat or os.stat(path)
    return (os.path.realpath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)


def remember_sha256(key: tuple, hexdigest: str) -> None:
    """Keep a digest computed by a reader that read the whole file (the preflight)."""
    _DIGESTS[key] = hexdigest


def _sha256(path: str) -> str:
    """The file's SHA-256: from the cache when the preflight has read the file as it stands, else
    read now (once per process)."""
    key = file_key(path)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def file_info(path: str) -> dict:
    """{exists, size, sha256, last_modified, origin} of the first file ``path`` matches."""
    files = _matches(path)
    if not files:
        return {"exists": False, "origin": "absent"}
    first = files[0]
    stat = os.stat(first)
    sha = _sha256(first)
    modified = datetime.fromtimestamp(int(stat.st_mtime), tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    manifest = os.path.join(os.path.dirname(path.rstrip("/")) or ".", "manifest.json")
    listed = False
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as handle:
            listed = sha in handle.read()
    return {
        "exists": True,
        "size": stat.st_size,
        "sha256": sha,
        "last_modified": modified,
        "origin": "synthetic" if listed else "supplied",
    }


def path_exists(path: str) -> bool:
    """Whether ``path`` (a file, a folder of Parquet parts or a glob pattern) matches a file, or
    names something that is there but is no readable file (a folder, a symbolic link that loops
    or leads nowhere): that is the file the user meant, and the preflight then says what is wrong
    with it, instead of the run asking for the extract in another format. Reads no bytes, so it
    costs next to nothing: the ``extract_file_exists`` macro asks it (SQL function
    ``health_equity_path_exists``), for an optional extract and for which format a file is in."""
    return bool(_matches(path)) or os.path.lexists(path)


def pseudonym_salt() -> str:
    """The secret salt of the pseudonymous patient key, from the environment (HEALTH_EQUITY_SALT):
    the SQL function health_equity_pseudonym_salt(), so that the salt is read when a query runs
    and never written into compiled SQL or a log (macro pseudonym_salt_sql)."""
    salt = os.environ.get("HEALTH_EQUITY_SALT", "")
    if not salt:
        raise RuntimeError("health_equity_pseudonym_salt(): the environment variable HEALTH_EQUITY_SALT is not set")
    return salt


def sql_file_info(path: str) -> str:
    """file_info as JSON text: the SQL function health_equity_file_info(path)."""
    return json.dumps(file_info(path), sort_keys=True)
