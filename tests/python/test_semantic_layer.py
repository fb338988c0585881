"""The metrics of the dbt semantic layer (models/semantic), queried with MetricFlow's own CLI
against a real build, equal the same figures computed with pandas from the marts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import BIN, project_copy, warehouse_copy


def mf_query(db: Path, raw_dir: Path, metrics: list[str], group_by: str, work: Path) -> pd.DataFrame:
    project = project_copy(work / "project")
    env = {**os.environ, "DBT_TARGET": "test", "HEALTH_EQUITY_TEST_DB": str(db), "DBT_PROFILES_DIR": str(project)}
    parse = subprocess.run(
        [str(BIN / "dbt"), "parse", "--vars", f"{{raw_dir: '{raw_dir}'}}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert parse.returncode == 0, parse.stdout[-3000:]
    out = work / "metrics.csv"
    cmd = [str(BIN / "mf"), "query", "--metrics", ",".join(metrics), "--group-by", group_by, "--csv", str(out)]
    r = subprocess.run([*cmd, "--quiet"], cwd=project, env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return pd.read_csv(out)


def test_asthma_metrics_equal_an_independent_computation_from_the_mart(clean_build, tmp_path):
    metrics = ["emergency_admission_rate_per_1000_py", "readmission_proportion", "saba_over_reliance_proportion"]
    db = warehouse_copy(clean_build, tmp_path / "db")  # MetricFlow opens the warehouse for writing
    got = mf_query(db, clean_build.raw_dir, metrics, "patient__imd_quintile", tmp_path)
    got = got.set_index("patient__imd_quintile").sort_index()
    p = clean_build.df("select * from marts.asthma_patients")
    g = p.groupby("imd_quintile")
    assessable = p[p.is_saba_assessable].groupby("imd_quintile")
    expected = pd.DataFrame(
        {
            "emergency_admission_rate_per_1000_py": g.followup_emergency_admissions.sum()
            / g.followup_person_years.sum()
            * 1000,
            "readmission_proportion": g.followup_readmissions_30d.sum() / g.followup_readmission_index_spells.sum(),
            "saba_over_reliance_proportion": assessable.is_saba_over_reliant_12.mean(),
        }
    ).sort_index()
    assert list(got.index.astype(str)) == list(expected.index.astype(str))
    for m in metrics:
        assert got[m].to_numpy() == pytest.approx(expected[m].to_numpy(), rel=1e-9), m
