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
from standby.store.tables.change import ChangeMarkRow
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
from standby.store.tables.exercise import EXERCISE_STATES, ExerciseRow, PlanReviewRow, VendorReviewRow
from standby.store.tables.forecast import ForecastRow
from standby.store.tables.notify import CHANNELS, MESSAGE_STATES, MessageRow
from standby.store.tables.plan import PlanSetAsideRow, PlanVersionRow
from standby.store.tables.readiness import ReadinessCampaignRow, ReadinessCheckRow
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
from standby.store.tables.review import ACTION_KINDS, ACTION_STATES, ActionRow, ReviewRow
from standby.store.tables.status import (
    SUBSCRIBER_CHANNELS,
    SUBSCRIBER_STATES,
    PublicRequestRow,
    StatusAnnouncementRow,
    StatusSubscriberRow,
)

__all__ = [
    "ACTION_KINDS",
    "ACTION_STATES",
    "ALERT_STATUSES",
    "CALLBACK_STATES",
    "CALL_STATES",
    "CHANNELS",
    "CLASSIFICATIONS",
    "COMPONENT_STATES",
    "EXERCISE_STATES",
    "INCIDENT_STATES",
    "LOCKOUT_SCOPES",
    "MESSAGE_STATES",
    "OFFER_KINDS",
    "OFFER_STATES",
    "ROLES",
    "STRATEGY_STATES",
    "SUBSCRIBER_CHANNELS",
    "SUBSCRIBER_STATES",
    "ActionRow",
    "AgentRow",
    "AlertRow",
    "ApiTokenRow",
    "Base",
    "CallbackEventRow",
    "CallbackRow",
    "ChangeEventRow",
    "ChangeMarkRow",
    "CheckResultRow",
    "CommunicationRow",
    "CompensationOfferRow",
    "ComponentStateRow",
    "DetectLockRow",
    "ExerciseRow",
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
    "PlanReviewRow",
    "PlanSetAsideRow",
    "PlanVersionRow",
    "ProbeRow",
    "PublicRequestRow",
    "ReadinessCampaignRow",
    "ReadinessCheckRow",
    "ReceiverTokenRow",
    "RefusedAlertRow",
    "ReviewRow",
    "RotationOverrideRow",
    "StateChangeRow",
    "StatusAnnouncementRow",
    "StatusSubscriberRow",
    "StrategyRunRow",
    "TimelineRow",
    "UTCDateTime",
    "UserRow",
    "VendorReviewRow",
    "WorkerRow",
    "json_column",
    "one_of",
]
