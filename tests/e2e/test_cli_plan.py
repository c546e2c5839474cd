"""`standby init`, `check` and `schema` as a user runs them: output, format and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from standby.cli import app
from standby.plan.loading import reference_plan_text

runner = CliRunner()


def test_init_writes_the_reference_plan_and_refuses_to_overwrite(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "centre")])
    assert result.exit_code == 0, result.output
    written = tmp_path / "centre" / "plan.yaml"
    assert written.read_text(encoding="utf-8") == reference_plan_text()
    again = runner.invoke(app, ["init", str(tmp_path / "centre")])
    assert again.exit_code == 2
    assert "already exists" in again.output
    forced = runner.invoke(app, ["init", str(tmp_path / "centre"), "--force"])
    assert forced.exit_code == 0


def test_check_a_valid_plan_prints_one_summary_line(tmp_path):
    runner.invoke(app, ["init", str(tmp_path)])
    result = runner.invoke(app, ["check", str(tmp_path / "plan.yaml")])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "ok: Northwind Energy Customer Care: 12 components, 3 sites, 3 queues" in lines[0]


def test_check_reports_every_problem_as_plan_line_column_message(tmp_path):
    plan = tmp_path / "plan.yaml"
    text = reference_plan_text()
    text = text.replace("    seats: 140\n", "    seats: lots\n")
    text = text.replace(  # the first such team only: one unknown site
        "    site: leeds\n    queues: [billing, moving]", "    site: leedz\n    queues: [billing, moving]", 1
    )
    text = text.replace("retry_share: 0.9 ", "retry_share: 1.9 ")
    plan.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "standby", "check", str(plan)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(plan))]
    assert len(problems) == 3, result.stderr
    lines = text.splitlines()
    for problem in problems:
        _, line, column, message = problem.split(":", 3)
        assert message.startswith(" ")
        written = lines[int(line) - 1]
        assert written[int(column) - 1 :].startswith(("lots", "leedz", "1.9")), (problem, written)
    assert "3 problem(s) found" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_a_missing_file_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["check", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2
    assert "absent.yaml:1:1: cannot read the plan" in result.output


def test_schema_is_json_schema_that_describes_the_plan():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["required"]) == {"organisation"}
    assert "components" in schema["properties"]
    assert schema["$defs"]["Relocation"]["properties"]["from"]


def test_schema_validates_the_reference_plan_with_a_json_schema_validator(tmp_path):
    import jsonschema
    import yaml

    schema = json.loads(runner.invoke(app, ["schema"]).stdout)
    document = yaml.safe_load(reference_plan_text())
    document = json.loads(json.dumps(document, default=str))
    jsonschema.validate(document, schema)


def test_module_entry_point_shows_help():
    result = subprocess.run(
        [sys.executable, "-m", "standby", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    for command in ("init", "check", "schema"):
        assert command in result.stdout


def test_the_command_starts_without_the_database_web_or_simulation_stacks():
    """Each command imports what it uses when it runs, so `standby --help` and every start stay quick."""
    probe = (
        "import sys; import standby.cli; "
        "print(','.join(m for m in ('sqlalchemy', 'numpy', 'pydantic', 'fastapi', 'alembic', 'yaml',"
        " 'standby.config', 'standby.plan.schema', 'standby.web', 'asyncio', 'phonenumbers', 'jinja2',"
        " 'multiprocessing', 'dateutil', 'numba') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def _modules_after(argv: list[str], modules: tuple[str, ...]) -> tuple[int, set[str], str]:
    """Run `standby ARGV` in a fresh interpreter: its exit code, which of `modules` it loaded, stderr."""
    probe = (
        "import sys\n"
        "from standby.cli import main\n"
        f"sys.argv = ['standby', *{argv!r}]\n"
        "code = 0\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        f"print(code, ','.join(m for m in {modules!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    code, _, loaded = result.stdout.strip().splitlines()[-1].partition(" ")
    return int(code), set(filter(None, loaded.split(","))), result.stderr


def test_impact_checks_the_scenario_before_importing_the_simulation_or_its_reports(tmp_path):
    """A scenario the plan refuses is told before numpy, the process pool or jinja2 are imported."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(reference_plan_text(), encoding="utf-8")
    heavy = (
        "numpy",
        "jinja2",
        "multiprocessing",
        "concurrent.futures",
        "standby.impact.simulation",
        "standby.impact.html",
    )
    argv = ["impact", str(plan), "--down", "no-such-component", "--at", "10:00", "--minutes", "30"]
    code, loaded, stderr = _modules_after(argv, ("standby.plan.schema", "standby.impact.scenario", *heavy))
    # It did read the plan and reach the scenario check: the refusal is the plan's, not a usage error.
    assert code == 2
    assert "the plan has no component 'no-such-component'" in stderr
    assert loaded == {"standby.plan.schema", "standby.impact.scenario"}


def test_check_reads_the_plan_without_numpy_or_the_simulation(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(reference_plan_text(), encoding="utf-8")
    heavy = ("numpy", "jinja2", "multiprocessing", "standby.impact.simulation", "sqlalchemy", "standby.web")
    code, loaded, _ = _modules_after(["check", str(plan)], ("standby.plan.schema", "phonenumbers", *heavy))
    assert code == 0
    # The reference plan names its country (GB), which is checked without importing phonenumbers.
    assert loaded == {"standby.plan.schema"}


def test_check_of_a_plan_without_a_country_does_not_import_phonenumbers(tmp_path):
    text = reference_plan_text()
    without_country = "".join(
        line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("country:")
    )
    assert without_country != text
    plan = tmp_path / "plan.yaml"
    plan.write_text(without_country, encoding="utf-8")
    code, loaded, stderr = _modules_after(["check", str(plan)], ("standby.plan.schema", "phonenumbers"))
    assert code == 0, stderr
    assert loaded == {"standby.plan.schema"}


def test_init_copies_the_reference_plan_without_building_the_plan_schema(tmp_path):
    code, loaded, stderr = _modules_after(
        ["init", str(tmp_path)], ("standby.plan.schema", "standby.plan.loading", "yaml", "phonenumbers")
    )
    assert code == 0, stderr
    assert loaded == set()
    assert (tmp_path / "plan.yaml").read_text(encoding="utf-8") == reference_plan_text()


def test_check_refuses_an_unknown_country_at_its_line(tmp_path):
    text = reference_plan_text()
    plan = tmp_path / "plan.yaml"
    plan.write_text(text.replace("country: GB", "country: XQ"), encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "country: GB" in row)
    result = runner.invoke(app, ["check", str(plan)])
    assert result.exit_code == 2
    assert f"{plan}:{line}:" in result.output
    assert "'XQ' is not a country code" in result.output


def test_unknown_command_is_usage_error():
    result = runner.invoke(app, ["frobnicate"])
    assert result.exit_code == 2


def test_paths_in_docs_exist():
    assert (Path(__file__).resolve().parents[2] / "docs" / "plan-format.md").exists()
