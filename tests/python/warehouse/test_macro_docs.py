"""Every macro of the project is documented, and lives in a folder by concern.

Each folder under macros/ has a _<folder>__macros.yml whose `macros:` entries give every macro a
description and every argument of its signature (the `{% macro name(args) %}` or
`{% test name(args) %}` line) a name, type and description; `dbt docs` then lists them. The
check reads the manifest of a real `dbt parse`."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from conftest import REPO, dbt

PACKAGE = "health_equity"
SIGNATURE = re.compile(r"\{%-?\s*(?:macro|test)\s+(\w+)\s*\((.*?)\)\s*-?%\}", re.S)


def signature_arguments(name: str, macro_sql: str) -> list[str]:
    """The argument names in a macro's opening tag, in order (defaults dropped)."""
    for found, args in SIGNATURE.findall(macro_sql):
        if found in (name, name.removeprefix("test_")):
            # Jinja's argument list reads as a Python one (none/true/false are plain names).
            return [a.arg for a in ast.parse(f"def f({args}): pass").body[0].args.args]
    raise AssertionError(f"no signature for macro {name} in its SQL")


def documentation_problems(manifest: dict) -> list[str]:
    """What is missing from the documentation of the project's macros, one line each."""
    problems = []
    for macro in manifest["macros"].values():
        if macro["package_name"] != PACKAGE:
            continue
        name, where = macro["name"], macro["original_file_path"]
        if not macro.get("description", "").strip():
            problems.append(f"{where}: macro {name} has no description")
        documented = {a["name"]: a for a in macro.get("arguments") or []}
        wanted = signature_arguments(name, macro["macro_sql"])
        for arg in wanted:
            if arg not in documented:
                problems.append(f"{where}: macro {name}: argument {arg} is not documented")
            elif not (documented[arg].get("type") and (documented[arg].get("description") or "").strip()):
                problems.append(f"{where}: macro {name}: argument {arg} needs a type and a description")
        for arg in documented.keys() - set(wanted):
            problems.append(f"{where}: macro {name}: documents argument {arg}, not in its signature")
        folder = Path(where).parent
        if macro.get("patch_path") and Path(macro["patch_path"].split("://")[-1]).parent != folder:
            problems.append(f"{where}: macro {name} is documented in {macro['patch_path']}, not in its own folder")
    return sorted(problems)


def test_every_macro_file_is_in_a_folder_with_its_documentation():
    macros = REPO / "macros"
    assert not [p.name for p in macros.glob("*.sql")], "macro files belong in a folder by concern"
    for folder in (p for p in macros.iterdir() if p.is_dir()):
        assert (folder / f"_{folder.name}__macros.yml").exists(), folder
        assert list(folder.glob("*.sql")), folder


def test_every_macro_and_argument_is_documented(tmp_path):
    r = dbt(["parse"], tmp_path / "parse.duckdb", tmp_path)
    assert r.returncode == 0, r.stdout
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    ours = [m for m in manifest["macros"].values() if m["package_name"] == PACKAGE]
    assert len(ours) > 100
    assert documentation_problems(manifest) == []


def test_the_check_fails_on_an_undocumented_macro():
    sql = "{% macro shout(text, times=2) -%} upper({{ text }}) {%- endmacro %}"
    macro = {"package_name": PACKAGE, "name": "shout", "original_file_path": "macros/x/y.sql", "macro_sql": sql}
    undocumented = {"macros": {"m": {**macro, "description": "", "arguments": []}}}
    assert documentation_problems(undocumented) == [
        "macros/x/y.sql: macro shout has no description",
        "macros/x/y.sql: macro shout: argument text is not documented",
        "macros/x/y.sql: macro shout: argument times is not documented",
    ]
    half = [{"name": "text", "type": "string", "description": "What to shout."}, {"name": "count"}]
    partly = {"macros": {"m": {**macro, "description": "Upper case.", "arguments": half}}}
    assert documentation_problems(partly) == [
        "macros/x/y.sql: macro shout: argument times is not documented",
        "macros/x/y.sql: macro shout: documents argument count, not in its signature",
    ]
    test_sql = "{% test holds(model, expression) %} select 1 {% endtest %}"
    assert signature_arguments("test_holds", test_sql) == ["model", "expression"]
