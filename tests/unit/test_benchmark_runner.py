"""benchmarks/run: fake benchmarks that print figures, crash, lack a peer, lie or hang, in one table."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
TIMES = "\N{MULTIPLICATION SIGN}"  # how the table writes a ratio


def _load_runner() -> ModuleType:
    """benchmarks/_run.py as a module (benchmarks/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("benchmark_runner", ROOT / "benchmarks" / "_run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


run = _load_runner()

FIGURES = {
    "ratios": [
        {"name": "Standby / peer", "value": 1.3, "target": 1.0, "unit": "x", "better": "higher"},
        {"name": "p99", "value": 72.5, "target": 50.0, "unit": "ms", "better": "lower"},
    ],
    "skipped": ["PostgreSQL: not asked (give --postgres URL)"],
    "other": {"kept": True},
}

SCRIPTS = {
    # Figures only when asked for the short form as JSON, as every benchmark must.
    "good.py": f"""
        import json, sys
        if sys.argv[1:] != ["--quick", "--json"]:
            sys.exit(f"good.py: error: unrecognized arguments: {{sys.argv[1:]}}")
        print(json.dumps({FIGURES!r}))
    """,
    # Progress on stdout before an indented object: the object is still found.
    "noisy.py": """
        import json
        print("warming up...")
        print("{not json")
        print(json.dumps({"ratios": [{"name": "s", "value": 0.2, "target": 0.3, "unit": "s",
                                      "better": "lower"}]}, indent=2))
    """,
    "crash.py": """
        import sys
        print("some progress", file=sys.stderr)
        raise ValueError("the plan has no queue")
    """,
    "peerless.py": """
        import no_such_peer_for_standby_benchmarks
    """,
    "lying.py": """
        import json
        print(json.dumps({"ratios": [{"name": "x", "value": "fast", "target": 1, "unit": "x",
                                      "better": "higher"}]}))
    """,
    "silent.py": """
        print("done, nothing to say")
    """,
    # Hangs, with a child of its own that would outlive it if only the script were killed.
    "hangs.py": """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        with open(sys.argv[0] + ".child", "w") as out:
            out.write(str(child.pid))
        time.sleep(120)
    """,
    "postgres_too.py": """
        import argparse, json
        parser = argparse.ArgumentParser()
        parser.add_argument("--quick", action="store_true")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--postgres")
        args = parser.parse_args()
        print(json.dumps({"ratios": [], "skipped": [] if args.postgres else ["PostgreSQL: not asked"],
                          "postgres": args.postgres}))
    """,
    # A helper module, not a benchmark: never run.
    "_helper.py": """
        raise SystemExit("a helper was run as a benchmark")
    """,
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def _run(folder: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert run.main(["--quick", "--json", *argv], folder=folder) == 0
    found: dict[str, Any] = json.loads(capsys.readouterr().out)
    return found


def _by_name(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["benchmark"]: entry for entry in found["benchmarks"]}


def test_every_script_but_the_helpers_is_a_benchmark(folder: Path) -> None:
    assert list(run.discover(folder)) == [
        "crash", "good", "hangs", "lying", "noisy", "peerless", "postgres_too", "silent",
    ]


def test_each_outcome_has_its_row(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    found = _run(folder, capsys, "--timeout", "4")
    assert time.monotonic() - started < 60
    outcomes = _by_name(found)
    good = outcomes["good"]
    assert good["status"] == "ran"
    assert [(f["name"], f["met"]) for f in good["figures"]] == [("Standby / peer", True), ("p99", False)]
    assert good["skipped"] == ["PostgreSQL: not asked (give --postgres URL)"]
    assert outcomes["noisy"]["figures"][0]["met"] is True
    assert outcomes["crash"]["status"] == "failed"
    assert outcomes["crash"]["reason"] == "ValueError: the plan has no queue"
    assert outcomes["peerless"]["status"] == "ran"
    assert outcomes["peerless"]["skipped"] == [
        "no_such_peer_for_standby_benchmarks not installed (benchmarks/install-peers)"
    ]
    assert outcomes["lying"]["status"] == "failed"
    assert outcomes["lying"]["reason"] == "ratios[0]: value must be a finite number, not 'fast'"
    assert outcomes["silent"]["reason"] == "printed no JSON object on stdout"
    assert outcomes["hangs"]["status"] == "timed out"
    assert outcomes["hangs"]["reason"] == "still running after 4 s"
    rows = [(r["benchmark"], r["figure"], r["measured"], r["target"], r["result"]) for r in found["rows"]]
    assert ("good", "Standby / peer", f"1.3{TIMES}", f"≥ 1{TIMES}", "met") in rows
    assert ("good", "p99", "72.5 ms", "≤ 50 ms", "not met") in rows
    assert ("good", "", "", "", "skipped: PostgreSQL: not asked (give --postgres URL)") in rows
    assert ("crash", "", "", "", "failed: ValueError: the plan has no queue") in rows
    assert ("hangs", "", "", "", "timed out: still running after 4 s") in rows
    assert ("postgres_too", "", "", "", "skipped: PostgreSQL: not asked") in rows


def test_a_timed_out_benchmark_ends_with_its_children(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(folder, capsys, "--only", "hangs", "--timeout", "3")
    child = int((folder / "hangs.py.child").read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, ended but not yet reaped by init, counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_postgres_goes_only_to_the_benchmarks_that_take_it(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://bench@127.0.0.1:5432/postgres"
    outcomes = _by_name(_run(folder, capsys, "--only", "postgres_too,good", "--postgres", url))
    assert outcomes["postgres_too"]["skipped"] == []
    assert outcomes["good"]["status"] == "ran"  # it would refuse an unknown --postgres
    assert run.command_for(folder / "postgres_too.py", True, url)[-2:] == ["--postgres", url]
    assert "--postgres" not in run.command_for(folder / "good.py", True, url)
    assert "--quick" not in run.command_for(folder / "good.py", False, None)


def test_the_benchmarks_with_database_options_take_postgres() -> None:
    scripts = run.discover()
    taking = {name for name, script in scripts.items() if run.takes_postgres(script)}
    # Those that choose their databases with _scratch.add_database_options, and two of their own.
    assert {"callbacks_reschedule", "incident_room", "notify_fanout", "status_subscribers",
            "customers_import", "detect_latency"} <= taking
    assert "cli_start" not in taking


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--only", "good,nope"], "--only: no benchmark named nope; there are: crash, good"),
        (["--only", ","], "--only: no benchmark named (none given)"),
        (["--timeout", "0"], "--timeout must be a positive number of seconds, not 0.0"),
        (["--timeout", "soon"], "argument --timeout: invalid float value: 'soon'"),
        (["--fast"], "unrecognized arguments: --fast"),
    ],
)
def test_a_usage_error_exits_2_and_says_what(
    folder: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        run.main(argv, folder=folder)
    assert stopped.value.code == 2
    assert said in capsys.readouterr().err


def test_the_table_shows_each_figure_against_its_target() -> None:
    outcomes = [
        run.Outcome("simulation", "ran", 1.0, figures=[
            run.Figure("Standby / SimPy", 12.4, 20.0, "x", "higher"),
            run.Figure("Standby / Ciw", 51.0, 50.0, "x", "higher"),
        ]),
        run.Outcome("cli_start", "ran", 1.0, figures=[run.Figure("--help", 0.3, 0.3, "s", "lower")],
                    skipped=["the peer: pyworkforce not installed"]),
        run.Outcome("web_wrk", "failed", 2.0, reason="web_wrk.py: error: unrecognized arguments: --quick"),
        run.Outcome("empty", "ran", 0.5),
    ]
    console = Console(record=True, width=200)
    console.print(run.table(outcomes, quick=True))
    text = console.export_text()
    assert "Benchmarks, short forms (--quick): 2 of 3 targets met" in text
    lines = text.splitlines()
    assert any(
        "Standby / SimPy" in line and f"12.4{TIMES}" in line and f"≥ 20{TIMES}" in line and "not met" in line
        for line in lines
    )
    assert any("Standby / Ciw" in line and f"51{TIMES}" in line and " met" in line and "not met" not in line
               for line in lines)
    # The target itself counts as met.
    assert any("--help" in line and "0.3 s" in line and "≤ 0.3 s" in line and "not met" not in line
               for line in lines)
    assert any("skipped: the peer: pyworkforce not installed" in line for line in lines)
    assert any("failed: web_wrk.py: error: unrecognized arguments: --quick" in line for line in lines)
    assert any("empty" in line and "gave no figure" in line for line in lines)


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("nope", "ratios[0] is not an object"),
        ({"name": "x", "value": 1}, "ratios[0] has no target, unit, better"),
        ({"name": "x", "value": True, "target": 1, "unit": "x", "better": "higher"},
         "ratios[0]: value must be a finite number, not True"),
        ({"name": "x", "value": 1, "target": float("nan"), "unit": "x", "better": "higher"},
         "ratios[0]: target must be a finite number, not nan"),
        ({"name": "x", "value": 1, "target": 1, "unit": "x", "better": "faster"},
         'ratios[0]: better must be "higher" or "lower", not \'faster\''),
        ({"name": 3, "value": 1, "target": 1, "unit": "x", "better": "higher"},
         "ratios[0]: name and unit must be text"),
    ],
)
def test_a_malformed_figure_is_named_with_what_is_wrong(entry: Any, said: str) -> None:
    with pytest.raises(ValueError) as refused:
        run.figures_of({"ratios": [entry]})
    assert str(refused.value) == said


def test_without_a_ratios_list_nothing_is_read() -> None:
    with pytest.raises(ValueError, match='no "ratios" list'):
        run.figures_of({"figures": []})
    with pytest.raises(ValueError, match="no JSON object"):
        run.json_object("[1, 2]")
    assert run.json_object('progress\n{"ratios": []}\n') == {"ratios": []}


def test_amounts_read_as_the_docs_write_them() -> None:
    assert run.amount(0.8769, "x") == f"0.877{TIMES}"
    assert run.amount(21298.4, "/s") == "21,298 /s"
    assert run.amount(0.0, "") == "0"
    assert run.last_line("one\n\x1b[31mError: two\x1b[0m\n\n") == "Error: two"
    assert os.access(ROOT / "benchmarks" / "run", os.X_OK)
