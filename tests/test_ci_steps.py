"""``.ci/steps.sh``: every CI step timed, and the table printed also when a step fails."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ci(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    body = f"set -euo pipefail\nsource {ROOT / '.ci' / 'steps.sh'}\n{script}\n"
    env = {k: v for k, v in os.environ.items() if k != "STEP_ROWS_FILE"}  # as on a console, not inside a CI lane
    return subprocess.run(["bash", "-c", body], cwd=tmp_path, capture_output=True, text=True, check=False, env=env)


def table(output: str) -> dict[str, tuple[str, str]]:
    """step -> (seconds, cache) from the fixed-width table after the steps' own output."""
    lines = output.split("== CI time budget", 1)[1].splitlines()[2:]
    rows = [line for line in lines if line.strip() and not line.startswith("CI FAILED")]
    return {line[:28].strip(): (line[29:37].strip(), line[39:].strip()) for line in rows}


def test_a_failed_step_prints_the_table_so_far_and_its_exit_status(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    steps = "step 'first step' - true\nstep 'with cache' cache true\nstep broken missing false\nstep never - true"
    done = ci(steps, tmp_path)
    assert done.returncode == 1
    rows = table(done.stdout)
    assert list(rows) == ["first step", "with cache", "broken", "total"]
    assert rows["first step"][1] == "-" and rows["with cache"][1] == "warm" and rows["broken"][1] == "cold, FAILED"
    assert "CI FAILED (exit 1)" in done.stdout
    assert "== never" not in done.stdout


def test_every_step_shows_its_seconds_when_all_pass(tmp_path: Path) -> None:
    done = ci("step slow - sleep 1.1\nstep quick - true", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== slow: " in done.stdout and "CI FAILED" not in done.stdout
    rows = table(done.stdout)
    assert int(rows["slow"][0]) >= 1 and int(rows["total"][0]) >= int(rows["slow"][0])


def test_a_step_beside_another_gets_its_own_row_and_its_exit_status(tmp_path: Path) -> None:
    steps = (
        "beside waiter - waiter.log bash -c 'sleep 1.2; echo waited; exit 3'\n"
        "step worker - true\n"
        "step 'waiter: result' - joined\n"
        "step never - true"
    )
    done = ci(steps, tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "waited" in done.stdout, "the background step's output is printed when it is joined"
    rows = table(done.stdout)
    assert list(rows) == ["worker", "waiter (beside)", "waiter: result", "total"]
    assert int(rows["waiter (beside)"][0]) >= 1 and rows["waiter (beside)"][1] == "-, FAILED"
    assert "CI FAILED (exit 3)" in done.stdout


def test_a_failing_step_still_waits_for_and_shows_the_one_beside_it(tmp_path: Path) -> None:
    done = ci("beside waiter - waiter.log bash -c 'sleep 1; echo waited'\nstep worker - false", tmp_path)
    assert done.returncode == 1
    assert "waited" in done.stdout
    rows = table(done.stdout)
    assert rows["worker"][1] == "-, FAILED" and rows["waiter (beside)"][1] == "-"


def test_a_step_shown_beside_streams_its_output_once_and_keeps_its_exit_status(tmp_path: Path) -> None:
    """``beside_shown`` (the Pulumi build's heartbeat): on the console while the next step runs, not again
    at the join, and its own exit status survives the ``tee`` that shows it."""
    steps = (
        "beside_shown build cache build.log bash -c 'echo beat-one; sleep 1; echo beat-two; exit 4'\n"
        "step worker - bash -c 'sleep 0.3; echo working'\n"
        "step 'build: waited for' - joined"
    )
    done = ci(steps, tmp_path)
    assert done.returncode == 4, done.stdout + done.stderr
    out = done.stdout
    assert out.count("beat-one") == 1 and out.count("beat-two") == 1
    assert out.index("beat-one") < out.index("working") < out.index("beat-two"), "shown as it comes"
    assert (tmp_path / "build.log").read_text() == "beat-one\nbeat-two\n"
    rows = table(out)
    assert list(rows) == ["worker", "build (beside)", "build: waited for", "total"]
    assert rows["build (beside)"][1] == "cold, FAILED" and int(rows["build (beside)"][0]) >= 1


def test_a_lane_beside_another_step_shows_each_of_its_steps_and_stops_at_its_first_failure(tmp_path: Path) -> None:
    """A function of ``step``s run beside (the pipeline tests, make test and the mutation check beside the lab)."""
    steps = (
        "lane() { step waits - sleep 1.1; step checks - bash -c 'echo checked; exit 6'; step never - true; }\n"
        "beside lane - lane.log lane\n"
        "step worker - true\n"
        "step 'lane: result' - joined"
    )
    done = ci(steps, tmp_path)
    assert done.returncode == 6, done.stdout + done.stderr
    assert "checked" in done.stdout and "== never" not in done.stdout
    rows = table(done.stdout)
    assert list(rows) == ["worker", "lane (beside)", "waits", "checks", "lane: result", "total"]
    assert int(rows["waits"][0]) >= 1 and rows["checks"][1] == "-, FAILED" and rows["lane (beside)"][1] == "-, FAILED"
    assert "\n  waits " in done.stdout, "a lane's steps are indented under it"
