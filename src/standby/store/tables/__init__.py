"""The database tables, as typed SQLAlchemy declarative classes, one module per capability.

Only services import these; the API and pages see the services' frozen records.
A change here needs a migration in `store/migrations/versions`; a test compares the
migrated schema with these classes on SQLite and PostgreSQL.
"""

from standby.store.tables.access import ROLES, ApiTokenRow, LoginSessionRow, UserRow
from standby.store.tables.base import Base, UTCDateTime, json_column, one_of
from standby.store.tables.detect import (
    ALERT_STATUSES,
    CLASSIFICATIONS,
    COMPONENT_STATES,
    AlertRow,
    CheckResultRow,
    ComponentStateRow,
    DetectLockRow,
    HeartbeatRow,
    MaintenanceWindowRow,
    MetricSampleRow,
    OutageRow,
    ProbeRow,
    ReceiverTokenRow,
    StateChangeRow,
    WorkerRow,
)
from standby.store.tables.plan import PlanVersionRow

__all__ = [
    "ALERT_STATUSES",
    "CLASSIFICATIONS",
    "COMPONENT_STATES",
    "ROLES",
    "AlertRow",
    "ApiTokenRow",
    "Base",
    "CheckResultRow",
    "ComponentStateRow",
    "DetectLockRow",
    "HeartbeatRow",
    "LoginSessionRow",
    "MaintenanceWindowRow",
    "MetricSampleRow",
    "OutageRow",
    "PlanVersionRow",
    "ProbeRow",
    "ReceiverTokenRow",
    "StateChangeRow",
    "UTCDateTime",
    "UserRow",
    "WorkerRow",
    "json_column",
    "one_of",
]
