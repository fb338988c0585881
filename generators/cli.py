"""Command line: ``python -m generators --help``."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from generators import __version__, asthma, faults, hospitals
from generators.output import (
    TableWriter,
    partial_dir,
    sha256,
    swap_in,
    sweep_partial_dirs,
    write_census_csv,
    write_cms_csv,
    write_json,
)

SCALES = {"small": 10_000, "medium": 100_000, "large": 1_000_000}
# Largest --patients: the NHS-number-like ids stay unique up to ~24M patients and the practice
# codes up to ~15M; 5M is the documented, tested ceiling.
MAX_PATIENTS = 5_000_000
CHUNK_PATIENTS = 50_000  # fixed: part of what makes a seed reproduce the same bytes
ID_COLUMNS = {
    "gp_events": "gp_event_id",
    "prescriptions": "prescription_id",
    "hospital_admissions": "admission_id",
    "outpatient_appointments": "appointment_id",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, non-zero exit
        self.exit(2, f"{self.prog}: error: {message}\n")


def _bounded(name: str, cast: type, low, high, big: bool = False):
    """An argparse type: ``cast`` of the text within [low, high]; ``big`` prints the numbers with commas."""
    what = "a whole number" if cast is int else "a number"
    spec = "," if big else ""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {what}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{name} must be between {low:{spec}} and {high:{spec}}, got {value:{spec}}"
            )
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m generators",
        description=(
            "Write synthetic asthma-register and U.S. hospital extracts in real file layouts, "
            "with truth.json (planted parameters, for evaluation only) and manifest.json "
            "(files, row counts, sha256, injected faults). The same seed gives the same bytes."
        ),
    )
    p.add_argument("--seed", type=_bounded("--seed", int, 0, 2**32 - 1), default=42, help="random seed (default 42)")
    p.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default=None,
        help="asthma patients: small=10k, medium=100k, large=1M (default small)",
    )
    p.add_argument(
        "--patients",
        type=_bounded("--patients", int, 1, MAX_PATIENTS, big=True),
        default=None,
        help=f"asthma patients, 1-{MAX_PATIENTS:,}; overrides --scale",
    )
    p.add_argument(
        "--hospitals",
        type=_bounded("--hospitals", int, 1, hospitals.MAX_HOSPITALS, big=True),
        default=None,
        help=(
            f"U.S. hospitals, 1-{hospitals.MAX_HOSPITALS:,} "
            f"(default {hospitals.DEFAULT_HOSPITALS}, as in the real CMS file)"
        ),
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("seeds/synthetic"),
        help=(
            "output folder, created if absent (default seeds/synthetic); files are written to a "
            "temporary folder beside it and moved in only when all are complete"
        ),
    )
    p.add_argument(
        "--format",
        choices=["csv", "parquet"],
        default="parquet",
        help=(
            "asthma extract format (default parquet, which dbt reads several times faster than "
            "CSV); CMS and Census files are always CSV, as published"
        ),
    )
    p.add_argument(
        "--fault-rate",
        type=_bounded("--fault-rate", float, 0, 0.2),
        default=0.0,
        help="share of rows per extract given one injected fault, 0-0.2 (default 0)",
    )
    p.add_argument("--only", choices=["asthma", "hospitals"], default=None, help="write only one family of extracts")
    p.add_argument(
        "--layout",
        choices=["extracts", "omop"],
        default="extracts",
        help=(
            "extracts (default): the asthma extracts only; omop: also the same asthma world as OMOP CDM 5.4 "
            "tables in <out>/omop (--format decides CSV or Parquet) and the area lookup area_deprivation.csv, "
            "for the warehouse's OMOP input (var asthma_input: omop)"
        ),
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


class _Stopped(BaseException):
    """A termination signal, raised where the generator is so that its clean-up runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# The termination signals this run has received, in order (main's handler records each). The
# handler also raises _Stopped at once, but Python drops an exception raised while a finaliser
# (__del__) runs; the long steps look here too (stop_if_signalled), so a signal is acted on
# within one chunk of patients, not after the whole run (minutes at --patients 5000000).
_received: list[int] = []


def stop_if_signalled() -> None:
    """Raise _Stopped for the first signal received, if one was: called between the steps of a run."""
    if _received:
        raise _Stopped(_received[0])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out: Path = args.out
    # A folder this run creates and never fills (it stopped or failed first) is removed again, so
    # "as it was" holds for a new --out too.
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        for stale in sweep_partial_dirs(out):
            print(f"python -m generators: removed {stale.name}, left by a run that was killed", file=sys.stderr)
        work = partial_dir(out)
    except OSError as exc:
        print(f"python -m generators: error: --out {out}: {exc.strerror}", file=sys.stderr)
        return 2
    # A run stopped by Ctrl-C, SIGTERM or SIGHUP (kill, a closed terminal) unwinds, so the
    # `finally` below removes its partial folder; the output folder is only ever touched by the
    # renames of swap_in, after everything is written. The signal is also recorded (_received), so
    # one that lands in a finaliser is acted on at the next step, and always before anything is moved.
    _received.clear()

    def stop(signum: int, _frame) -> None:
        _received.append(signum)
        raise _Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        files, manifest, secs = generate(args, work)
        stop_if_signalled()
        # The renames into the output folder are not interrupted: a signal that arrives meanwhile
        # waits until they are done (the new run is then complete, and says so).
        deferred: list[int] = []
        for sig in previous:
            signal.signal(sig, lambda signum, _frame: deferred.append(signum))
        swap_in(work, out, files)
        if deferred:
            print(f"python -m generators: stopped by signal {deferred[0]} after writing {out}", file=sys.stderr)
            return 128 + deferred[0]
    except _Stopped as stopped:
        print(f"python -m generators: stopped by signal {stopped.signum}; {out} is as it was", file=sys.stderr)
        return 128 + stopped.signum
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.layout == "omop" and args.only != "hospitals":
        from generators.omop import write_omop

        write_omop(out, args.format)
    rows = sum(m["rows"] for m in files.values())
    if not args.quiet:
        print(
            f"wrote {rows:,} rows in {len(files)} files to {out} in {secs:.1f}s "
            f"({rows / max(secs, 1e-9):,.0f} rows/s); {len(manifest['faults'])} faults injected",
            file=sys.stderr,
        )
    return 0


