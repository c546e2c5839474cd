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


def chain_plan_text(n: int) -> str:
    """A plan whose n components form one chain that the only site and queue both need."""
    lines = ["organisation: {name: Chain centre}", "components:", "  - {id: c0, name: C0}"]
    lines += [f"  - {{id: c{i}, name: C{i}, depends_on: [c{i - 1}]}}" for i in range(1, n)]
    lines += [
        f"sites: [{{id: office, name: Office, seats: 10, depends_on: [c{n - 1}]}}]",
        f"queues: [{{id: sales, name: Sales, depends_on: [c{n - 1}], aht_s: 300,"
        " service_level: {answer_within_s: 20, target: 0.8}}]",
        "teams: [{id: desk, site: office, queues: [sales], agents: 5,"
        " shift: {start: '08:00', end: '20:00'}}]",
    ]
    return "\n".join(lines) + "\n"


def test_full_names_everything_the_default_counts(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(chain_plan_text(30), encoding="utf-8")
    args = ["audit", str(plan), "--json", "--today", "2026-11-22"]
    bounded, full = (json.loads(runner.invoke(app, args + extra).stdout) for extra in ([], ["--full"]))
    first, whole = (
        next(f for f in document["findings"] if f["subject"] == "c0") for document in (bounded, full)
    )
    assert first["details"]["components"] == [f"c{i}" for i in range(1, 11)]
    assert whole["details"]["components"] == [f"c{i}" for i in range(1, 30)]
    assert first["details"]["components_count"] == whole["details"]["components_count"] == 29
    assert (first["details"]["complete"], whole["details"]["complete"]) == (False, True)


# Peak memory is a correctness bound here, not a speed figure: the whole blast radius
# of every link of a 20,000-long chain would be 200 million names (3.4 GB when seen).
MEMORY_BOUND_MB = 300
_MEASURED = """
import resource, runpy, sys
sys.argv = ["standby", *sys.argv[1:]]
try:
    runpy.run_module("standby", run_name="__main__")
except SystemExit as stop:
    code = stop.code
finally:
    sys.stdout.flush()
    # VmHWM is this program's own peak: ru_maxrss keeps the peak of the process it was
    # started from (the pytest worker) across fork and exec.
    try:
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak-kb {peak}", file=sys.stderr)
"""


def test_a_20000_long_chain_audits_within_bounded_memory(tmp_path: Path) -> None:
    n = 20_000
    plan = tmp_path / "plan.yaml"
    plan.write_text(chain_plan_text(n), encoding="utf-8")
    output = tmp_path / "audit.json"
    with output.open("wb") as sink:
        done = subprocess.run(
            [sys.executable, "-c", _MEASURED, "audit", str(plan), "--json", "--today", "2026-11-22"],
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=600,
        )
    peak_mb = int(done.stderr.strip().splitlines()[-1].split()[-1]) / 1024
    assert peak_mb < MEMORY_BOUND_MB, f"peak {peak_mb:.0f} MB; {done.stderr[-2000:]}"
    document = json.loads(output.read_text(encoding="utf-8"))
    spofs = [f for f in document["findings"] if f["code"] == "single-point-of-failure"]
    assert len(spofs) == n
    first = next(f for f in spofs if f["subject"] == "c0")
    assert first["details"]["components_count"] == n - 1
    assert len(first["details"]["components"]) == 10
