"""Generator speed at several scales: wall seconds, rows written per second, peak memory.

Prints figures; asserts nothing. Usage: python benchmarks/bench_generators.py [--scales small medium large]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(scale: str, fmt: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "generators", "--scale", scale, "--format", fmt, "--out", out, "--quiet"],
            cwd=REPO,
            check=True,
        )
        wall = time.perf_counter() - t0
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        manifest = json.loads((Path(out) / "manifest.json").read_text())
        rows = sum(f["rows"] for f in manifest["files"].values())
        size = sum(p.stat().st_size for p in Path(out).iterdir())
    return {
        "scale": scale,
        "format": fmt,
        "patients": manifest["patients"],
        "rows": rows,
        "wall_s": wall,
        "rows_per_s": rows / wall,
        "peak_mb": max(peak_kb, before) / 1024,
        "size_mb": size / 2**20,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scales", nargs="+", choices=["small", "medium", "large"], default=["small", "medium"])
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = p.parse_args()
    print(f"{'scale':<8}{'patients':>10}{'rows':>13}{'wall s':>9}{'rows/s':>13}{'peak MB':>9}{'files MB':>10}")
    for scale in args.scales:
        r = run(scale, args.format)
        print(
            f"{r['scale']:<8}{r['patients']:>10,}{r['rows']:>13,}{r['wall_s']:>9.1f}{r['rows_per_s']:>13,.0f}"
            f"{r['peak_mb']:>9.0f}{r['size_mb']:>10.0f}",
            flush=True,
        )
    print("peak MB is the largest resident set of any generator run so far (ru_maxrss of children).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
