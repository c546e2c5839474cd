"""Which callbacks an outage caught, read from their history.

A callback keeps one `outage_id`: the latest outage that stopped its queue. Two outages
can hit the same callback (flagged in the first, rescheduled, flagged again in the
second), so each outage's figures and compensation come from the callbacks' history,
whose entries name the outage they are about (`callback_events.outage_id`):

- **caught**: flagged by one of the outages, and not released by them since (a queue
  that came back before the callback was due, or an outage that ended before it);
- **missed**: its time passed while the outage stopped its queue, so it was rescheduled
  after recovery, or left for a person to place (`unplaced`).

Query builders only: the services run them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, case, func, select

from standby.store.tables.customers import CallbackEventRow

_E = CallbackEventRow
MISSING = ("rescheduled", "unplaced")


def caught_callbacks(family: Sequence[int]) -> Select[int]:
    """Ids of the callbacks the outages of `family` flagged and did not release afterwards."""
    last_flagged = func.max(case((_E.kind == "flagged", _E.id)))
    last_released = func.max(case((_E.kind == "released", _E.id)))
    return (
        select(_E.callback_id)
        .where(_E.outage_id.in_(family), _E.kind.in_(("flagged", "released")))
        .group_by(_E.callback_id)
        .having(last_flagged > func.coalesce(last_released, 0))
    )


def callbacks_by_kind(family: Sequence[int], kinds: Sequence[str]) -> Select[int]:
    """Ids of the callbacks with an entry of one of `kinds` about the outages of `family`."""
    return select(_E.callback_id).where(_E.outage_id.in_(family), _E.kind.in_(kinds)).distinct()


def missed_callbacks(family: Sequence[int]) -> Select[int]:
    """Ids of the callbacks whose time passed while the outages of `family` stopped their queue."""
    return callbacks_by_kind(family, MISSING)


def history_fingerprint(family: Sequence[int]) -> Select[int, int]:
    """How many entries are about the outages of `family`, and the newest: any change moves it."""
    return select(func.count(), func.max(_E.id)).where(_E.outage_id.in_(family))
