"""Warehouse speed and memory at several scales, split into the fixed cost and the part that grows
with the data, measured against two yardsticks in the same run.

For each extract format it first builds 100 patients: that build is the fixed cost (dbt's parse,
about 185 nodes each paying its own overhead, the Python models' imports), whatever the data.
Each build is the command `make build` runs (unit tests left out: `make test` runs them). It then
runs that 100-patient build once more, into a new empty warehouse at the same path and with the
same target folder, as a second `make build` does: dbt reuses the parse it saved (partial
parsing), so the two differ by dbt's parse.
Then for each number of patients it prints:
- the generator's rows/s;
- the raw-read floor: DuckDB reading every extract (CSV as all text, or Parquet) into tables in
  one process, wall seconds and peak RSS;
- `dbt build` (the real project, its own profile) on 1 thread and on every core, wall seconds and
  peak RSS. "1 thread" is the whole build on one: dbt runs one node at a time (`--threads 1`),
  DuckDB one thread per query (HEALTH_EQUITY_DUCKDB_THREADS=1) and the Python models' numeric
  libraries one (OMP/OpenBLAS/MKL_NUM_THREADS=1). "Every core" is the profile as shipped: two
  nodes at once, DuckDB and the libraries on every core;
- the split: the fixed cost (the 100-patient build with the same threads), the data-dependent
  part (build minus fixed cost) and its ratio to the floor, and how much faster the
  data-dependent part runs on every core than on 1 thread;
- the ten slowest dbt nodes (dbt's own timings from run_results.json, every-core build);
- the rows each dbt Python model reads (the row counts of the relations it refs);
- the same workload as a plain pandas script (benchmarks/pandas_workload.py): wall and peak RSS,
  and how many times faster dbt is;
and, when 100k and 1M are both measured, how the dbt wall grows between them. Each measurement
prints the machine's load average before it ran: on a shared machine the figures are noisy.
Asserts nothing: speed is measured here, never in the tests.

Usage: python benchmarks/bench_warehouse.py [--patients 100000 1000000] [--formats csv parquet]
[--repeat N] (`make bench BENCH_PATIENTS="100000" BENCH_FORMATS=parquet BENCH_REPEAT=3` for a quick
subset, each build the fastest of 3; the 100-patient fixed-cost build always runs.)
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


FIXED_PATIENTS = 100
# The whole build on one thread, and as shipped (every core): (file-name tag, dbt flags, environment).
ONE_THREAD_LIBRARIES = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1")
THREADS = {
    "1 thread": ("1", ["--threads", "1"], {"HEALTH_EQUITY_DUCKDB_THREADS": "1", **ONE_THREAD_LIBRARIES}),
    "every core": ("all", [], {"HEALTH_EQUITY_DUCKDB_THREADS": "all"}),
}


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def dbt_build(raw: Path, fmt: str, work: Path, threads: tuple, repeat: int = 1) -> dict:
    """The fastest of ``repeat`` builds (on a shared machine the fastest is the least disturbed)."""
    runs = [_dbt_build(raw, fmt, work, f"dbt_{threads[0]}-{i}", threads) for i in range(repeat)]
    return min(runs, key=lambda m: m["wall"])


# What `make build` adds to `dbt build` (the Makefile's DBT_BUILD_FLAGS): the unit tests stay out of
# the production build; the bench measures the same command.
MAKE_BUILD_FLAGS = ["--exclude-resource-type", "unit_test"]


def _dbt_build(raw: Path, fmt: str, work: Path, name: str, threads: tuple) -> dict:
    db = work / f"{name}.duckdb"
    _, dbt_flags, thread_env = threads
    env = {**os.environ, "DBT_TARGET": "test", "HEALTH_EQUITY_TEST_DB": str(db), **thread_env}
    target = work / f"target-{name}"
    result = {"load": load()}
    result |= measured(
        [str(BIN / "dbt"), "build", "--profiles-dir", str(REPO), "--project-dir", str(REPO), *MAKE_BUILD_FLAGS]
        + dbt_flags
        + ["--target-path", str(target), "--log-path", str(work / f"logs-{name}"), "--quiet"]
        + ["--vars", json.dumps({"raw_dir": str(raw), "raw_format": fmt})],
        work,
        name,
        env,
    )
    result["target"], result["db"] = target, db
    return result


def rebuild(raw: Path, fmt: str, work: Path, threads: tuple, first: dict) -> dict:
    """The every-core build once more, into a new empty warehouse at the same path and with the
    same target folder: what a second `make build` pays. dbt then reuses the parse it saved
    (partial parsing: only changed files are parsed again; a change of --vars or of the
    warehouse path parses everything), so the difference from the first build is the parse."""
    for stale in work.glob(first["db"].name + "*"):
        stale.unlink()
    name = first["db"].stem
    result = _dbt_build(raw, fmt, work, name, threads)
    log = (work / f"logs-{name}" / "dbt.log").read_text()
    last = log.split("Running with dbt")[-1]
    reparsed = "Unable to do partial parsing" in last
    result["parse"] = "parsed everything again" if reparsed else "dbt's saved parse reused"
    return result


def bench(patients: int, fmt: str, fixed: dict | None, repeat: int = 1) -> dict:
    """Measure one scale; ``fixed`` is the 100-patient run of the same format (None: this is it)."""
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
        floor = {"load": load()} | measured(
            [sys.executable, "-c", FLOOR, str(raw), str(work / "floor.duckdb")], work, "floor"
        )
        builds = {label: dbt_build(raw, fmt, work, threads, repeat) for label, threads in THREADS.items()}
        every = builds["every core"]
        # The every-core build's own timings and inputs, before rebuild() reuses its target and warehouse.
        results = json.loads((every["target"] / "run_results.json").read_text())["results"]
        slow = sorted(((r["unique_id"].split(".")[2], r["execution_time"]) for r in results), key=lambda kv: -kv[1])
        inputs = python_model_inputs(every["target"], every["db"])
        again = rebuild(raw, fmt, work, THREADS["every core"], every) if fixed is None else None
        pandas = None
        if fixed is not None:
            pandas = {"load": load()} | measured(
                [sys.executable, str(REPO / "benchmarks" / "pandas_workload.py"), str(raw)], work, "pandas"
            )
        pandas_line = pandas["log"].read_text().strip().splitlines()[-1] if pandas else ""

    def line(label: str, m: dict, extra: str = "") -> None:
        rate = gen_rows / m["wall"]
        print(
            f"  {label:<26}{m['wall']:8.1f} s  {rate:12,.0f} rows/s  peak {m['rss_mb']:7,.0f} MB"
            f"  ({m.get('load', '')}){extra}"
        )

    cores = os.cpu_count() or 1
    print(f"\n== {patients:,} patients, {fmt} extracts ({gen_rows:,} rows in the files)")
    line("generator", gen)
    line("raw-read floor", floor)
    for label, m in builds.items():
        shown = f"dbt build, {label}" + (f" ({cores})" if label == "every core" else "")
        line(shown, m, f"   = {m['wall'] / floor['wall']:.1f}x the floor")
    out = {"patients": patients, "format": fmt, "floor": floor["wall"]}
    out |= {label: m["wall"] for label, m in builds.items()}
    if fixed is None:
        print("  (this build is the fixed cost of the larger scales)")
        line("the same build again", again, f"   ({again['parse']})")
        out["again"] = again["wall"]
    else:
        part = {label: builds[label]["wall"] - fixed[label] for label in THREADS}
        out["part"] = part
        print(
            f"  fixed cost (the {FIXED_PATIENTS}-patient build): "
            + ", ".join(f"{fixed[label]:.1f} s on {label}" for label in THREADS)
        )
        print(
            "  data-dependent part (build - fixed): "
            + ", ".join(
                f"{part[label]:.1f} s on {label} = {part[label] / floor['wall']:.1f}x the floor" for label in THREADS
            )
        )
        if part["every core"] > 0:
            speed_up = part["1 thread"] / part["every core"]
            print(f"  speed-up of the data-dependent part, 1 thread -> {cores} cores: {speed_up:.2f}x")
        line("pandas script", pandas, f"   dbt (every core) is {pandas['wall'] / every['wall']:.2f}x as fast")
        print(f"    ({pandas_line})")
        out["pandas"] = pandas["wall"]
    print("  ten slowest dbt nodes: " + ", ".join(f"{name} {secs:.1f}s" for name, secs in slow[:10]))
    print("  rows read by each dbt Python model: " + ", ".join(f"{name} {n:,}" for name, n in inputs))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", choices=["csv", "parquet"], default=["csv", "parquet"])
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each dbt build this many times and keep the fastest (default 1)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat takes a whole number from 1")
    if any(not 1 <= n <= 5_000_000 for n in args.patients):
        parser.error("--patients takes numbers from 1 to 5,000,000")
    runs = []
    for fmt in args.formats:
        fixed = bench(FIXED_PATIENTS, fmt, None, args.repeat)
        runs += [fixed] + [bench(n, fmt, fixed, args.repeat) for n in args.patients if n != FIXED_PATIENTS]
    print("\nsummary (wall seconds; part = build - fixed cost; x floor = part / raw-read floor)")
    heads = [
        "format",
        "patients",
        "floor",
        "build 1t",
        "build all",
        "part 1t",
        "part all",
        "x floor",
        "speed-up",
        "pandas",
    ]
    print("  " + "".join(f"{h:>10}" for h in heads))
    for r in runs:
        cells = [
            r["format"],
            f"{r['patients']:,}",
            f"{r['floor']:.1f}",
            f"{r['1 thread']:.1f}",
            f"{r['every core']:.1f}",
        ]
        part = r.get("part")
        if part:
            one, every = part["1 thread"], part["every core"]
            speed_up = f"{one / every:.2f}" if every > 0 else "-"
            cells += [f"{one:.1f}", f"{every:.1f}", f"{every / r['floor']:.1f}", speed_up, f"{r['pandas']:.1f}"]
        else:
            cells += ["(fixed)"]
        print("  " + "".join(f"{c:>10}" for c in cells))
    for r in runs:
        if "again" in r:
            print(
                f"  {r['format']}: the {FIXED_PATIENTS}-patient build again, on dbt's saved parse: {r['again']:.1f} s "
                f"(first build {r['every core']:.1f} s, every core)"
            )
    for fmt in args.formats:
        walls = {r["patients"]: r["every core"] for r in runs if r["format"] == fmt}
        if 100_000 in walls and 1_000_000 in walls:
            print(f"\n{fmt}: dbt build wall grows {walls[1_000_000] / walls[100_000]:.1f}x from 100k to 1M patients")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
