"""Roles, permissions, and which roles hold which permission.

Pure: no database. The web app asks `allows(principal.role, Permission.X)` at every
door; the table below is the one place that decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from standby.errors import InvalidInput


class Role(StrEnum):
    """What a user or token is trusted to do, broadest first."""

    ADMIN = "admin"
    MANAGER = "manager"
    RESPONDER = "responder"
    AGENT = "agent"
    VIEWER = "viewer"


class Permission(StrEnum):
    """Something a request may need to be allowed to do."""

    READ_STATUS = "read_status"
    READ_COMPONENTS = "read_components"
    READ_PLAN = "read_plan"
    LOAD_PLAN = "load_plan"
    MANAGE_ACCESS = "manage_access"
    READ_OUTAGES = "read_outages"
    MANAGE_MAINTENANCE = "manage_maintenance"
    MANAGE_INCIDENTS = "manage_incidents"
    MANAGE_ONCALL = "manage_oncall"
    ACKNOWLEDGE_PAGES = "acknowledge_pages"
    READ_NOTIFICATIONS = "read_notifications"
    MANAGE_NOTIFICATIONS = "manage_notifications"
    MANAGE_AGENTS = "manage_agents"
    READ_CUSTOMERS = "read_customers"
    IMPORT_CUSTOMERS = "import_customers"
    WORK_CUSTOMERS = "work_customers"
    LOG_OUTCOMES = "log_outcomes"
    MANAGE_COMPENSATION = "manage_compensation"
    READ_METRICS = "read_metrics"


_ALL = frozenset(Role)

GRANTS: Mapping[Permission, frozenset[Role]] = {
    Permission.READ_STATUS: _ALL,
    Permission.READ_COMPONENTS: _ALL,
    # Not agents: the plan holds staff phone numbers and escalation contacts.
    Permission.READ_PLAN: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER, Role.VIEWER}),
    Permission.LOAD_PLAN: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.MANAGE_ACCESS: frozenset({Role.ADMIN}),
    Permission.READ_OUTAGES: _ALL,
    # Responders too: the on-call engineer declares the window for the fix they are making.
    Permission.MANAGE_MAINTENANCE: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER}),
    # Working an incident: moving it on, roles, notes, strategies and their runbooks.
    Permission.MANAGE_INCIDENTS: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER}),
    # Overrides: engineers arrange their own swaps and cover.
    Permission.MANAGE_ONCALL: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER}),
    # Anyone who works incidents may acknowledge any page (a colleague beside the one
    # paged); the timeline records who did.
    Permission.ACKNOWLEDGE_PAGES: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER}),
    # Not agents: messages carry staff and customers' phone numbers and addresses.
    Permission.READ_NOTIFICATIONS: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER, Role.VIEWER}),
    # Retrying a parked message or cancelling a waiting one.
    Permission.MANAGE_NOTIFICATIONS: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER}),
    # The agents directory: names and personal phone numbers, for managers only.
    Permission.MANAGE_AGENTS: frozenset({Role.ADMIN, Role.MANAGER}),
    # Customers' names, numbers and notes: for those who work them, agents included;
    # not viewers, who see the counts on the outage instead.
    Permission.READ_CUSTOMERS: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER, Role.AGENT}),
    # Bulk intake (the telephony platform's and the CRM's exports): a manager's token.
    Permission.IMPORT_CUSTOMERS: frozenset({Role.ADMIN, Role.MANAGER}),
    # Confirming, moving and completing callbacks, working cut-off calls to an outcome.
    Permission.WORK_CUSTOMERS: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER, Role.AGENT}),
    Permission.LOG_OUTCOMES: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER, Role.AGENT}),
    # Offers cost money: marking them accepted, declined or paid is a manager's call.
    Permission.MANAGE_COMPENSATION: frozenset({Role.ADMIN, Role.MANAGER}),
    # Standby's own metrics (GET /metrics): counts and timings, no names or numbers, for
    # whoever watches Standby (a viewer token for Prometheus); not agents, who have no use.
    Permission.READ_METRICS: frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER, Role.VIEWER}),
}


def allows(role: Role, permission: Permission) -> bool:
    """Whether a holder of `role` may do what `permission` names."""
    return role in GRANTS.get(permission, frozenset())


def permissions_of(role: Role) -> frozenset[Permission]:
    """Every permission `role` holds."""
    return frozenset(p for p, roles in GRANTS.items() if role in roles)


def parse_role(value: str | Role) -> Role:
    """The Role named by `value`; InvalidInput listing the roles when there is none."""
    if isinstance(value, Role):
        return value
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}: use one of {', '.join(r.value for r in Role)}") from None


MIN_PASSWORD_LENGTH = 8
"""The shortest password a user may have; the settings check STANDBY_ADMIN_PASSWORD against it too."""
