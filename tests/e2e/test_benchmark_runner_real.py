"""benchmarks/run through its shell wrapper, on a real benchmark: the command's start times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_runner_reads_cli_starts_figures_against_its_target() -> None:
    env = {**os.environ, "STANDBY_PYTHON": sys.executable}
    done = subprocess.run(
        [str(ROOT / "benchmarks" / "run"), "--quick", "--only", "cli_start", "--json", "--timeout", "240"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["quick"] is True
    [outcome] = found["benchmarks"]
    assert (outcome["benchmark"], outcome["status"], outcome["reason"]) == ("cli_start", "ran", "")
    names = [figure["name"] for figure in outcome["figures"]]
    assert names == [
        "standby --help, median",
        "standby check PLAN, median",
        "standby audit PLAN, median",
        "standby erlang (Erlang A, one interval), median",
        "standby impact, up to its first step, median",
    ]
    for figure in outcome["figures"]:
        # Speed is shown, never asserted: only that a real time was measured against the target.
        assert figure["unit"] == "s" and figure["target"] == 0.3 and figure["better"] == "lower"
        assert 0 < figure["value"] < 240
        assert figure["met"] == (figure["value"] <= 0.3)
    assert [row["figure"] for row in found["rows"]] == names
    assert {row["result"] for row in found["rows"]} <= {"met", "not met"}
