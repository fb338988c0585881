"""Do the planted total effects (truth.json's total_effect_irr) fall inside the `total` model's 95%
confidence intervals as often as 95% intervals should?

For each seed: generate the extracts (`python -m generators --seed S --scale ...`), build the
rate models and the published mart (`dbt build --select +asthma_admission_rate_ratios`, without
the data tests, on a DuckDB file of its own under --work), and read the `total` model's primary
family from marts.asthma_admission_rate_ratios: 13 demographic IRRs (IMD 1-4, five ethnicity
groups, three age bands, sex) with their 95% CIs, against the planted values in that seed's
truth.json. `--engine simulation` fits the same model (health_equity.stats.rates, the warehouse's code)
on generators.asthma.simulate_followup instead: the same patients the CLI writes for the seed,
counted as the warehouse counts them (tests/python/warehouse/test_asthma_models.py checks that they are),
without files or dbt, so hundreds of seeds are cheap.

Prints, per parameter, the planted IRR, the mean estimate, how many seeds' intervals cover it
(each parameter's intervals are independent across seeds: an exact binomial test against 0.95)
and the mean z = (log IRR - log planted) / SE (about N(0, 1/seeds) when the truth is what the
data carry and the SEs are right); then k of N intervals covering in all, with the exact
two-sided binomial test of k ~ Binomial(N, 0.95) and the central 95% range of that distribution.
The 13 intervals of one seed share data (the reference groups), so k is a little more spread
than a binomial; the per-parameter tests are exact. Exits 1 when the overall binomial p is
below --fail-below (default 0.01).

`--engine pooled` measures the pseudo-true values themselves: it pools every seed's simulated
patients into one fit (the same code; all the seeds' patients, so its standard errors are those of
a register that size) and prints each planted IRR against it, relative difference and z, for
every patient with follow-up (the total model's population) and for the clustered ones only
(at least var cluster_min_baseline_years of baseline, the population the total model had before).

Usage:
  python benchmarks/validate_truth.py --seeds 1..5 --scale medium
  python benchmarks/validate_truth.py --seeds 1..200 --scale medium --engine simulation
  python benchmarks/validate_truth.py --seeds 1..140 --scale large --engine pooled
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# This checkout's generators and health_equity, here and in dbt's Python models, whatever the
# environment's editable install points at.
sys.path.insert(0, str(REPO))
PYTHONPATH = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
SCALES = {"small": 10_000, "medium": 100_000, "large": 1_000_000}
DEMOGRAPHIC = ["imd_quintile", "ethnicity_group", "age_band", "sex"]
LEVEL = 0.95


def seed_list(text: str) -> list[int]:
    """'1..5' (inclusive), '1,4,9' or a mix: '1..3,10'."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("..")
        seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return seeds


def total_rows(rr: pd.DataFrame, planted: dict, seed: int) -> pd.DataFrame:
    """The total model's primary demographic terms of one fit, with the planted IRR and z."""
    rr = rr[(rr.model_name == "total") & rr.is_primary & rr.term.isin(DEMOGRAPHIC)]
    if len(rr) != 13 or (rr.estimate_status != "estimated").any():
        raise SystemExit(f"seed {seed}: the total model has {len(rr)} demographic terms, not 13 estimated ones")
    out = rr[["term", "level", "model_family", "irr", "ci_lower", "ci_upper", "std_error", "n", "events"]].copy()
    out["seed"] = seed
    out["planted"] = [float(planted[t][str(lv)]) for t, lv in zip(out.term, out.level)]
    out["covered"] = (out.ci_lower <= out.planted) & (out.planted <= out.ci_upper)
    out["z"] = (np.log(out.irr) - np.log(out.planted)) / out.std_error
    return out


