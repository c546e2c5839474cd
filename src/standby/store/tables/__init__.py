"""The database tables, as typed SQLAlchemy declarative classes, one module per capability.

Only services import these; the API and pages see the services' frozen records.
A change here needs a migration in `store/migrations/versions`; a test compares the
migrated schema with these classes on SQLite and PostgreSQL.
"""

from standby.store.tables.access import (
    LOCKOUT_SCOPES,
    ROLES,
    ApiTokenRow,
    LoginFailureRow,
    LoginSessionRow,
    UserRow,
)
from standby.store.tables.base import Base, UTCDateTime, json_column, one_of
from standby.store.tables.customers import (
    CALL_STATES,
    CALLBACK_STATES,
    OFFER_KINDS,
    OFFER_STATES,
    CallbackEventRow,
    CallbackRow,
    CompensationOfferRow,
    InterruptedCallRow,
    OutcomeRow,
)
from standby.store.tables.detect import (
    ALERT_STATUSES,
    CLASSIFICATIONS,
    COMPONENT_STATES,
    AlertRow,
    ChangeEventRow,
    CheckResultRow,
    ComponentStateRow,
    DetectLockRow,
    HeartbeatRow,
    MaintenanceWindowRow,
    MetricSampleRow,
    OutageRow,
    ProbeRow,
    ReceiverTokenRow,
    RefusedAlertRow,
    StateChangeRow,
    WorkerRow,
)
from standby.store.tables.forecast import ForecastRow
from standby.store.tables.notify import CHANNELS, MESSAGE_STATES, MessageRow
from standby.store.tables.plan import PlanSetAsideRow, PlanVersionRow
from standby.store.tables.respond import (
    INCIDENT_STATES,
    STRATEGY_STATES,
    AgentRow,
    CommunicationRow,
    IncidentRow,
    PageRow,
    RotationOverrideRow,
    StrategyRunRow,
    TimelineRow,
)

__all__ = [
    "ALERT_STATUSES",
    "CALLBACK_STATES",
    "CALL_STATES",
    "CHANNELS",
    "CLASSIFICATIONS",
    "COMPONENT_STATES",
    "INCIDENT_STATES",
    "LOCKOUT_SCOPES",
    "MESSAGE_STATES",
    "OFFER_KINDS",
    "OFFER_STATES",
    "ROLES",
    "STRATEGY_STATES",
    "AgentRow",
    "AlertRow",
    "ApiTokenRow",
    "Base",
    "CallbackEventRow",
    "CallbackRow",
    "ChangeEventRow",
    "CheckResultRow",
    "CommunicationRow",
    "CompensationOfferRow",
    "ComponentStateRow",
    "DetectLockRow",
    "ForecastRow",
    "HeartbeatRow",
    "IncidentRow",
    "InterruptedCallRow",
    "LoginFailureRow",
    "LoginSessionRow",
    "MaintenanceWindowRow",
    "MessageRow",
    "MetricSampleRow",
    "OutageRow",
    "OutcomeRow",
    "PageRow",
    "PlanSetAsideRow",
    "PlanVersionRow",
    "ProbeRow",
    "ReceiverTokenRow",
    "RefusedAlertRow",
    "RotationOverrideRow",
    "StateChangeRow",
    "StrategyRunRow",
    "TimelineRow",
    "UTCDateTime",
    "UserRow",
    "WorkerRow",
    "json_column",
    "one_of",
]