def generate(args: argparse.Namespace, out: Path) -> tuple[dict[str, dict], dict, float]:
    """Write every extract, truth.json and manifest.json into ``out`` (the temporary folder)."""
    n_patients = args.patients or SCALES[args.scale or "small"]
    n_hospitals = args.hospitals or hospitals.DEFAULT_HOSPITALS
    started = time.perf_counter()
    seq = np.random.SeedSequence(args.seed)
    asthma_seq, hospital_seq, fault_seq = seq.spawn(3)
    files: dict[str, dict] = {}
    injected: list[dict] = []
    truth: dict = {"seed": args.seed, "generator_version": __version__}
    fault_rng = np.random.default_rng(fault_seq)

    if args.only in (None, "asthma"):
        truth["asthma"], fa = write_asthma(
            out, args.format, n_patients, args.seed, asthma_seq, fault_rng, args.fault_rate, args.quiet
        )
        files.update(fa["files"])
        injected += fa["faults"]
        stop_if_signalled()
    if args.only in (None, "hospitals"):
        truth["hospitals"], fh = write_hospitals(out, n_hospitals, args.seed, hospital_seq, fault_rng, args.fault_rate)
        files.update(fh["files"])
        injected += fh["faults"]

    stop_if_signalled()
    write_json(out / "truth.json", truth, sort_keys=True)
    manifest = {
        "seed": args.seed,
        "patients": n_patients if args.only != "hospitals" else 0,
        "hospitals": n_hospitals if args.only != "asthma" else 0,
        "format": args.format,
        "fault_rate": args.fault_rate,
        "files": {name: {**meta, "sha256": sha256(out / meta["path"])} for name, meta in sorted(files.items())},
        "faults": injected,
    }
    write_json(out / "manifest.json", manifest)
    return files, manifest, time.perf_counter() - started


def write_asthma(out, fmt, n_patients, seed, seq, fault_rng, fault_rate, quiet):
    """The asthma extracts, in chunks of CHUNK_PATIENTS: returns (truth, {files, faults})."""
    pools = asthma.build_pools(seed, max(20, n_patients // 800), np.random.default_rng(seq.spawn(1)[0]))
    writers = {name: TableWriter(out, name, fmt, schema) for name, schema in asthma.SCHEMAS.items()}
    next_id = dict.fromkeys(ID_COLUMNS, 1)
    n_chunks = -(-n_patients // CHUNK_PATIENTS)
    phenotypes = []
    injected = []
    chunk_seqs = seq.spawn(n_chunks + 1)[1:]
    with tqdm(total=n_patients, unit=" patients", disable=quiet, desc="asthma extracts", file=sys.stderr) as bar:
        for c in range(n_chunks):
            stop_if_signalled()
            first = c * CHUNK_PATIENTS
            n = min(CHUNK_PATIENTS, n_patients - first)
            tables, planted = asthma.generate_chunk(np.random.default_rng(chunk_seqs[c]), pools, 1_000_001 + first, n)
            for name, table in tables.items():
                if name in ID_COLUMNS:
                    ids = np.arange(next_id[name], next_id[name] + table.num_rows, dtype=np.int64)
                    next_id[name] += table.num_rows
                    table = table.add_column(0, ID_COLUMNS[name], pa.array(ids))
                table, recs = faults.inject(fault_rng, name, table, fault_rate, writers[name].rows)
                injected += recs
                writers[name].write(table)
            phenotypes.append(planted)
            bar.update(n)
    stop_if_signalled()
    practices = asthma.practices_table(pools)
    writers["gp_practices"].write(practices)
    for w in writers.values():
        w.close()
    phen = {
        "patient_id": np.concatenate([p["patient_id"] for p in phenotypes]).tolist(),
        "phenotype": np.concatenate([p["phenotype"] for p in phenotypes]).tolist(),
    }
    truth = asthma.truth()
    truth["patient_phenotype"] = phen
    files = {name: {"path": w.path.name, "rows": w.rows, "kind": "asthma"} for name, w in writers.items()}
    return truth, {"files": files, "faults": injected}


def write_hospitals(out, n_hospitals, seed, seq, fault_rng, fault_rate):
    """The CMS and Census files (faults go into the CMS ones): returns (truth, {files, faults})."""
    tables, truth, planted = hospitals.generate(np.random.default_rng(seq), seed, n_hospitals)
    files, injected = {}, []
    for name, rows in tables.items():
        path = out / f"{name}.csv"
        header, body = rows[0], rows[1:]
        if name == "ACSDT5Y.B19013-Data":
            write_census_csv(path, rows)
        else:
            cols = list(zip(*body)) if body else [[] for _ in header]
            table = pa.table(
                {h: pa.array([v if v != "" else None for v in col], pa.string()) for h, col in zip(header, cols)}
            )
            table, recs = faults.inject(fault_rng, name, table, fault_rate, 0)
            injected += recs
            write_cms_csv(path, table)
        files[name] = {"path": path.name, "rows": len(body), "kind": "hospitals"}
    truth["hospital_latent_risk"] = planted
    return truth, {"files": files, "faults": injected}
