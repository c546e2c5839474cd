"""What the receivers accept: Alertmanager webhooks, Events v2 events and metric samples.

Validated at the edge, trusted inside: the receivers' service takes these models and
never re-checks their shape. Each model is the sender's format as it is sent (field
names included), with limits that keep one request from filling the database:

- Alertmanager's webhook, version 4, exactly as Alertmanager sends it (camelCase names,
  `endsAt` of `0001-01-01T00:00:00Z` while an alert fires, a `fingerprint` per alert);
- the PagerDuty Events API v2 shape: `routing_key`, `event_action`, `dedup_key`, `payload`,
  and its change events (`payload.summary`, `source`, `timestamp`, `links`);
- metric samples: `{"samples": [{"metric": ..., "value": ..., "at": ...}]}`, or one sample.

Unknown fields are ignored rather than refused, so a newer sender keeps working.

An Alertmanager notification is read alert by alert (`read_alertmanager`): one alert
that does not fit is set aside with where and why, and the others are still read, since
Alertmanager never sends a group again after a 4xx.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from standby.iso8601 import refuse_numbers

SenderTime = Annotated[datetime | None, BeforeValidator(refuse_numbers)]
"""A time a sender gives, as ISO 8601 text; never a number."""


MAX_ALERTS = 1000
"""Alerts in one Alertmanager request; Alertmanager's own `max_alerts` is unlimited by default."""
MAX_SAMPLES = 10_000
"""Metric samples in one request."""
MAX_LABELS = 100
"""Labels (and annotations) on one alert."""
MAX_LABEL_NAME = 200
MAX_LABEL_VALUE = 4096
MAX_ANNOTATION = 16_384
MAX_DEDUP_KEY = 255
"""The longest dedup key, as PagerDuty allows and the alerts table stores."""
MAX_SUMMARY = 1024
"""The longest Events v2 summary, as PagerDuty allows."""
METRIC_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$"
MAX_DEPTH = 32
"""How deeply objects and lists may nest in an alert or event (custom_details, mostly)."""

SEVERITIES = ("critical", "error", "warning", "info")
"""Standby's alert severities, most severe first (the Events v2 ones)."""

LabelName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_NAME)]
LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=MAX_LABELS)]
Annotations = Annotated[
    dict[LabelName, Annotated[str, StringConstraints(max_length=MAX_ANNOTATION)]],
    Field(max_length=MAX_LABELS),
]
Url = Annotated[str, StringConstraints(max_length=4096)]

_METRIC_RE = re.compile(METRIC_NAME_PATTERN)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def storable(data: Any) -> Any:
    """`data` unchanged if the database can store all of it as JSON and text; else ValueError.

    PostgreSQL refuses NUL characters in text and JSON; no database takes unpaired
    surrogates; NaN and infinity are not JSON; and nesting is bounded. Walked with a
    stack, not recursion, so no depth of input can overflow it.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where or 'the body'}: numbers must be finite, not NaN or infinity")
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise ValueError(f"{where or 'the body'}: nested more than {MAX_DEPTH} levels deep")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                inner = f"{where}.{_shown(key)}" if where else _shown(key)
                if isinstance(key, str):
                    _check_text(key, inner)
                stack.append((item, inner, depth + 1))
    return data


def _shown(key: object) -> str:
    # A key as it may appear in a message: safe to encode, and short.
    text = str(key).encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")
    return text if len(text) <= 60 else text[:57] + "..."


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise ValueError(f"{where or 'the body'}: text may not contain NUL characters (\\u0000)")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            where = where or "the body"
            raise ValueError(f"{where}: text has an unpaired surrogate (\\ud800-\\udfff)") from None


class AlertmanagerAlert(_Payload):
    """One alert of a notification: its labels identify it; `fingerprint` is their hash."""

    status: Literal["firing", "resolved"] = Field(description="This alert's status.")
    labels: Labels = Field(description="The alert's labels, such as alertname, job, severity.")
    annotations: Annotations = Field(default_factory=dict, description="summary, description, ...")
    startsAt: datetime | None = Field(None, description="When it started firing.")
    endsAt: datetime | None = Field(
        None, description="When it resolved; 0001-01-01T00:00:00Z while it fires."
    )
    generatorURL: Url = Field("", description="A link to the rule that fired.")
    fingerprint: Annotated[str, StringConstraints(max_length=MAX_DEDUP_KEY)] | None = Field(
        None, description="Alertmanager's hash of the labels: the alert's identity (dedup key)."
    )


class AlertmanagerWebhook(_Payload):
    """Alertmanager's webhook notification, version 4: a group of alerts sharing a route."""

    version: str = Field(description='Always "4".')
    groupKey: Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)] = Field(
        "", description='The group\'s key, such as {}:{alertname="ACDDown"}.'
    )
    truncatedAlerts: int = Field(0, ge=0, description="How many alerts max_alerts left out.")
    status: Literal["firing", "resolved"] = Field(description="firing if any alert of the group fires.")
    receiver: Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)] = Field(
        "", description="The Alertmanager receiver's name."
    )
    groupLabels: Labels = Field(default_factory=dict)
    commonLabels: Labels = Field(default_factory=dict)
    commonAnnotations: Annotations = Field(default_factory=dict)
    externalURL: Url = Field("", description="Alertmanager's own address.")
    alerts: list[AlertmanagerAlert] = Field(
        max_length=MAX_ALERTS, description=f"The alerts, at most {MAX_ALERTS}."
    )

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)

    @field_validator("version", mode="before")
    @classmethod
    def _version_4(cls, value: Any) -> Any:
        if value != "4":
            raise ValueError(
                f"version {value!r} is not supported: Standby reads Alertmanager's webhook"
                ' version "4", which every current Alertmanager sends'
            )
        return value


