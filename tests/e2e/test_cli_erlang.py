"""`standby erlang` and `standby staff` as a user runs them: the table, --json, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from standby.cli import app

runner = CliRunner()
CLASSIC = ["--calls", "100", "--interval-minutes", "30", "--aht-s", "180", "--answer-within-s", "20"]


def test_erlang_c_table() -> None:
    result = runner.invoke(app, ["erlang", *CLASSIC, "--agents", "14"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "Erlang C" in result.output
    assert "service level (answered within 20 s / offered)" in result.output
    assert "88.84%" in result.output and "17.41%" in result.output and "7.8 s" in result.output
    assert "10.00 Erlangs" in result.output


def test_erlang_a_json() -> None:
    result = runner.invoke(app, ["erlang", *CLASSIC, "--agents", "11", "--patience-s", "120", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["model"] == "erlang-a" and document["agents"] == 11 and document["patience_s"] == 120
    for share in (
        "service_level",
        "service_level_of_answered",
        "service_level_excluding_short_abandons",
        "p_wait",
        "p_abandon",
        "p_abandon_within_threshold",
        "occupancy",
    ):
        assert 0.0 <= document[share] <= 1.0
    assert document["p_abandon"] > 0 and document["asa_s"] > 0
    assert document["mean_wait_s"] == pytest.approx(document["p_abandon"] * 120)


def test_staff_table_says_why() -> None:
    result = runner.invoke(app, ["staff", *CLASSIC, "--target", "0.8"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "14 agents are the fewest that meet service level 80%" in result.output
    assert "With one fewer, it misses: service level." in result.output


def test_staff_json_with_limits() -> None:
    limits = ["--target", "0.8", "--max-occupancy", "0.7", "--patience-s", "120", "--json"]
    result = runner.invoke(app, ["staff", *CLASSIC, *limits])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["max_occupancy"] == 0.7 and document["target"] == 0.8
    assert document["limited_by"] == ["occupancy"]
    assert document["performance"]["occupancy"] <= 0.7
    assert document["performance"]["agents"] == document["agents"]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["erlang", *CLASSIC, "--agents", "10"], "At least 11 agents are needed"),
        (["erlang", *CLASSIC, "--agents", "0"], "--agents must be from 1"),
        (["erlang", *CLASSIC[2:], "--calls", "-5", "--agents", "14"], "--calls must be a positive number"),
        (["erlang", *CLASSIC[2:], "--calls", "0", "--agents", "14"], "--calls must be a positive number"),
        (["erlang", *CLASSIC, "--agents", "14", "--patience-s", "-1"], "--patience-s must be a positive"),
        (["erlang", *CLASSIC[:4], "--aht-s", "nan", "--answer-within-s", "20", "--agents", "3"], "--aht-s"),
        (["erlang", *CLASSIC, "--agents", "14", "--answer-within-s", "0"], "--answer-within-s must be"),
        (["erlang", *CLASSIC], "Missing option '--agents'"),
        (["staff", *CLASSIC], "Missing option '--target'"),
        (["staff", *CLASSIC, "--target", "1.5"], "--target must be a share above 0 and at most 1"),
        (["staff", *CLASSIC, "--target", "0"], "--target must be a share above 0 and at most 1"),
        (["staff", *CLASSIC, "--target", "0.8", "--max-occupancy", "2"], "--max-occupancy must be a share"),
        (["staff", *CLASSIC, "--target", "0.8", "--max-abandon", "0.1"], "--max-abandon needs --patience-s"),
        (["erlang", *CLASSIC, "--agents", "many"], "'--agents'"),
    ],
)
def test_bad_input_exits_2_and_says_what(arguments: list[str], says: str) -> None:
    result = runner.invoke(app, arguments, terminal_width=200)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.stderr.split())


def test_the_installed_command() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "standby", "staff", *CLASSIC, "--target", "0.8", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["agents"] == 14
    unstable = subprocess.run(
        [sys.executable, "-m", "standby", "erlang", *CLASSIC, "--agents", "3"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert unstable.returncode == 2
    assert "without end" in unstable.stderr and "Traceback" not in unstable.stderr