def warehouse_fit(seed: int, size: list[str], work: Path) -> pd.DataFrame:
    here = work / f"seed-{seed}"
    raw = here / "raw"
    if not (raw / "manifest.json").exists():
        gen = [sys.executable, "-m", "generators", "--seed", str(seed), *size, "--out", str(raw), "--quiet"]
        subprocess.run(gen, cwd=REPO, check=True, env=os.environ | {"PYTHONPATH": PYTHONPATH})
    db = here / "warehouse.duckdb"
    env = os.environ | {
        "DBT_TARGET": "test",
        "HEALTH_EQUITY_TEST_DB": str(db),
        "PYTHONPATH": PYTHONPATH,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }
    cmd = [
        str(BIN / "dbt"),
        "build",
        "--select",
        "+asthma_admission_rate_ratios",
        "--exclude",
        "resource_type:test",
        "resource_type:unit_test",
        "--profiles-dir",
        str(REPO),
        "--project-dir",
        str(REPO),
        "--target-path",
        str(here / "target"),
        "--log-path",
        str(here / "logs"),
        "--vars",
        json.dumps({"raw_dir": str(raw)}),
    ]
    build = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if build.returncode != 0:
        raise SystemExit(f"seed {seed}: dbt build failed\n{build.stdout[-3000:]}")
    with duckdb.connect(str(db), read_only=True) as con:
        rr = con.sql("select * from marts.asthma_admission_rate_ratios").df()
    planted = json.loads((raw / "truth.json").read_text())["asthma"]["total_effect_irr"]
    return total_rows(rr, planted, seed)


DAYS_PER_YEAR = 365.25


def dbt_vars() -> dict:
    return yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]


def rate_config():
    from health_equity.stats import rates

    v = dbt_vars()
    return rates.RateModelConfig(
        lr_test_level=float(v["rate_model_lr_test_level"]),
        min_patients=int(v["rate_model_min_patients"]),
        reference={k: str(lv) for k, lv in v["rate_ratio_reference"].items()},
    )


def simulation_fit(seed: int, n_patients: int) -> pd.DataFrame:
    from generators import asthma
    from health_equity.stats import rates

    sim = pd.DataFrame(asthma.simulate_followup(seed, n_patients))
    patients = pd.DataFrame(
        {
            "patient_key": sim.patient_id.astype(str),
            **{c: sim[c] for c in DEMOGRAPHIC},
            rates.BASELINE: 0,  # a covariate of the cluster models only; none is fitted here
            rates.OUTCOME: sim.followup_emergency_admissions,
            rates.EXPOSURE: sim.followup_days / DAYS_PER_YEAR,
        }
    )
    no_clusters = pd.DataFrame({"patient_key": pd.Series(dtype=str), "cluster_id": [], "cluster_label": []})
    rr = rates.rate_ratios(patients, no_clusters, rate_config())
    return total_rows(rr, asthma.total_effect_irr(), seed)


def pooled(seeds: list[int], n_patients: int) -> None:
    """One fit of the total model on every seed's simulated patients together (module doc)."""
    from generators import asthma
    from health_equity.stats import rates

    keys = [*DEMOGRAPHIC, rates.OUTCOME, "followup_days", "clustered"]
    min_baseline_days = float(dbt_vars()["cluster_min_baseline_years"]) * DAYS_PER_YEAR
    parts = []
    for i, seed in enumerate(seeds):
        sim = pd.DataFrame(asthma.simulate_followup(seed, n_patients))
        sim = sim[sim.followup_days > 0].rename(columns={"followup_emergency_admissions": rates.OUTCOME})
        sim["clustered"] = sim.baseline_days >= min_baseline_days
        parts.append(sim.groupby(keys).size().rename("weight").reset_index())
        if len(parts) > 1:
            parts = [pd.concat(parts).groupby(keys).weight.sum().reset_index()]
        print(f"seed {seed} simulated ({i + 1}/{len(seeds)})", flush=True)
    rows = parts[0]
    planted = asthma.total_effect_irr()
    cfg = rate_config()
    for population, subset in (("every patient with follow-up", rows), ("clustered only", rows[rows.clustered])):
        w = subset.groupby(keys[:-1]).weight.sum().reset_index()
        w[rates.EXPOSURE] = w.followup_days / DAYS_PER_YEAR
        for c in DEMOGRAPHIC:
            w[c] = w[c].astype(str)
        w[rates.OUTCOME] = w[rates.OUTCOME].astype(float)
        w["weight"] = w.weight.astype(float)
        levels = {c: sorted(w[c].unique()) for c in DEMOGRAPHIC}
        fit = rates.fit_model(w, "total", DEMOGRAPHIC, levels, cfg.reference, cfg)
        fit = fit[fit.term.isin(DEMOGRAPHIC)].copy()
        fit["planted"] = [float(planted[t][lv]) for t, lv in zip(fit.term, fit.level)]
        fit["difference_pct"] = 100 * (fit.irr / fit.planted - 1)
        fit["z"] = (np.log(fit.irr) - np.log(fit.planted)) / fit.std_error
        # The same difference in standard errors of a 100k-patient register's fit.
        fit["z_at_100k"] = fit.z * np.sqrt(0.889 * 100_000 / fit.n)
        print(
            f"\n{population}: {int(fit.n.iloc[0]):,} patients, {int(fit.events.iloc[0]):,} admissions, "
            f"alpha {fit.alpha.iloc[0]:.3f}"
        )
        columns = ["model_family", "term", "level", "planted", "irr", "difference_pct", "z", "z_at_100k"]
        with pd.option_context("display.width", 160, "display.float_format", "{:.4f}".format):
            print(fit[columns].to_string(index=False))