@dataclass(frozen=True)
class UnreadableAlert:
    """An alert of a notification that does not fit the shape: where, why, and the alert as sent."""

    position: int
    """Its index in the notification's `alerts`."""
    location: str
    """Where the (first) problem is, such as `alerts.2.labels.port`."""
    label: str | None
    """The label at fault, when the problem is in one."""
    reason: str
    """Every problem found, in words."""
    raw: Any
    """The alert as it came (parsed JSON)."""


@dataclass(frozen=True)
class AlertmanagerGroup:
    """A notification read alert by alert: the readable ones, where each was, and the others."""

    webhook: AlertmanagerWebhook
    """The notification with its readable alerts only."""
    positions: tuple[int, ...]
    """Each readable alert's index in the notification's `alerts`."""
    unreadable: tuple[UnreadableAlert, ...] = ()

    @classmethod
    def whole(cls, webhook: AlertmanagerWebhook) -> AlertmanagerGroup:
        """A notification whose every alert was readable."""
        return cls(webhook, tuple(range(len(webhook.alerts))))


def read_alertmanager(document: Any) -> AlertmanagerGroup:
    """The notification, each alert that does not fit set aside; ValidationError if it is none at all.

    The notification itself (an object, `version` "4", a list of at most MAX_ALERTS
    alerts, a status, and storable group fields) must fit; each alert is then read on
    its own, so one bad alert costs only itself.
    """
    alerts = document.get("alerts") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(alerts, list) or len(alerts) > MAX_ALERTS:
        return AlertmanagerGroup.whole(AlertmanagerWebhook.model_validate(document))
    envelope = AlertmanagerWebhook.model_validate({**document, "alerts": []})
    readable: list[AlertmanagerAlert] = []
    positions: list[int] = []
    unreadable: list[UnreadableAlert] = []
    for position, raw in enumerate(alerts):
        try:
            readable.append(AlertmanagerAlert.model_validate(storable(raw)))
            positions.append(position)
        except ValueError as exc:  # a ValidationError too
            unreadable.append(_unreadable(position, raw, exc))
    webhook = envelope.model_copy(update={"alerts": readable})
    return AlertmanagerGroup(webhook, tuple(positions), tuple(unreadable))


def _unreadable(position: int, raw: Any, exc: ValueError) -> UnreadableAlert:
    where = f"alerts.{position}"
    if not isinstance(exc, ValidationError):  # from storable: its message says where inside
        path = str(exc).partition(":")[0]
        label = path.removeprefix("labels.") if path.startswith("labels.") else None
        return UnreadableAlert(position, where, label, str(exc), raw)
    messages: list[str] = []
    location, label = where, None
    for index, error in enumerate(exc.errors(include_url=False, include_context=False, include_input=False)):
        inner = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        messages.append(f"{inner}: {message}" if inner else message)
        if index == 0:
            location = f"{where}.{inner}" if inner else where
            parts = error["loc"]
            if len(parts) >= 2 and parts[0] == "labels":
                label = str(parts[1])
    return UnreadableAlert(position, location, label, "; ".join(messages), raw)


