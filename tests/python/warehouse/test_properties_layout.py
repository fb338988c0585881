"""Properties beside their model: a model's description, columns, data tests and unit tests sit in
one YAML file next to its code, not hundreds of lines away in a shared file.

The rule: every model under models/ (`<folder>/<name>.sql` or `<folder>/<name>.py`) has its
properties in `<folder>/_<name>.yml` - the same folder, named after the model with the leading
underscore that sorts the YAML first - and that file declares that model only, with the unit tests
of that model only. No other YAML file under models/ declares the model or a unit test of it. The
one exception is models/semantic: the time spine is declared with the semantic layer it serves.
Doc blocks (`.md`), sources, exposures, groups and the semantic layer stay in their own files.

Only the YAML is read (no dbt parse), so this runs in well under a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
MODELS = REPO / "models"
EXEMPT = {MODELS / "semantic"}  # the semantic layer's YAML declares its time spine


def model_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(MODELS.rglob("*")):
        if path.suffix in {".sql", ".py"} and not any(folder in path.parents for folder in EXEMPT):
            assert path.stem not in found, f"two models named {path.stem}: {found[path.stem]} and {path}"
            found[path.stem] = path
    return found


def properties_files() -> dict[Path, dict]:
    return {path: yaml.safe_load(path.read_text()) or {} for path in sorted(MODELS.rglob("*.yml"))}


MODELS_BY_NAME = model_files()
PROPERTIES = properties_files()


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_the_rule_finds_the_marts():
    marts = {name for name, path in MODELS_BY_NAME.items() if MODELS / "marts" in path.parents}
    assert {"hospital_equity", "asthma_inequalities", "asthma_patients", "data_provenance"} <= marts


@pytest.mark.parametrize("name", sorted(MODELS_BY_NAME))
def test_a_models_properties_are_in_its_own_file_beside_it(name):
    code = MODELS_BY_NAME[name]
    expected = code.parent / f"_{name}.yml"
    assert expected in PROPERTIES, f"{rel(code)} has no properties file {rel(expected)}"
    declared = [m.get("name") for m in PROPERTIES[expected].get("models") or []]
    assert declared == [name], f"{rel(expected)} must declare {name} and only it, not {declared}"
    tested = {u.get("model") for u in PROPERTIES[expected].get("unit_tests") or []}
    assert tested <= {name}, f"{rel(expected)} holds unit tests of other models: {sorted(tested - {name})}"


def test_no_model_or_unit_test_is_declared_in_a_shared_file():
    """A model or unit test declared anywhere but its model's own file - put back in a shared
    `_<folder>__models.yml`, or in the file of another model - fails here."""
    misplaced = []
    for path, props in PROPERTIES.items():
        if any(folder in path.parents for folder in EXEMPT):
            continue
        for model in props.get("models") or []:
            code = MODELS_BY_NAME.get(model.get("name"))
            if code is None or path != code.parent / f"_{model['name']}.yml":
                misplaced.append(f"model {model.get('name')} in {rel(path)}")
        for unit in props.get("unit_tests") or []:
            code = MODELS_BY_NAME.get(unit.get("model"))
            if code is None or path != code.parent / f"_{unit['model']}.yml":
                misplaced.append(f"unit test {unit.get('name')} of {unit.get('model')} in {rel(path)}")
    assert not misplaced, "declared outside the model's own properties file:\n" + "\n".join(misplaced)


def last_scalar(node: yaml.Node) -> yaml.ScalarNode | None:
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value:
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return node if isinstance(node, yaml.ScalarNode) else None


@pytest.mark.parametrize("name", sorted(MODELS_BY_NAME))
def test_no_model_properties_file_ends_in_a_block_scalar(name):
    """dbt strips a YAML file's text before it parses it, so a `>` or `|` value at the very end of
    a file loses its final newline: moving a description or a test's expression to the end of a
    model's file, as splitting or reordering does, would change what dbt sees (a test's expression
    is part of its unique id). Such a value goes before a plain one instead."""
    path = MODELS_BY_NAME[name].parent / f"_{name}.yml"
    if path not in PROPERTIES:
        pytest.skip(f"no {rel(path)}: test_a_models_properties_are_in_its_own_file_beside_it fails")
    scalar = last_scalar(yaml.compose(path.read_text()))
    assert scalar is None or scalar.style not in {">", "|"}, f"{rel(path)} ends in a {scalar.style} block value"
