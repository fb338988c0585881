"""One figure, one meaning: every metric of the dbt semantic layer (models/semantic), queried with
MetricFlow's own CLI against a real build by each of its dimensions, equals the figure of the
same name in the warehouse - the asthma_inequalities column its meta `warehouse_figure` names, in
the rows of the same dimension and group - to 1e-9. The published mart rounds and suppresses
counts under the disclosure policy, so the comparison is with the exact value behind it
(int_asthma_inequality_rates, which the mart reads), and the mart's published count is checked
to be that exact value under the policy."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BIN, project_copy, warehouse_copy

DIMENSIONS = ["all_patients", "imd_quintile", "ethnicity_group", "sex", "age_band"]
COUNTS = {"patients", "events", "numerator", "denominator"}


def parse(raw_dir: Path, db: Path, work: Path) -> tuple[Path, dict]:
    project = project_copy(work / "project")
    env = {**os.environ, "DBT_TARGET": "test", "HEALTH_EQUITY_TEST_DB": str(db), "DBT_PROFILES_DIR": str(project)}
    r = subprocess.run(
        [str(BIN / "dbt"), "parse", "--vars", f"{{raw_dir: '{raw_dir}'}}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-3000:]
    return project, json.loads((project / "target" / "manifest.json").read_text())


def mf_query(project: Path, db: Path, metrics: list[str], group_by: str | None, out: Path) -> pd.DataFrame:
    env = {**os.environ, "DBT_TARGET": "test", "HEALTH_EQUITY_TEST_DB": str(db), "DBT_PROFILES_DIR": str(project)}
    cmd = [str(BIN / "mf"), "query", "--metrics", ",".join(metrics), "--csv", str(out), "--quiet"]
    if group_by:
        cmd += ["--group-by", group_by]
    r = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return pd.read_csv(out, dtype={group_by: str} if group_by else None)


@pytest.fixture(scope="module")
def semantic(clean_build, tmp_path_factory):
    work = tmp_path_factory.mktemp("semantic")
    db = warehouse_copy(clean_build, work / "db")  # MetricFlow opens the warehouse for writing
    project, manifest = parse(clean_build.raw_dir, db, work)
    metrics = {m["name"]: m for m in manifest["metrics"].values()}
    results = {}
    for dim in DIMENSIONS:
        group_by = None if dim == "all_patients" else f"patient__{dim}"
        got = mf_query(project, db, sorted(metrics), group_by, work / f"{dim}.csv")
        got["group_value"] = "All patients" if group_by is None else got[group_by]
        results[dim] = got.set_index("group_value")
    return metrics, results


def test_every_metric_names_the_warehouse_figure_it_is(semantic):
    metrics, _ = semantic
    assert len(metrics) >= 12
    for name, m in metrics.items():
        figure = m["config"]["meta"].get("warehouse_figure")
        assert figure, f"metric {name} names no warehouse figure"
        assert figure["model"] == "asthma_inequalities" and figure["exact_model"] == "int_asthma_inequality_rates"
        assert figure["outcomes"] and figure["column"], name
        assert m["config"]["meta"]["release"] == "restricted", name


def test_every_metric_by_every_dimension_equals_the_warehouse_figure(semantic, clean_build):
    metrics, results = semantic
    exact = clean_build.df("select * from intermediate.int_asthma_inequality_rates")
    mart = clean_build.df("select * from marts.asthma_inequalities")
    rounding = int(clean_build.query("select round_counts_to from intermediate.int_project_settings")[0][0])
    compared = 0
    for name, m in metrics.items():
        figure = m["config"]["meta"]["warehouse_figure"]
        for dim in DIMENSIONS:
            got = results[dim][name]
            for outcome in figure["outcomes"]:
                rows = exact[(exact.dimension == dim) & (exact.outcome == outcome)].set_index("group_value")
                want = rows[figure["column"]].astype(float)
                # Every group of the dimension in both, and no other.
                assert sorted(got.index) == sorted(want.index), (name, dim, outcome)
                assert got.loc[want.index].to_numpy(dtype=float) == pytest.approx(
                    want.to_numpy(), rel=1e-9, abs=1e-12, nan_ok=True
                ), (name, dim, outcome)
                compared += len(want)
                if figure["column"] in COUNTS:
                    # The mart publishes that exact count under the policy: hidden, or rounded.
                    pub = mart[(mart.dimension == dim) & (mart.outcome == outcome)].set_index("group_value")
                    shown = pub[figure["column"]].dropna()
                    assert len(shown) > 0, (name, dim, outcome)
                    behind = want.loc[shown.index].to_numpy()
                    expected = np.round(behind / rounding) * rounding if rounding > 1 else behind
                    assert shown.to_numpy(dtype=float) == pytest.approx(expected, abs=1e-9), (name, dim, outcome)
    # 12 metrics; 21 groups in the five dimensions; four metrics cover two outcomes' rows.
    assert compared >= 12 * 15


def test_the_saba_metric_uses_the_marts_threshold_not_the_nrad_one(semantic, clean_build):
    # Same name, same threshold: 3 or more canisters a year (SABINA), as asthma_inequalities.
    _, results = semantic
    p = clean_build.df("select * from marts.asthma_patients")
    got = results["all_patients"].loc["All patients"]
    assert got.saba_over_reliant_patients == p.is_saba_over_reliant_3.sum()
    assert got.saba_over_reliant_patients > p.is_saba_over_reliant_12.sum()
    assert got.saba_over_reliance_pct == pytest.approx(
        100 * p.is_saba_over_reliant_3.sum() / p.is_saba_assessable.sum(), rel=1e-12
    )
