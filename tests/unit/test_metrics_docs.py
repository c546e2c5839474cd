"""The Grafana dashboard and the alert rules in docs/ name only metrics Standby serves,
and the operations guide explains every metric."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.core import Metric

from standby.observe.figures import Figures
from standby.observe.instruments import StandbyMetrics, database_up, figure_metrics

ROOT = Path(__file__).resolve().parents[2]
# PromQL names that are not Standby's: Prometheus's own per-target series.
PROMETHEUS_OWN = {"up"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def families() -> list[Metric]:
    """Every metric family Standby serves: the in-process ones and the database's figures."""
    empty = Figures(
        at=datetime(2026, 6, 15, tzinfo=UTC),
        outages_open={},
        incidents_open={},
        outbox={},
        oldest_waiting_s=0.0,
        alerts_received={},
        alerts_refused={},
        leases={},
        probes={},
    )
    return [*StandbyMetrics().registry.collect(), database_up(True), *figure_metrics(empty)]


def served_names() -> set[str]:
    """The sample names a scrape can hold (a counter's `_total`, a histogram's buckets...)."""
    return {family.name + suffix for family in families() for suffix in SUFFIXES[family.type]}


def metric_names(expr: str) -> set[str]:
    """The series an expression reads: Standby's, and Prometheus's own `up`."""
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_labels))
    return {w for w in words if w.startswith("standby_") or w in PROMETHEUS_OWN}


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((ROOT / "docs/grafana-standby.json").read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                found.append(node["expr"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(dashboard)
    return found


def rule_exprs() -> list[tuple[str, str]]:
    rules = yaml.safe_load((ROOT / "docs/standby-alerts.yaml").read_text(encoding="utf-8"))
    return [(rule["alert"], str(rule["expr"])) for group in rules["groups"] for rule in group["rules"]]


def test_every_dashboard_expression_names_metrics_standby_serves():
    served = served_names() | PROMETHEUS_OWN
    exprs = dashboard_exprs()
    assert len(exprs) >= 15
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"{expr!r} reads no metric"
        assert names <= served, f"{expr!r} names {sorted(names - served)}, which Standby does not serve"


def test_the_dashboard_shows_every_concern_of_the_issue():
    read = set().union(*(metric_names(e) for e in dashboard_exprs()))
    for family in families():
        # Each family is on a panel, by itself or through its histogram's buckets.
        assert any(name.startswith(family.name) for name in read), f"no panel shows {family.name}"


def test_every_alert_rule_names_metrics_standby_serves_and_a_watchdog_always_fires():
    served = served_names() | PROMETHEUS_OWN
    rules = dict(rule_exprs())
    assert rules["StandbyWatchdog"] == "vector(1)"
    assert "up{" in rules["StandbyDown"] and rules["StandbyDown"].endswith("== 0")
    wanted = {"StandbyOutboxStuck", "StandbyMessagesParked", "StandbyProbeLagHigh", "StandbyNoLeasesHeld"}
    assert wanted <= set(rules)
    for name, expr in rules.items():
        if name == "StandbyWatchdog":
            continue
        names = metric_names(expr)
        assert names, f"{name}: {expr!r} reads no metric"
        assert names <= served, f"{name} names {sorted(names - served)}, which Standby does not serve"
        assert expr.count("(") == expr.count(")"), f"{name}: unbalanced parentheses"


def test_the_operations_guide_explains_every_metric_and_both_files():
    guide = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    for family in families():
        shown = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{shown}" in guide, f"{shown} is not explained in docs/operations.md"
    assert "grafana-standby.json" in guide and "standby-alerts.yaml" in guide
