"""The general engine's records for fixed seeds, pinned: a faster engine must give them bit for bit.

The digests were taken from the engine before it was tuned for speed; a change to the
routing, the event order or the draws changes them. If a change of the rules is meant,
update the digests in the same commit and say why.
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


def records(down: str, at: int, minutes: int, seed: int) -> list[DayRecord]:
    plan = Plan.model_validate(yaml.safe_load(REFERENCE.read_text(encoding="utf-8")))
    effect = resolve(plan, Topology.from_plan(plan), Scenario((down,), at, minutes))
    callbacks = (ScheduledCallback(615, "billing", vulnerable=True), ScheduledCallback(640, "emergency"))
    baseline, outage = build_days(plan, effect, callbacks)
    draws = Draws(baseline, seed, 0)
    return [simulate(baseline, draws, general=True), simulate(outage, draws, general=True)]


@pytest.mark.parametrize(
    ("down", "at", "minutes", "seed", "expected"),
    [
        ("acd", 600, 60, 3, ("accb1ccc2d1f6564", "4d34676fc525579f")),
        ("leeds-power", 570, 150, 11, ("a4dbf2dc7272beca", "03df82d2ef7c1f1b")),
    ],
)
def test_the_general_engine_gives_the_pinned_records(
    down: str, at: int, minutes: int, seed: int, expected: tuple[str, str]
) -> None:
    got = tuple(digest(r) for r in records(down, at, minutes, seed))
    assert got == expected
