"""Protect customers in the response pass: what each pass does for the customers an outage hits.

Run by `respond.responder.respond_once` in its transaction, under the response lock;
every step is idempotent, so running it every few seconds costs little and repeats nothing.
Compensation is not here: a large outage's first offers take seconds, and they need no
lock (one offer per outage, rule and customer is a unique key), so the worker applies
the rules in a transaction of its own after the response (`detect.runner.responder_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from standby.customers.call_service import link_to_outages
from standby.customers.outage_callbacks import CallbackPass, look_after_callbacks
from standby.customers.status_callbacks import place_requested
from standby.customers.summary_service import record_on_timeline
from standby.plan.schema import Plan


@dataclass
class CustomerPass:
    """What one pass did for customers."""

    callbacks: CallbackPass = field(default_factory=CallbackPass)
    calls_linked: int = 0
    timeline_entries: int = 0


def look_after_customers(
    session: Session, *, plan: Plan, now: datetime, data_dir: Path | None = None
) -> CustomerPass:
    """Link calls cut off to their outage, flag and reschedule the callbacks outages hit
    (templates overridden in `data_dir/templates`), and put the customers' figures on each
    incident's timeline when they change."""
    done = CustomerPass()
    done.calls_linked = link_to_outages(session, now=now)
    done.callbacks = look_after_callbacks(session, plan=plan, now=now, data_dir=data_dir)
    # After the missed callbacks, which were promised a time first: the status page's requests.
    done.callbacks += CallbackPass(rescheduled=place_requested(session, plan=plan, now=now))
    # Last: the figures count what this pass flagged and rescheduled.
    session.flush()
    done.timeline_entries = record_on_timeline(session, now=now)
    return done
