"""The navigation bar every signed-in page shows: one entry per page, only those the role may open.

Pure: the bar is computed from the principal and the path asked for, so the template only
draws it. The server still refuses a page the role may not open; hiding the entry only
spares the user a 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from standby.access.roles import Permission
from standby.access.service import Principal


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One entry of the bar: its label, where it goes, and who may open it."""

    label: str
    path: str
    permission: Permission


@dataclass(frozen=True, slots=True)
class NavLink:
    """An entry as drawn for one request: `current` when it is the page being shown."""

    label: str
    path: str
    current: bool


# The order is the order of work in an outage: what is wrong, who is on it, who must be
# told, which customers were caught, then the plan behind it all.
ENTRIES: tuple[NavEntry, ...] = (
    NavEntry("Overview", "/", Permission.READ_COMPONENTS),
    NavEntry("Incidents", "/incidents", Permission.READ_OUTAGES),
    NavEntry("Outages", "/outages", Permission.READ_OUTAGES),
    NavEntry("Reviews", "/reviews", Permission.READ_OUTAGES),
    NavEntry("On call", "/oncall", Permission.READ_OUTAGES),
    NavEntry("Messages", "/messages", Permission.READ_NOTIFICATIONS),
    NavEntry("Callbacks", "/callbacks", Permission.READ_CUSTOMERS),
    NavEntry("Calls cut off", "/calls", Permission.READ_CUSTOMERS),
    NavEntry("Outcomes", "/outcomes", Permission.LOG_OUTCOMES),
    NavEntry("Home check", "/readiness", Permission.LOG_OUTCOMES),
    NavEntry("Compensation", "/compensation", Permission.READ_CUSTOMERS),
    NavEntry("Maintenance", "/maintenance", Permission.READ_OUTAGES),
    NavEntry("Exercises", "/exercises", Permission.READ_OUTAGES),
    NavEntry("Plan", "/plan", Permission.READ_PLAN),
    NavEntry("Impact", "/impact", Permission.READ_PLAN),
)


def navigation(principal: Principal | None, path: str) -> list[NavLink]:
    """The entries this principal may open, the one for `path` (or its section) marked current."""
    if principal is None:
        return []
    return [
        NavLink(entry.label, entry.path, _within(path, entry.path))
        for entry in ENTRIES
        if principal.can(entry.permission)
    ]


def _within(path: str, section: str) -> bool:
    """Whether `path` is the section's page or one below it (/incidents/7 is within /incidents)."""
    if section == "/":
        return path == "/"
    return path == section or path.startswith(section + "/")
