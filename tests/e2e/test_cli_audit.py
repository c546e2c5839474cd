"""`standby audit` as a user runs it: the table, --json, --strict and --today."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.cli import app
from standby.plan.loading import reference_plan_text

runner = CliRunner()


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(reference_plan_text(), encoding="utf-8")
    return path


def test_table_lists_findings_and_a_summary(reference: Path) -> None:
    result = runner.invoke(app, ["audit", str(reference), "--today", "2026-11-22"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Audit of" in result.output and "2026-11-22" in result.output
    assert "single point of failure" in result.output
    assert "components: sbc" in result.output
    assert "vendors: carrier-b" in result.output
    assert result.output.strip().splitlines()[-1] == "14 findings: 7 high, 4 medium, 3 low."


def test_json_output(reference: Path) -> None:
    result = runner.invoke(app, ["audit", str(reference), "--json", "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["plan"] == str(reference)
    assert document["today"] == "2026-11-22"
    assert document["counts"] == {"high": 7, "medium": 4, "low": 3}
    first = document["findings"][0]
    assert set(first) == {"severity", "code", "subject", "section", "message", "details"}
    found = {(f["code"], f["subject"]) for f in document["findings"]}
    assert {
        ("single-point-of-failure", "sbc"),
        ("end-of-life", "sbc"),
        ("vendor-review-overdue", "carrier-b"),
        ("drill-overdue", "drills"),
    } <= found


def test_strict_exits_1_on_a_high_finding(reference: Path) -> None:
    result = runner.invoke(app, ["audit", str(reference), "--strict", "--today", "2026-11-22"])
    assert result.exit_code == 1
    assert "single point of failure" in result.output


def test_strict_exits_0_without_a_high_finding(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("organisation: {name: Tiny centre}\n", encoding="utf-8")
    result = runner.invoke(app, ["audit", str(plan), "--strict", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["counts"] == {"high": 0, "medium": 2, "low": 0}
    # Without --today the plan's own time zone (UTC here) gives the date.
    assert abs((date.fromisoformat(document["today"]) - date.today()).days) <= 1


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "22/11/2026"])
def test_bad_today_is_a_usage_error(reference: Path, bad: str) -> None:
    result = runner.invoke(app, ["audit", str(reference), "--today", bad])
    assert result.exit_code == 2
    assert "--today" in result.stderr and "YYYY-MM-DD" in result.stderr


def test_invalid_plan_exits_2_with_the_place(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("organisation: {name: Tiny}\ncomponents:\n  - {id: a, name: A, depends_on: [b]}\n")
    result = runner.invoke(app, ["audit", str(plan), "--today", "2026-11-22"])
    assert result.exit_code == 2
    assert f"{plan}:3:" in result.stderr


def test_audit_runs_as_a_program(reference: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "standby",
            "audit",
            str(reference),
            "--json",
            "--strict",
            "--today",
            "2026-11-22",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["counts"]["high"] == 7
