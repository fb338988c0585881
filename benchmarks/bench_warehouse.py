"""Warehouse speed at several scales: generate, then the real `dbt build`, with per-model times.

Prints wall seconds of each step, the slowest models (from dbt's run_results.json, including the
four asthma model marts) and the peak resident memory of the dbt process. Asserts nothing.
Usage: python benchmarks/bench_warehouse.py [--patients 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODELS = [
    "int_asthma_cluster_selection",
    "asthma_patient_clusters",
    "asthma_cluster_profiles",
    "asthma_admission_rate_ratios",
    "asthma_model_diagnostics",
    "asthma_inequality_indices",
]


def peak_child_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


MODEL_PROBE = """
import resource, sys, time, duckdb
from health_equity import clusters, rates
con = duckdb.connect(sys.argv[1], read_only=True)
t = time.perf_counter()
p = con.sql("select * from intermediate.int_asthma_patient_utilisation").df()
sel = clusters.cluster_selection(p)
k = int(sel.loc[sel.is_chosen, "k"].iloc[0])
c = clusters.patient_clusters(p, k)
rr = rates.rate_ratios(con.sql("select * from marts.asthma_patients").df(), c)
print(f"{time.perf_counter() - t:.1f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"""


def bench(patients: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "generators", "--patients", str(patients), "--out", str(tmp / "raw"), "--quiet"],
            cwd=REPO,
            check=True,
        )
        gen = time.perf_counter() - t0
        env = {**os.environ, "DBT_TARGET": "test", "HEALTH_EQUITY_TEST_DB": str(tmp / "w.duckdb")}
        t0 = time.perf_counter()
        subprocess.run(
            [
                str(BIN / "dbt"),
                "build",
                "--profiles-dir",
                str(REPO),
                "--project-dir",
                str(REPO),
                "--target-path",
                str(tmp / "target"),
                "--log-path",
                str(tmp / "logs"),
                "--quiet",
                "--vars",
                json.dumps({"raw_dir": str(tmp / "raw")}),
            ],
            cwd=REPO,
            env=env,
            check=True,
        )
        build = time.perf_counter() - t0
        results = json.loads((tmp / "target" / "run_results.json").read_text())["results"]
        timing = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}
        print(
            f"\n{patients:,} patients: generate {gen:.1f} s, dbt build {build:.1f} s, "
            f"peak memory of any child so far {peak_child_mb():,.0f} MB"
        )
        models = sum(timing.get(m, 0) for m in MODELS[:5] if m != "asthma_cluster_profiles")
        print(f"  four asthma model marts (selection + clusters + rate ratios + diagnostics): {models:.1f} s")
        for m in MODELS:
            print(f"  {m:<40}{timing.get(m, float('nan')):>8.1f} s")
        probe = subprocess.run(
            [sys.executable, "-c", MODEL_PROBE, str(tmp / "w.duckdb")],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        print(
            f"  the models' own work in a fresh process (read marts, select k, cluster, rate ratios): "
            f"{probe[0]} s, peak memory {probe[1]} MB"
        )
        slow = sorted(timing.items(), key=lambda kv: -kv[1])[:8]
        print("  slowest nodes: " + ", ".join(f"{k} {v:.1f}s" for k, v in slow))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--patients", nargs="+", type=int, default=[10_000, 100_000])
    for n in p.parse_args().patients:
        bench(n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
