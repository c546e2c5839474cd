"""Which component an alert is about, and how it is keyed and worded: pure, no database.

Alertmanager's labels are routed by `standby_component`, then `component`, then the
plan's `alerts:` matchers; an Events v2 event by its payload's component or source. An
alert that maps to nothing gets the reason, to be refused on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from standby.detect.payloads import SEVERITIES, AlertmanagerAlert, EventV2
from standby.plan.schema import Component, Plan

MAX_STORED_SUMMARY = 1024

# Alertmanager's `severity` label, lower-cased, to Standby's four severities. Anything
# else counts as critical: an unfamiliar word must not make an outage look smaller.
SEVERITY_WORDS: Mapping[str, str] = {
    **{w: "critical" for w in ("critical", "crit", "page", "emergency", "emerg", "alert", "fatal", "p1")},
    **{w: "critical" for w in ("disaster", "sev1", "sev-1")},
    **{w: "error" for w in ("error", "err", "high", "major", "p2", "sev2", "sev-2")},
    **{w: "warning" for w in ("warning", "warn", "medium", "moderate", "minor", "average", "p3", "sev3")},
    **{w: "info" for w in ("info", "information", "informational", "notice", "low", "none", "debug")},
    **{w: "info" for w in ("ok", "p4", "p5", "sev4", "sev5")},
}


def alertmanager_dedup_key(alert: AlertmanagerAlert) -> str:
    """The alert's `fingerprint`, or the one Alertmanager would compute from its labels."""
    return alert.fingerprint or labels_fingerprint(alert.labels)


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over the sorted names and values.

    The same hash as Prometheus' `LabelSet.Fingerprint()`, as 16 hex digits, so an
    alert posted with and without its fingerprint deduplicates to the same row.
    """
    digest = 0xCBF29CE484222325
    for name in sorted(labels):
        for byte in name.encode() + b"\xff" + labels[name].encode() + b"\xff":
            digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def normalise_severity(word: str | None) -> str:
    """One of critical, error, warning, info for a `severity` label; missing or unfamiliar is critical."""
    if word is None:
        return "critical"
    cleaned = word.strip().lower()
    if cleaned in SEVERITIES:
        return cleaned
    return SEVERITY_WORDS.get(cleaned, "critical")


def alertmanager_summary(alert: AlertmanagerAlert) -> str:
    """`alertname: summary` (or description), whichever the alert has, in at most 1024 characters."""
    name = alert.labels.get("alertname", "").strip()
    text = (alert.annotations.get("summary") or alert.annotations.get("description") or "").strip()
    summary = f"{name}: {text}" if name and text else name or text or _labels_text(alert.labels)
    return short_summary(summary)


@dataclass(frozen=True)
class LabelRoute:
    """Where an alert's labels lead: a component, or why not and the label at fault."""

    component: str | None
    why: str = ""
    label: str | None = None


def map_labels(plan: Plan, labels: Mapping[str, str]) -> tuple[str | None, str]:
    """The component an Alertmanager alert is about, or (None, why not)."""
    route = route_labels(plan, labels)
    return route.component, route.why


def route_labels(plan: Plan, labels: Mapping[str, str]) -> LabelRoute:
    """The component an Alertmanager alert is about, or why not and which label is at fault."""
    by_id = plan.components_by_id
    explicit = labels.get("standby_component")
    if explicit is not None:
        if explicit in by_id:
            return LabelRoute(explicit)
        return LabelRoute(
            None,
            f"its standby_component label {_quoted(explicit)} is not a component of the plan",
            "standby_component",
        )
    named = labels.get("component")
    if named is not None and named in by_id:
        return LabelRoute(named)
    best: Component | None = None
    for component in plan.components:
        routing = component.alerts
        if routing is None or not routing.labels:
            continue
        if all(labels.get(k) == v for k, v in routing.labels.items()) and (
            best is None or best.alerts is None or len(routing.labels) > len(best.alerts.labels)
        ):
            best = component
    if best is not None:
        return LabelRoute(best.id)
    for key in ("service", "job"):
        value = labels.get(key)
        if value is not None and value in by_id:
            return LabelRoute(value)
    advice = (
        "add `alerts: {labels: {...}}` to the component in the plan, or give the alert a"
        " standby_component label naming the component's id"
    )
    if named is not None:
        return LabelRoute(
            None,
            f"its component label {_quoted(named)} is not a component of the plan, and no"
            f" component's `alerts:` matches its other labels ({_labels_text(labels)}): {advice}",
            "component",
        )
    return LabelRoute(None, f"no component of the plan matches this alert ({_labels_text(labels)}): {advice}")


def map_event(plan: Plan, event: EventV2) -> tuple[str | None, str]:
    """The component an Events v2 trigger is about, or (None, why not)."""
    assert event.payload is not None
    payload = event.payload
    by_id = plan.components_by_id
    details = payload.custom_details or {}
    explicit = details.get("standby_component")
    if explicit is not None:
        if isinstance(explicit, str) and explicit in by_id:
            return explicit, ""
        return None, f"its custom_details.standby_component {explicit!r} is not a component of the plan"
    for named in (payload.component, details.get("component")):
        if isinstance(named, str) and named in by_id:
            return named, ""
    for component in plan.components:
        if component.alerts is not None and payload.source in component.alerts.sources:
            return component.id, ""
    if payload.source in by_id:
        return payload.source, ""
    return None, (
        f"no component of the plan matches source {payload.source!r}: add it to"
        " `alerts: {sources: [...]}` of the component in the plan, or set payload.component"
        " to the component's id"
    )


def _quoted(value: str) -> str:
    shown = value if len(value) <= 100 else value[:100] + "..."
    return repr(shown)


def _labels_text(labels: Mapping[str, str]) -> str:
    if not labels:
        return "no labels"
    text = ", ".join(f"{k}={v!r}" for k, v in sorted(labels.items()))
    return "labels " + (text if len(text) <= 300 else text[:300] + "...")


def short_summary(text: str) -> str:
    """The summary as stored: at most MAX_STORED_SUMMARY characters."""
    return text if len(text) <= MAX_STORED_SUMMARY else text[: MAX_STORED_SUMMARY - 3] + "..."