def binomial_range(n: int, p: float) -> tuple[int, int]:
    """Central 95% range of Binomial(n, p)."""
    return int(stats.binom.ppf(0.025, n, p)), int(stats.binom.ppf(0.975, n, p))


def report(fits: pd.DataFrame) -> float:
    seeds = fits.seed.nunique()
    per = (
        fits.groupby(["term", "level"], sort=False)
        .agg(
            planted=("planted", "first"),
            mean_irr=("irr", "mean"),
            covered=("covered", "sum"),
            seeds=("seed", "nunique"),
            mean_z=("z", "mean"),
        )
        .reset_index()
    )
    per["binomial_p"] = [stats.binomtest(int(k), int(s), LEVEL).pvalue for k, s in zip(per.covered, per.seeds)]
    per["bias_z"] = per.mean_z * np.sqrt(per.seeds)
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.float_format", "{:.4f}".format):
        print(per.to_string(index=False))
    k, n = int(fits.covered.sum()), len(fits)
    p = stats.binomtest(k, n, LEVEL).pvalue
    lo, hi = binomial_range(n, LEVEL)
    family = ", ".join(sorted(fits.model_family.unique()))
    print(
        f"\n{k} of {n} intervals cover the planted value ({k / n:.1%}; {seeds} seeds x 13 parameters, "
        f"primary family: {family}). Expected {LEVEL * n:.1f}; central 95% range of Binomial({n}, {LEVEL}): "
        f"{lo}..{hi}; exact two-sided binomial p = {p:.3g}."
    )
    per_seed = fits.groupby("seed").covered.sum()
    print(f"Covered per seed (of 13): {', '.join(f'{s}: {c}' for s, c in per_seed.items())}")
    print(
        "Largest |bias z| over the parameters (mean z x sqrt(seeds), about N(0, 1) each): "
        f"{per.bias_z.abs().max():.2f} ({per.loc[per.bias_z.abs().idxmax(), ['term', 'level']].str.cat(sep=' ')})"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=seed_list, default=seed_list("1..5"), help="e.g. 1..5 or 1,2,7 (default 1..5)")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--scale", choices=SCALES, default="medium", help="generator scale (default medium: 100k)")
    size.add_argument("--patients", type=int, help="patients per seed (instead of --scale)")
    ap.add_argument("--engine", choices=["warehouse", "simulation", "pooled"], default="warehouse")
    ap.add_argument(
        "--work", type=Path, default=Path("/tmp/health_equity_validate_truth"), help="extracts and warehouses"
    )
    ap.add_argument("--csv", type=Path, help="also write every seed's rows here")
    ap.add_argument("--fail-below", type=float, default=0.01, help="exit 1 when the binomial p is below this")
    args = ap.parse_args(argv)
    n_patients = args.patients or SCALES[args.scale]
    size_args = ["--patients", str(n_patients)]
    if args.engine == "pooled":
        pooled(args.seeds, n_patients)
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    fits = []
    for seed in args.seeds:
        started = time.perf_counter()
        if args.engine == "warehouse":
            fit = warehouse_fit(seed, size_args, args.work)
        else:
            fit = simulation_fit(seed, n_patients)
        fits.append(fit)
        print(
            f"seed {seed}: {int(fit.covered.sum())}/13 covered, n={int(fit.n.iloc[0]):,} patients, "
            f"{int(fit.events.iloc[0]):,} admissions ({time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    all_fits = pd.concat(fits, ignore_index=True)
    if args.csv:
        all_fits.to_csv(args.csv, index=False)
    print(f"\nengine: {args.engine}, {n_patients:,} patients per seed, seeds {args.seeds[0]}..{args.seeds[-1]}\n")
    p = report(all_fits)
    return 1 if p < args.fail_below else 0


if __name__ == "__main__":
    sys.exit(main())
