"""The general engine's records for fixed seeds, pinned: a faster engine must give them bit for bit.

The digests were taken from the engine before it was tuned for speed; a change to the
routing, the event order or the draws changes them. If a change of the rules is meant,
update the digests in the same commit and say why.

The first digests were taken on the reference plan as it was then staffed (three teams,
every agent all day); `STAFFED_ALL_DAY` restores those teams so they keep their meaning.
The others are the reference plan as it is (four teams on shifts, Erlang-sized), taken
from the engine that still gave the first ones.
"""

from __future__ import annotations

import hashlib

import pytest
import yaml
from _plans import REFERENCE

from standby.impact.day import build_days
from standby.impact.draws import Draws
from standby.impact.engine import simulate
from standby.impact.records import DayRecord
from standby.impact.results import Scenario, ScheduledCallback
from standby.impact.strategies import resolve
from standby.plan.schema import Plan
from standby.plan.topology import Topology


def digest(record: DayRecord) -> str:
    """A digest of every array of the record, attempts ordered by customer and attempt.

    (The order in which an engine appends retries is its own affair: calls cut off at one
    moment may be appended in any order.)
    """
    record = record.sorted()
    h = hashlib.sha256()
    for name in ("queue", "customer", "attempt", "time", "outcome", "end", "service_end", "cut"):
        h.update(getattr(record, name).tobytes())
    h.update(record.callback_start.tobytes())
    h.update(record.callback_end.tobytes())
    return h.hexdigest()[:16]


STAFFED_ALL_DAY = [
    {
        "id": team_id,
        "site": "leeds",
        "queues": queues,
        "agents": agents,
        "shift": {"start": "08:00", "end": "20:00"},
        "hourly_cost": cost,
        "home_capable": home,
    }
    for team_id, queues, agents, cost, home in (
        ("emergency-desk", ["emergency", "billing"], 24, 19.5, 0.8),
        ("billing-team", ["billing", "moving"], 72, 16.8, 0.6),
        ("sales-team", ["moving", "billing"], 26, 17.4, 0.5),
    )
]


def records(down: str, at: int, minutes: int, seed: int, *, all_day: bool = False) -> list[DayRecord]:
    data = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    if all_day:
        data["teams"] = STAFFED_ALL_DAY
        data["stakeholders"] = [s for s in data["stakeholders"] if s["id"] != "agents"]
    plan = Plan.model_validate(data)
    effect = resolve(plan, Topology.from_plan(plan), Scenario((down,), at, minutes))
    callbacks = (ScheduledCallback(615, "billing", vulnerable=True), ScheduledCallback(640, "emergency"))
    baseline, outage = build_days(plan, effect, callbacks)
    draws = Draws(baseline, seed, 0)
    return [simulate(baseline, draws, general=True), simulate(outage, draws, general=True)]


@pytest.mark.parametrize(
    ("down", "at", "minutes", "seed", "all_day", "expected"),
    [
        ("acd", 600, 60, 3, True, ("accb1ccc2d1f6564", "4d34676fc525579f")),
        ("leeds-power", 570, 150, 11, True, ("a4dbf2dc7272beca", "03df82d2ef7c1f1b")),
        ("acd", 600, 60, 3, False, ("f53551d220cf008e", "0f3741e2bf456f33")),
        ("leeds-power", 570, 150, 11, False, ("2c5c747dd772cb4b", "f49f86ead5a5435d")),
    ],
)
def test_the_general_engine_gives_the_pinned_records(
    down: str, at: int, minutes: int, seed: int, all_day: bool, expected: tuple[str, str]
) -> None:
    got = tuple(digest(r) for r in records(down, at, minutes, seed, all_day=all_day))
    assert got == expected
