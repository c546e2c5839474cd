"""A group's deadline from its deliveries: met only by a delivery the channel confirmed in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standby.respond.deadlines import DeadlineStatus, Delivery, deadline_status

T0 = datetime(2026, 6, 15, 22, 50, tzinfo=UTC)
DUE = T0 + timedelta(minutes=60)
NOT_CONFIGURED = "email is not configured: set STANDBY_SMTP_URL"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def email(
    state: str, *, attempts: int = 0, sent: float | None = None, error: str | None = None, id_: int = 1
) -> Delivery:
    return Delivery(
        message_id=id_,
        channel="email",
        recipient="incidents@regulator.example",
        recipient_name="Energy regulator incident desk",
        state=state,
        attempts=attempts,
        sent_at=at(sent) if sent is not None else None,
        parked_at=at(1) if state == "parked" else None,
        last_error=error,
    )


def status(deliveries: list[Delivery], minutes: float, *, told: bool = True) -> DeadlineStatus:
    words = {"email": "email"}
    return deadline_status("regulator", DUE, deliveries, at(minutes), told=told, channel_word=words)


def test_a_queued_message_is_not_a_telling() -> None:
    # Seen: "Deadline met: regulator told at 23:51" a second before "Not delivered, parked".
    queued = status([email("pending")], 1)
    assert (queued.state, queued.cause, queued.at) == ("at_risk", "queued", None)
    assert queued.reason == "email to Energy regulator incident desk queued, not delivered yet"
    parked = status([email("parked", attempts=1, error=NOT_CONFIGURED)], 1.1)
    assert (parked.state, parked.cause) == ("at_risk", "parked")
    assert parked.reason == f"email to Energy regulator incident desk parked: {NOT_CONFIGURED}"
    missed = status([email("parked", attempts=1, error=NOT_CONFIGURED)], 61)
    assert (missed.state, missed.cause, missed.at) == ("missed", "parked", DUE)
    assert missed.reason == parked.reason


def test_a_delivery_in_time_meets_it_with_the_delivery_as_evidence() -> None:
    met = status([email("parked", error="refused", id_=1), email("sent", sent=2.5, id_=2)], 90)
    assert (met.state, met.cause, met.at, met.message_id) == ("met", "delivered", at(2.5), 2)
    assert met.reason == "email to Energy regulator incident desk delivered"
    on_the_minute = status([email("sent", sent=60)], 61)
    assert on_the_minute.state == "met"


def test_a_delivery_after_the_deadline_is_told_late_and_still_missed() -> None:
    late = status([email("sent", attempts=4, sent=75)], 80)
    assert (late.state, late.cause, late.at) == ("missed", "late", at(75))


def test_a_failed_attempt_puts_it_at_risk_while_the_outbox_retries() -> None:
    retrying = status([email("pending", attempts=2, error="451 try again later")], 5)
    assert (retrying.state, retrying.cause) == ("at_risk", "retrying")
    assert retrying.reason.endswith("failed (attempt 2): 451 try again later; will retry")
    # One message still queued for another address is the more hopeful reason.
    fresh = Delivery(2, "email", "desk@regulator.example", "pending", 0)
    assert status([email("parked", error="refused"), fresh], 5).cause == "queued"


def test_before_anything_is_queued_and_when_nothing_could_be() -> None:
    assert status([], 1, told=False).cause == "not_told"
    nothing = status([], 1, told=True)
    assert (nothing.state, nothing.cause) == ("at_risk", "nothing_sent")
    assert (status([], 61, told=False).state, status([], 61, told=False).cause) == ("missed", "not_told")
    assert status([email("cancelled")], 5).cause == "cancelled"
