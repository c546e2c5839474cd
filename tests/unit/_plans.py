"""Small plans built as dicts for topology and audit tests (no loader needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from standby.plan.schema import Plan

REFERENCE = Path(__file__).parents[2] / "src" / "standby" / "plan" / "reference.yaml"


def reference_plan() -> Plan:
    """The reference plan, parsed without the loader's rules."""
    return Plan.model_validate(yaml.safe_load(REFERENCE.read_text(encoding="utf-8")))


def component(cid: str, *depends_on: Any, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "name": cid.replace("-", " ").title(), "depends_on": list(depends_on), **extra}


def site(sid: str, *depends_on: Any, seats: int = 10, **extra: Any) -> dict[str, Any]:
    return {"id": sid, "name": sid.title(), "seats": seats, "depends_on": list(depends_on), **extra}


def queue(qid: str, *depends_on: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": qid,
        "name": qid.title(),
        "depends_on": list(depends_on),
        "service_level": {"answer_within_s": 20, "target": 0.8},
        "aht_s": 300,
        **extra,
    }


def team(tid: str, site_id: str, queues: list[str], agents: int = 5, **extra: Any) -> dict[str, Any]:
    return {
        "id": tid,
        "site": site_id,
        "queues": queues,
        "agents": agents,
        "shift": {"start": "08:00", "end": "20:00"},
        **extra,
    }


def any_of(*members: str) -> dict[str, list[str]]:
    return {"any_of": list(members)}


def plan(**sections: Any) -> Plan:
    """A plan with an organisation and whatever sections are given."""
    data: dict[str, Any] = {"organisation": {"name": "Test centre"}}
    data.update(sections)
    return Plan.model_validate(data)
