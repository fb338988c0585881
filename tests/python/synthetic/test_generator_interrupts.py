"""Generator CLI: a run that is stopped (by a signal, or killed outright) leaves nothing
half-written: its partial folder is removed and the previous output is as it was."""

from __future__ import annotations

import hashlib

import pytest
from conftest import REPO, generate

# --- a run that is stopped leaves nothing half-written ----------------------------------------------


def _start(out, *args):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "generators", "--out", str(out), "--quiet", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_partial_files(out, proc, timeout: float = 120.0):
    """The run's partial folder once it holds a written file (the run is mid-write)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        found = [p for p in out.parent.glob(f".{out.name}.partial-*") if any(p.iterdir())]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("the run never started writing")


# How long a stopped run may take to exit. It acts on the signal within one chunk of 50,000
# patients (under a second idle, about 2 s with both cores busy); the margin is for a loaded
# machine, not for a run that carries on writing (a whole --patients 5000000 run is minutes).
STOP_SECONDS = 60


def _stopped(proc, signum: int) -> str:
    """Send ``signum`` and wait for the run to exit; its stderr. A run still going after
    STOP_SECONDS is killed and named as the failure (not a bare TimeoutExpired)."""
    import subprocess

    proc.send_signal(signum)
    try:
        return proc.communicate(timeout=STOP_SECONDS)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        err = proc.communicate()[1]
        raise AssertionError(f"the run was still going {STOP_SECONDS}s after signal {signum}: {err[-2000:]}") from None


def _snapshot(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(("signum", "code"), [(15, 143), (2, 130), (1, 129)])
def test_a_run_stopped_by_a_signal_removes_its_partial_folder_and_leaves_the_output_as_it_was(tmp_path, signum, code):
    out = tmp_path / "existing"
    first = generate(out, "--patients", "300", "--hospitals", "50", "--seed", "3", "--quiet")
    assert first.returncode == 0, first.stderr
    before = _snapshot(out)
    proc = _start(out, "--patients", "400000", "--only", "asthma", "--seed", "4")
    partial = _wait_for_partial_files(out, proc)
    err = _stopped(proc, signum)
    assert proc.returncode == code, err
    assert f"{out} is as it was" in err
    assert not partial.exists() and not list(tmp_path.glob(".existing.partial-*"))
    assert _snapshot(out) == before


def test_an_interrupted_run_at_the_documented_maximum_leaves_nothing_behind(tmp_path):
    """--patients 5000000 (the largest documented run) into a new folder, stopped with Ctrl-C
    while it writes: no partial folder, and no output folder either (there was none before)."""
    out = tmp_path / "new"
    proc = _start(out, "--patients", "5000000", "--only", "asthma", "--seed", "4")
    partial = _wait_for_partial_files(out, proc)
    err = _stopped(proc, 2)
    assert proc.returncode == 130, err
    assert f"stopped by signal 2; {out} is as it was" in err
    assert not partial.exists() and list(tmp_path.iterdir()) == []


def test_a_run_killed_outright_has_its_partial_folder_removed_by_the_next_run(tmp_path):
    out = tmp_path / "existing"
    proc = _start(out, "--patients", "400000", "--only", "asthma", "--seed", "4")
    partial = _wait_for_partial_files(out, proc)
    proc.kill()  # SIGKILL: nothing of the run can clean up
    proc.communicate(timeout=60)
    assert partial.exists()
    # A live run's folder is never touched: a second run in progress beside it keeps its own.
    again = generate(out, "--patients", "300", "--hospitals", "50", "--seed", "3")
    assert again.returncode == 0, again.stderr
    assert f"removed {partial.name}, left by a run that was killed" in again.stderr
    assert not list(tmp_path.glob(".existing.partial-*"))
    assert (out / "manifest.json").exists()


def test_a_signal_whose_exception_was_lost_still_stops_the_run_at_the_next_chunk(tmp_path, monkeypatch, capsys):
    """Python drops an exception raised while a finaliser runs, so the handler's exception can be
    lost; its record of the signal then stops the run before the next chunk of patients, not after
    the whole run (minutes at --patients 5000000). In-process: the second chunk records SIGINT
    as the handler does, its exception lost."""
    from generators import asthma, cli

    real, chunks = asthma.generate_chunk, []

    def chunk(rng, pools, first_id, n):
        chunks.append(first_id)
        if len(chunks) == 2:
            cli._received.append(2)
        return real(rng, pools, first_id, min(n, 50))  # a few patients: only the chunk count matters

    monkeypatch.setattr(asthma, "generate_chunk", chunk)
    out = tmp_path / "new"
    args = ["--patients", str(20 * cli.CHUNK_PATIENTS), "--only", "asthma", "--seed", "4", "--quiet"]
    assert cli.main([*args, "--out", str(out)]) == 130
    assert len(chunks) == 2
    assert f"stopped by signal 2; {out} is as it was" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
