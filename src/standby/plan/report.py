"""The audit's findings as a Rich table or as JSON: rendering only, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from standby.plan.audit import count_by_severity
from standby.plan.findings import SEVERITIES, Finding

SEVERITY_STYLES: dict[str, str] = {"high": "bold red", "medium": "yellow", "low": "cyan"}


def audit_summary(findings: Sequence[Finding]) -> str:
    """One line: how many findings of each severity, or that there are none."""
    if not findings:
        return "No findings."
    counts = count_by_severity(findings)
    parts = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES)
    return f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: {parts}."


def audit_table(findings: Sequence[Finding], *, title: str | None = None) -> RenderableType:
    """The findings as a table (severity coloured, subject, message) with the summary below."""
    if not findings:
        return Text(audit_summary(findings))
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Subject", no_wrap=True)
    table.add_column("Finding", ratio=1)
    for finding in findings:
        table.add_row(
            Text(finding.severity, style=SEVERITY_STYLES[finding.severity]),
            Text(f"{finding.section}: {finding.subject}"),
            Text(finding.message),
        )
    return Group(table, Text(audit_summary(findings)))


def audit_json(plan: str, today: date, findings: Sequence[Finding]) -> dict[str, Any]:
    """The findings as the JSON object `standby audit --json` prints."""
    return {
        "plan": plan,
        "today": today.isoformat(),
        "findings": [finding.to_dict() for finding in findings],
        "counts": count_by_severity(findings),
    }