class EventPayload(_Payload):
    """What an Events v2 trigger is about."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    summary: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUMMARY)] = Field(
        description="What is wrong, in one line."
    )
    source: Annotated[str, StringConstraints(min_length=1, max_length=255)] = Field(
        description="The system the event is about, such as cloudcx-monitor or a host name."
    )
    severity: Literal["critical", "error", "warning", "info"] = Field(
        description="critical, error, warning or info."
    )
    timestamp: SenderTime = Field(None, description="When the sender saw it (ISO 8601).")
    component: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, description="The part of the source; a plan component id routes the event to it."
    )
    group: Annotated[str, StringConstraints(max_length=255)] | None = None
    class_: Annotated[str, StringConstraints(max_length=255)] | None = Field(None, alias="class")
    custom_details: dict[str, Any] | None = Field(
        None, description="Anything else; a 'component' or 'standby_component' key routes it."
    )

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in SEVERITIES:
            return value.strip().lower()
        if isinstance(value, str):
            raise ValueError(f"severity {value!r} is not one of {', '.join(SEVERITIES)}")
        return value


class EventV2(_Payload):
    """A PagerDuty Events API v2 event: trigger, acknowledge or resolve an alert by dedup key."""

    routing_key: Annotated[str, StringConstraints(max_length=512)] | None = Field(
        None, description="A receiver token (sbr_...), when no Authorization header is sent."
    )
    event_action: Literal["trigger", "acknowledge", "resolve"] = Field(
        description="trigger, acknowledge or resolve."
    )
    dedup_key: Annotated[str, StringConstraints(min_length=1, max_length=MAX_DEDUP_KEY)] | None = Field(
        None, description="The alert's identity; generated for a trigger without one."
    )
    payload: EventPayload | None = Field(None, description="Required for a trigger.")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)

    @model_validator(mode="after")
    def _complete(self) -> EventV2:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("a trigger event needs a payload with summary, source and severity")
        if self.event_action != "trigger" and self.dedup_key is None:
            raise ValueError(f"an {self.event_action} event needs the dedup_key of the alert it is about")
        return self


class ChangePayload(_Payload):
    """What a change event says: a deploy, a configuration change, and where it happened."""

    summary: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUMMARY)] = Field(
        description="What changed, in one line."
    )
    source: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, description="Where it changed; a plan component id (or one in `alerts.sources`) ties it to one."
    )
    timestamp: SenderTime = Field(None, description="When it changed (ISO 8601); without an offset, UTC.")
    custom_details: dict[str, Any] | None = Field(
        None, description="Anything else; a 'component' or 'standby_component' key ties it to a component."
    )

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # PagerDuty reads a time without an offset as UTC; so do we.
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            return value.replace(tzinfo=UTC)
        return value


class ChangeEventV2(_Payload):
    """A PagerDuty change event (`/v2/change/enqueue`): context for an outage, never an alert."""

    routing_key: Annotated[str, StringConstraints(max_length=512)] | None = Field(
        None, description="A receiver token (sbr_...), when no Authorization header is sent."
    )
    payload: ChangePayload
    links: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    images: list[dict[str, Any]] = Field(default_factory=list, max_length=50)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)


class MetricSample(_Payload):
    """One value of one metric, at a time (ISO 8601 with an offset) or now."""

    metric: str = Field(
        json_schema_extra={"pattern": METRIC_NAME_PATTERN},
        description="The metric's name, such as abandon_rate; metric probes name it.",
    )
    value: float = Field(description="A finite number; booleans and strings are refused.")
    at: SenderTime = Field(None, description="When it was measured (ISO 8601); now if absent.")

    @field_validator("metric", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"the metric's name must be a string, not {_kind(value)}")
        if not _METRIC_RE.match(value):
            raise ValueError(
                f"{value[:120]!r} is not a metric name: use letters, digits, '_', '.', ':' and '-',"
                " starting with a letter or '_', at most 100 characters"
            )
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"the value must be a number, not {_kind(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ValueError("the value must be a finite number, not infinity or NaN")
        return number

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(
                "the time has no offset: write it as ISO 8601 with one, such as 2026-06-15T09:30:00+01:00"
            )
        return value


class MetricsBody(_Payload):
    """Samples posted to /api/v1/metrics; a single sample object is accepted as one sample."""

    samples: list[MetricSample] = Field(
        min_length=1, max_length=MAX_SAMPLES, description=f"1 to {MAX_SAMPLES:,} samples."
    )

    @model_validator(mode="before")
    @classmethod
    def _one_sample(cls, data: Any) -> Any:
        if isinstance(data, dict) and "samples" not in data and "metric" in data:
            return {"samples": [data]}
        return data


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
