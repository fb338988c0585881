"""Post-process the dbt docs site so it opens cleanly offline.

dbt-docs' file tree writes ``<use xlink:href="{{ getIcon(...) }}">`` into its templates: the
browser requests the literal ``{{ getIcon(...) }}`` URL before Angular interpolates it, which logs
a failed request (or, from file://, an "Unsafe attempt to load URL" error) for every node.
``ng-attr-xlink:href`` is Angular's way to set the attribute only once interpolated. Its page
head also links a favicon through an unresolved webpack placeholder; an empty data URL replaces it.
Usage: ``python -m health_equity.outputs.docs_site target/static_index.html [target/index.html ...]``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FIXES = [
    (' xlink:href="{{ getIcon(', ' ng-attr-xlink:href="{{ getIcon('),
    ("href=\"${require('./assets/favicons/favicon.ico')}\"", 'href="data:,"'),
]


def patch(path: Path) -> int:
    """Apply every fix once (idempotent); returns how many places changed."""
    text = path.read_text(encoding="utf-8")
    count = sum(text.count(broken) for broken, _ in FIXES)
    if count:
        for broken, fixed in FIXES:
            text = text.replace(broken, fixed)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return count


def main(argv: list[str] | None = None) -> int:
    paths = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print("usage: python -m health_equity.outputs.docs_site FILE [FILE ...]", file=sys.stderr)
        return 2
    for p in paths:
        if not p.is_file():
            print(f"python -m health_equity.outputs.docs_site: error: {p}: no such file", file=sys.stderr)
            return 2
        print(f"{p}: fixed {patch(p)} broken references", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
