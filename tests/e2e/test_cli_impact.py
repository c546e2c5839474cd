"""`standby impact` as a manager runs it: the summary, --json, --html, and every bad input as exit 2.

The simulation is the real one, kept quick: two simulated days in one process.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.cli import app
from standby.impact.results import ImpactResult
from standby.plan.loading import reference_plan_text

runner = CliRunner()
FAST = ["--replications", "2", "--workers", "1"]
ACD_HOUR = ["--down", "acd", "--at", "10:00", "--minutes", "60"]


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(reference_plan_text(), encoding="utf-8")
    return path


def impact(*args: str | Path):
    return runner.invoke(app, ["impact", *map(str, args)], terminal_width=200)


def test_the_summary_answers_what_an_hour_without_the_acd_costs(reference: Path) -> None:
    result = impact(reference, *ACD_HOUR, *FAST)
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())  # Rich wraps at the width it found
    assert out.startswith("An hour without CloudCX routing (ACD) from 10:00: ")
    assert "customers affected" in out and "of them vulnerable" in out
    assert "cost £" in out and "idle wages £" in out and "value lost £" in out
    assert "the Gas emergency line's 15-minute tolerance is breached at 10:15" in out
    for row in ("calls offered", "unreachable", "abandoned", "back on target"):
        assert row in out
    assert "Means of 2 simulated days (seed 1)" in out
    assert "Traceback" not in result.output


def test_json_is_the_result_alone_and_the_same_seed_gives_the_same_bytes(reference: Path) -> None:
    first = impact(reference, *ACD_HOUR, *FAST, "--seed", "7", "--json")
    assert first.exit_code == 0, first.output
    document = json.loads(first.stdout)  # nothing but the JSON on stdout
    assert set(document) == {f.name for f in dataclasses.fields(ImpactResult)}
    assert document["scenario"] == {"down": ["acd"], "at": 600, "minutes": 60}
    assert document["replications"] == 2 and document["seed"] == 7
    assert document["currency"] == "GBP"
    assert {b["queue"] for b in document["breaches"]} >= {"emergency"}
    assert set(document["outage"]["queues"]) == {"emergency", "billing", "moving"}
    again = impact(reference, *ACD_HOUR, *FAST, "--seed", "7", "--json")
    assert again.stdout == first.stdout


def test_html_writes_one_self_contained_report(reference: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    result = impact(reference, *ACD_HOUR, *FAST, "--html", target)
    assert result.exit_code == 0, result.output
    assert f"Wrote the HTML report to {target}" in result.stdout
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "An hour without CloudCX routing (ACD) from 10:00" in html
    assert (
        html.count("<svg") >= 8
        and "<script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )


def test_json_and_html_together_keep_stdout_clean(reference: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    result = impact(reference, *ACD_HOUR, *FAST, "--json", "--html", target)
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    assert "Wrote the HTML report" in result.stderr
    assert target.exists()


def test_callbacks_from_a_csv_are_counted(reference: Path, tmp_path: Path) -> None:
    csv = tmp_path / "callbacks.csv"
    csv.write_text(
        "customer,due_at,queue,vulnerable\n"
        "A. Jones,10:15,billing,yes\n"
        "B. Smith,2026-06-15T09:30:00Z,emergency,false\n"  # 10:30 in London in June
        "C. Brown,11:45,moving,\n",
        encoding="utf-8",
    )
    result = impact(reference, *ACD_HOUR, *FAST, "--callbacks", csv, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["outage"]["callbacks_due"]["mean"] >= 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--down", "acd", "--at", "25:00", "--minutes", "60"], "--at '25:00' is not a time of day"),
        (["--down", "acd", "--at", "10am", "--minutes", "60"], "write it as HH:MM"),
        (["--down", "acd", "--at", "10:00", "--minutes", "0"], "--minutes must be at least 1"),
        (["--down", "acd", "--at", "10:00", "--minutes", "-5"], "--minutes must be at least 1"),
        (["--down", ",", "--at", "10:00", "--minutes", "60"], "--down needs at least one component id"),
        ([*ACD_HOUR, "--replications", "0"], "--replications must be at least 1"),
        ([*ACD_HOUR, "--workers", "0"], "--workers must be at least 1"),
        ([*ACD_HOUR, "--seed", "-1"], "--seed must be 0 or more"),
        (["--down", "teleporter", "--at", "10:00", "--minutes", "60"], "teleporter"),
    ],
)
def test_bad_options_exit_2_saying_what_is_wrong(reference: Path, args: list[str], message: str) -> None:
    result = impact(reference, *FAST, *args)  # the last of a repeated option wins
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_missing_options_and_non_numbers_are_usage_errors(reference: Path) -> None:
    for args in (
        ["--at", "10:00", "--minutes", "60"],
        ["--down", "acd", "--at", "10:00", "--minutes", "ten"],
    ):
        result = impact(reference, *args)
        assert result.exit_code == 2
        assert "--down" in result.output or "--minutes" in result.output


def test_an_invalid_plan_is_reported_by_line_and_column(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(reference_plan_text().replace("    seats: 140\n", "    seats: lots\n"), encoding="utf-8")
    result = impact(plan, *ACD_HOUR, *FAST)
    assert result.exit_code == 2
    assert f"{plan}:" in result.stderr and "problem(s) found" in result.stderr


def test_html_into_a_missing_directory_fails_before_simulating(reference: Path, tmp_path: Path) -> None:
    result = impact(reference, *ACD_HOUR, *FAST, "--html", tmp_path / "nowhere" / "r.html")
    assert result.exit_code == 2
    assert "which does not exist" in result.stderr


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("due_at,queue,vulnerable\n10:00,billing,no\n1x:00,billing,no\n", "callbacks.csv:3: column due_at:"),
        ("due_at,queue,vulnerable\n2026-06-15T10:00:00,billing,no\n", "callbacks.csv:2: column due_at: "),
        (
            "due_at,queue,vulnerable\n10:00,biling,no\n",
            "callbacks.csv:2: column queue: 'biling' is not a queue",
        ),
        ("due_at,queue,vulnerable\n10:00,billing,perhaps\n", "callbacks.csv:2: column vulnerable: 'perhaps'"),
        ("when,queue\n10:00,billing\n", "callbacks.csv:1: the header row lacks due_at"),
    ],
)
def test_a_bad_callbacks_row_is_named_by_line_and_column(
    reference: Path, tmp_path: Path, rows: str, message: str
) -> None:
    csv = tmp_path / "callbacks.csv"
    csv.write_text(rows, encoding="utf-8")
    result = impact(reference, *ACD_HOUR, *FAST, "--callbacks", csv)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_callbacks_file_is_exit_2(reference: Path, tmp_path: Path) -> None:
    result = impact(reference, *ACD_HOUR, *FAST, "--callbacks", tmp_path / "none.csv")
    assert result.exit_code == 2
    assert "none.csv: cannot read it" in result.stderr


def test_an_uncovered_outage_exits_2_unless_asked(tmp_path: Path) -> None:
    text = reference_plan_text()
    bare = tmp_path / "bare.yaml"
    bare.write_text(
        text[: text.index("# What the centre does to keep answering.")]
        + text[text.index("# How long each queue") :]
    )
    refused = impact(bare, "--down", "acd", "--at", "10:00", "--minutes", "60", "--replications", "2")
    assert refused.exit_code == 2
    assert "no strategy in the plan covers losing CloudCX routing (ACD)" in refused.output
    allowed = impact(
        bare,
        "--down",
        "acd",
        "--at",
        "10:00",
        "--minutes",
        "60",
        "--replications",
        "2",
        "--uncovered",
        "--json",
    )
    assert allowed.exit_code == 0, allowed.output
    assert "no strategy in the plan covers this outage" in allowed.stdout


def test_lognormal_handling_is_an_option(reference: Path) -> None:
    result = impact(
        reference,
        "--down",
        "acd",
        "--at",
        "10:00",
        "--minutes",
        "60",
        "--replications",
        "2",
        "--handling-cv",
        "0.8",
        "--json",
    )
    assert result.exit_code == 0, result.output
    bad = impact(reference, "--down", "acd", "--at", "10:00", "--minutes", "60", "--handling-cv", "0")
    assert bad.exit_code == 2 and "--handling-cv must be above 0" in bad.output
