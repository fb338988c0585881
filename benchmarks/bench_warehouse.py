"""Warehouse speed and memory at several scales, measured against two yardsticks in the same run.

For each number of patients and extract format it prints:
- the generator's rows/s;
- the raw-read floor: DuckDB reading every extract (CSV as all text, or Parquet) into tables in
  one process, wall seconds and peak RSS;
- `dbt build` (the real project, its own profile) wall seconds and peak RSS, and its ratio to the floor;
- the ten slowest dbt nodes (dbt's own timings from run_results.json);
- the rows each dbt Python model reads (the row counts of the relations it refs);
- the same workload as a plain pandas script (benchmarks/pandas_workload.py): wall and peak RSS,
  and how many times faster dbt is;
and, when 100k and 1M are both measured, how the dbt wall grows between them.
Asserts nothing: speed is measured here, never in the tests.

Usage: python benchmarks/bench_warehouse.py [--patients 10000 100000 1000000] [--formats csv parquet]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Runs a command and writes its wall seconds and the peak RSS of its process tree to a JSON file.
MEASURE = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[2:]).returncode
json.dump({"rc": rc, "wall": time.perf_counter() - t,
           "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}, open(sys.argv[1], "w"))
"""

FLOOR = """
import sys, duckdb
from pathlib import Path
raw, db = Path(sys.argv[1]), sys.argv[2]
con = duckdb.connect(db)
for i, f in enumerate(sorted(p for p in raw.iterdir() if p.suffix in (".csv", ".parquet"))):
    reader = (f"read_parquet('{f}')" if f.suffix == ".parquet"
              else f"read_csv('{f}', header = true, all_varchar = true)")
    con.execute(f"create table t{i} as select * from {reader}")
"""


def measured(cmd: list[str], work: Path, name: str, env: dict | None = None) -> dict:
    out = work / f"{name}.measure.json"
    log = work / f"{name}.log"
    with log.open("w") as fh:
        subprocess.run(
            [sys.executable, "-c", MEASURE, str(out), *cmd], cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT
        )
    result = json.loads(out.read_text())
    if result["rc"] != 0:
        tail = log.read_text()[-3000:]
        raise SystemExit(f"{name} failed (exit {result['rc']}); last lines of {log}:\n{tail}")
    result["log"] = log
    return result


def python_model_inputs(target: Path, db: Path) -> list[tuple[str, int]]:
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = manifest["nodes"]
    rows = []
    with duckdb.connect(str(db), read_only=True) as con:
        for node in sorted(nodes.values(), key=lambda n: n["name"]):
            if node.get("resource_type") != "model" or node.get("language") != "python":
                continue
            total = 0
            for parent_id in node["depends_on"]["nodes"]:
                parent = nodes.get(parent_id)
                if parent is None or parent.get("resource_type") not in ("model", "seed"):
                    continue
                relation = f'"{parent["schema"]}"."{parent.get("alias") or parent["name"]}"'
                total += con.execute(f"select count(*) from {relation}").fetchone()[0]
            rows.append((node["name"], total))
    return rows


def bench(patients: int, fmt: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="he-bench-") as tmp:
        work = Path(tmp)
        raw = work / "raw"
        gen = measured(
            [sys.executable, "-m", "generators", "--patients", str(patients), "--format", fmt]
            + ["--out", str(raw), "--quiet"],
            work,
            "generate",
        )
        gen_rows = sum(f["rows"] for f in json.loads((raw / "manifest.json").read_text())["files"].values())
        floor = measured([sys.executable, "-c", FLOOR, str(raw), str(work / "floor.duckdb")], work, "floor")
        db = work / "w.duckdb"
        env = {**os.environ, "DBT_TARGET": "test", "HEALTH_EQUITY_TEST_DB": str(db)}
        target = work / "target"
        build = measured(
            [str(BIN / "dbt"), "build", "--profiles-dir", str(REPO), "--project-dir", str(REPO)]
            + ["--target-path", str(target), "--log-path", str(work / "logs"), "--quiet"]
            + ["--vars", json.dumps({"raw_dir": str(raw), "raw_format": fmt})],
            work,
            "dbt_build",
            env,
        )
        pandas = measured([sys.executable, str(REPO / "benchmarks" / "pandas_workload.py"), str(raw)], work, "pandas")
        results = json.loads((target / "run_results.json").read_text())["results"]
        slow = sorted(((r["unique_id"].split(".")[2], r["execution_time"]) for r in results), key=lambda kv: -kv[1])
        inputs = python_model_inputs(target, db)
        pandas_line = pandas["log"].read_text().strip().splitlines()[-1]

    def line(label: str, m: dict, extra: str = "") -> None:
        rate = gen_rows / m["wall"]
        print(f"  {label:<16}{m['wall']:8.1f} s  {rate:12,.0f} rows/s  peak {m['rss_mb']:7,.0f} MB{extra}")

    print(f"\n== {patients:,} patients, {fmt} extracts ({gen_rows:,} rows in the files)")
    line("generator", gen)
    line("raw-read floor", floor)
    line("dbt build", build, f"   = {build['wall'] / floor['wall']:.1f}x the floor")
    line("pandas script", pandas, f"   dbt is {pandas['wall'] / build['wall']:.2f}x as fast")
    print(f"    ({pandas_line})")
    print("  ten slowest dbt nodes: " + ", ".join(f"{name} {secs:.1f}s" for name, secs in slow[:10]))
    print("  rows read by each dbt Python model: " + ", ".join(f"{name} {n:,}" for name, n in inputs))
    return {"patients": patients, "format": fmt, "build": build["wall"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", choices=["csv", "parquet"], default=["csv", "parquet"])
    args = parser.parse_args(argv)
    if any(not 1 <= n <= 5_000_000 for n in args.patients):
        parser.error("--patients takes numbers from 1 to 5,000,000")
    runs = [bench(n, fmt) for n in args.patients for fmt in args.formats]
    for fmt in args.formats:
        walls = {r["patients"]: r["build"] for r in runs if r["format"] == fmt}
        if 100_000 in walls and 1_000_000 in walls:
            print(f"\n{fmt}: dbt build wall grows {walls[1_000_000] / walls[100_000]:.1f}x from 100k to 1M patients")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
