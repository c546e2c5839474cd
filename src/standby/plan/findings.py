"""A finding of the platform audit: how bad, which check, about what, and what to tell people."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")


# Slots: the 20,000-component chain gives 40,003 findings, and each one's own attribute dict
# cost memory for nothing (about 2 MB of the audit API's peak there).
@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the audit found: how bad, which check, about what, and what to tell people."""

    severity: Severity
    code: str
    subject: str
    section: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-ready data."""
        return {
            "severity": self.severity,
            "code": self.code,
            "subject": self.subject,
            "section": self.section,
            "message": self.message,
            "details": dict(self.details),
        }
