"""Generator CLI: a study window taken from dbt_project.yml, argument validation and documented
bounds, injected faults in the manifest, every seed and size writing consistent files, and a
failed or repeated run leaving the output folder as it should."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
import yaml
from conftest import generate
from dbt_declaration import declared_extracts, disagreements, generated

from generators import asthma_world, faults, hospitals_geography, reference


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_study_window_changed_in_dbt_project_yml_holds_every_generated_event(tmp_path, monkeypatch):
    from generators import cli

    project = tmp_path / "dbt_project.yml"
    window = {"study_start": "2019-03-01", "followup_start": "2020-03-01", "study_end": "2021-02-28"}
    project.write_text(yaml.safe_dump({"vars": window}))
    monkeypatch.setattr(reference, "DBT_PROJECT", project)
    out = tmp_path / "raw"
    assert (
        cli.main(
            ["--patients", "400", "--only", "asthma", "--seed", "2", "--format", "csv", "--out", str(out), "--quiet"]
        )
        == 0
    )
    truth = json.loads((out / "truth.json").read_text())["asthma"]
    assert {var: truth[var] for var in window} == window
    dates = {
        "gp_events": ["event_date"],
        "prescriptions": ["issue_date"],
        "hospital_admissions": ["admission_date", "discharge_date"],
        "outpatient_appointments": ["appointment_date"],
    }
    for name, cols in dates.items():
        table = pd.read_csv(out / f"{name}.csv", dtype=str)
        for col in cols:
            assert table[col].between(window["study_start"], window["study_end"]).all(), (name, col)
            # and they fill it: the first and last quarter both hold events
            assert table[col].min() < "2019-06-01" and table[col].max() > "2020-12-01", (name, col)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--patients", "0"], "--patients"),
        (["--patients", "ten"], "--patients"),
        (["--hospitals", "-3"], "--hospitals"),
        (["--seed", "-1"], "--seed"),
        (["--fault-rate", "0.9"], "--fault-rate"),
        (["--fault-rate", "x"], "--fault-rate"),
        (["--scale", "huge"], "--scale"),
        (["--format", "xml"], "--format"),
        (["--bogus"], "--bogus"),
    ],
)
def test_bad_arguments_give_a_one_line_error_naming_the_option(tmp_path, args, option):
    r = generate(tmp_path / "x", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], r.stderr
    assert not (tmp_path / "x" / "manifest.json").exists()


def test_help_names_every_option():
    r = generate(__import__("pathlib").Path("/tmp"), "--help")
    for opt in ("--seed", "--scale", "--patients", "--hospitals", "--out", "--format", "--fault-rate", "--layout"):
        assert opt in r.stdout


def test_every_injected_fault_is_in_the_manifest_and_in_the_file(tmp_path):
    r = generate(
        tmp_path,
        "--patients",
        "3000",
        "--hospitals",
        "400",
        "--seed",
        "11",
        "--fault-rate",
        "0.02",
        "--format",
        "csv",
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    recs = manifest["faults"]
    kinds = {(f["file"], f["kind"]) for f in recs}
    for file, spec in faults.FAULT_KINDS.items():
        for kind, _ in spec:
            assert (file, kind) in kinds, (file, kind)
    tables = {}
    for f in recs:
        path = tmp_path / manifest["files"][f["file"]]["path"]
        if path not in tables:
            tables[path] = pd.read_csv(path, dtype=str, keep_default_na=False)
        value = tables[path].iloc[f["row"] - 1][f["column"]]
        expected = "" if f["injected"] is None else str(f["injected"])
        assert value == expected, f


# --- every seed and size, documented bounds, a failed run leaves the old extracts ------------------


class _QuickFaker:
    """Stand-in for Faker in the 200-seed property test: Faker's name and address pools take no
    part in any seed-dependent arithmetic (ZCTA allocation, ids, sampling), and drawing them is
    90% of a tiny run. Every other seed-dependent step runs for real."""

    def __init__(self, _locale):
        self._r = __import__("random").Random(0)

    def seed_instance(self, seed):
        self._r.seed(seed)

    def _word(self):
        return "".join(self._r.choice("abcdefghijklmnop") for _ in range(6)).title()

    def city(self):
        return self._word()

    last_name = first_name_female = first_name_male = city

    def street_address(self):
        return f"{self._r.randint(1, 999)} {self._word()} Street"

    def postcode(self):
        return f"AB{self._r.randint(1, 99)} {self._r.randint(1, 9)}CD"


def test_every_seed_0_to_199_writes_files_matching_the_manifest_with_unique_facility_ids(tmp_path, monkeypatch):
    from generators import cli

    monkeypatch.setattr(hospitals_geography, "Faker", _QuickFaker)
    monkeypatch.setattr(asthma_world, "Faker", _QuickFaker)
    failures = []
    for seed in range(200):
        out = tmp_path / str(seed)
        # Fault rates 0-0.2 in turn, so fault injection is exercised at every size too.
        # Even seeds write CSV, odd ones Parquet (the default), so both writers see every fault rate.
        fmt = "csv" if seed % 2 == 0 else "parquet"
        args = [
            "--seed",
            str(seed),
            "--patients",
            "40",
            "--hospitals",
            "30",
            "--format",
            fmt,
            "--out",
            str(out),
            "--quiet",
        ]
        try:
            rc = cli.main([*args, "--fault-rate", f"{(seed % 5) * 0.05:.2f}"])
        except Exception as exc:  # noqa: BLE001 - collect every failing seed, then report them all
            failures.append((seed, repr(exc)[:200]))
            continue
        manifest = json.loads((out / "manifest.json").read_text())
        gi = pd.read_csv(out / "Hospital_General_Information.csv", dtype=str, keep_default_na=False)
        patients = out / manifest["files"]["patients"]["path"]
        p = pd.read_csv(patients) if fmt == "csv" else pd.read_parquet(patients)
        if rc != 0 or len(gi) != 30 or manifest["files"]["patients"]["rows"] != len(p):
            failures.append((seed, "manifest does not match the files"))
        if seed % 5 == 0 and not gi["Facility ID"].is_unique:  # no duplicate_id fault at rate 0
            failures.append((seed, "facility ids repeat"))
        assert not list(tmp_path.glob(".*partial*")), "temporary folder left behind"
    assert failures == []


@pytest.mark.parametrize(
    "args",
    [
        ["--seed", "7", "--only", "hospitals"],  # a territory used to end with no ZCTA
        ["--seed", "1", "--hospitals", "20000", "--only", "hospitals"],  # the documented maximum
    ],
)
def test_seed_7_and_20000_hospitals_give_unique_facility_ids_and_zips_in_every_state(tmp_path, args):
    r = generate(tmp_path, *args, "--quiet")
    assert r.returncode == 0, r.stderr
    gi = pd.read_csv(tmp_path / "Hospital_General_Information.csv", dtype=str, keep_default_na=False)
    assert gi["Facility ID"].is_unique and gi["ZIP Code"].str.fullmatch(r"\d{5}").all()
    assert gi["State"].nunique() == 56  # every state and territory has hospitals and ZCTAs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patients", "5000001"], "--patients must be between 1 and 5,000,000, got 5,000,001"),
        (["--hospitals", "20001"], "--hospitals must be between 1 and 20,000, got 20,001"),
    ],
)
def test_sizes_above_the_documented_maximum_are_refused_with_the_bound(tmp_path, args, message):
    r = generate(tmp_path / "x", *args)
    assert r.returncode == 2 and message in r.stderr and not (tmp_path / "x").exists()


def test_help_documents_the_maximum_sizes():
    r = generate(__import__("pathlib").Path("/tmp"), "--help")
    assert "5,000,000" in r.stdout and "20,000" in r.stdout


def test_a_failed_run_leaves_the_previous_extracts_and_manifest_intact(tmp_path, monkeypatch):
    from generators import cli

    out = tmp_path / "raw"
    (out).mkdir()
    (out / ".scale-small-42").touch()  # the Makefile's stamp: not the generator's, kept
    assert cli.main(["--patients", "30", "--hospitals", "20", "--seed", "3", "--out", str(out), "--quiet"]) == 0
    before = {p.name: _sha(p) for p in out.iterdir()}

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cli, "write_hospitals", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        cli.main(["--patients", "50", "--hospitals", "20", "--seed", "4", "--out", str(out), "--quiet"])
    assert {p.name: _sha(p) for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name != "raw"], "temporary folder left behind"


def test_a_new_run_removes_the_files_of_the_previous_one_it_did_not_write(tmp_path):
    out = tmp_path / "raw"
    assert generate(out, "--patients", "30", "--only", "asthma", "--format", "parquet", "--quiet").returncode == 0
    assert generate(out, "--patients", "30", "--only", "asthma", "--format", "csv", "--quiet").returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    written = {m["path"] for m in manifest["files"].values()} | {"manifest.json", "truth.json"}
    assert {p.name for p in out.iterdir()} == written  # no stale parquet beside the new csv


def test_the_files_the_generator_writes_are_the_declared_extracts(tmp_path):
    """The generator does not read the declaration; this is where the two must agree, as dbt reads
    the sources YAML: each file written is a declared extract, with the declared extension and
    columns, its kind the declared family, and every declared (non-optional) extract of the
    families written is written, in both formats."""
    declared = declared_extracts()
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        assert generate(out, "--patients", "30", "--hospitals", "20", "--format", fmt, "--quiet").returncode == 0
        files, written_format = generated(out)
        assert written_format == fmt and {m["kind"] for m in files.values()} == {"asthma", "hospitals"}
        assert disagreements(files, fmt, declared) == []
    # One family only: the other family's extracts are not missing.
    out = tmp_path / "hospitals"
    assert generate(out, "--hospitals", "20", "--only", "hospitals", "--quiet").returncode == 0
    files, fmt = generated(out)
    assert {m["kind"] for m in files.values()} == {"hospitals"} and disagreements(files, fmt, declared) == []


def test_a_changed_declaration_is_a_disagreement_naming_the_extract(tmp_path):
    """The comparison fails when the declaration changes under the generator: a column, a format,
    a family, a file name or a new required extract."""
    out = tmp_path / "raw"
    assert generate(out, "--patients", "30", "--hospitals", "20", "--format", "csv", "--quiet").returncode == 0
    files, fmt = generated(out)
    declared = declared_extracts()
    assert disagreements(files, fmt, declared) == []

    def changed(table: str, **change) -> list[dict]:
        return [{**e, **change} if e["table_name"] == table else e for e in declared]

    gp = next(e for e in declared if e["table_name"] == "gp_events")
    assert disagreements(files, fmt, changed("gp_events", columns=[*gp["columns"], "site"])) == [
        "gp_events: its columns are not the declared ones (undeclared [], not written ['site'])"
    ]
    assert disagreements(files, fmt, changed("gp_events", columns=gp["columns"][::-1])) == [
        "gp_events: its columns are not the declared ones (in another order)"
    ]
    assert disagreements(files, fmt, changed("gp_events", formats=["parquet"])) == [
        "gp_events: written as gp_events.csv; the declaration reads gp_events.parquet"
    ]
    assert disagreements(files, fmt, changed("gp_events", family="hospitals")) == [
        "gp_events: written as kind asthma; declared in family hospitals"
    ]
    assert disagreements(files, fmt, changed("gp_events", name="gp_consultations")) == [
        "gp_events: written (gp_events.csv), but no source declares it",
        "gp_consultations: declared in family asthma (not optional), but not written",
    ]
    peak_flow = {**gp, "table_name": "peak_flow_readings", "name": "peak_flow_readings"}
    assert disagreements(files, fmt, [*declared, peak_flow]) == [
        "peak_flow_readings: declared in family asthma (not optional), but not written"
    ]
    assert disagreements(files, fmt, [*declared, {**peak_flow, "optional": True}]) == []
