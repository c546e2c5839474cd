"""The post-exercise report, as JSON, Markdown or one self-contained HTML page.

Pure rendering of a finished exercise's record; times in the centre's time zone. The
HTML reuses the impact report's style sheet (every rule inside `.report`).
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from standby.impact.html import report_css

if TYPE_CHECKING:
    from standby.exercise.service import ExerciseRecord


def _at(moment: datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if moment else "-"


def report_json(record: ExerciseRecord) -> dict[str, Any]:
    """The report as plain data."""
    return {
        "exercise": {
            "id": record.id,
            "title": record.title,
            "scenario": {"down": list(record.down), "minutes": record.minutes},
            "tell": list(record.tell),
            "started_at": record.started_at.isoformat() if record.started_at else None,
            "started_by": record.started_by,
            "finished_at": record.finished_at.isoformat() if record.finished_at else None,
            "finished_by": record.finished_by,
        },
        "results": record.results or {},
    }


def _lines(
    record: ExerciseRecord, zone: str
) -> tuple[list[tuple[str, str]], list[dict[str, Any]], list[str]]:
    results = record.results or {}
    facts = [
        ("Scenario", f"{', '.join(record.down)} down for {record.minutes} minutes"),
        ("Started", f"{_at(record.started_at, zone)} by {record.started_by or '-'}"),
        ("Finished", f"{_at(record.finished_at, zone)} by {record.finished_by or '-'}"),
        ("Incident", str(results.get("incident_id") or "none opened")),
        ("Not told", ", ".join(results.get("spared", [])) or "nobody"),
        ("Objectives", f"{results.get('passed', 0)} passed, {results.get('failed', 0)} failed"),
    ]
    findings = [
        f"{f['text']} (action {f['action_id']})" if f.get("action_id") else str(f["text"])
        for f in results.get("findings", [])
    ]
    return facts, list(results.get("objectives", [])), findings


def report_markdown(record: ExerciseRecord, zone: str) -> str:
    """The report in Markdown."""
    facts, objectives, findings = _lines(record, zone)
    out = [f"# Exercise {record.id}: {record.title}", ""]
    out += [f"- **{name}:** {value}" for name, value in facts]
    out += ["", "## Objectives", "", "| Objective | Result | Evidence |", "| --- | --- | --- |"]
    for o in objectives:
        cells = [o["description"], "PASS" if o["passed"] else "FAIL", o["evidence"]]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out += ["", "## Findings", ""]
    out += [f"- {f}" for f in findings] or ["- None: every objective was met."]
    return "\n".join(out) + "\n"


def report_html(record: ExerciseRecord, zone: str) -> str:
    """The report as one HTML page with its styles inline and no script."""
    facts, objectives, findings = _lines(record, zone)
    rows = "".join(
        f"<tr><td>{escape(o['description'])}</td><td>{'PASS' if o['passed'] else 'FAIL'}</td>"
        f"<td>{escape(o['evidence'])}</td></tr>"
        for o in objectives
    )
    found = "".join(f"<li>{escape(f)}</li>" for f in findings) or "<li>None: every objective was met.</li>"
    dl = "".join(f"<dt>{escape(n)}</dt><dd>{escape(v)}</dd>" for n, v in facts)
    title = escape(f"Exercise {record.id}: {record.title}")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{report_css()}</style></head>"
        f'<body><main class="report"><h1>{title}</h1><dl>{dl}</dl>'
        "<h2>Objectives</h2><table><thead><tr><th>Objective</th><th>Result</th><th>Evidence</th></tr>"
        f"</thead><tbody>{rows}</tbody></table><h2>Findings</h2><ul>{found}</ul></main></body></html>"
    )
