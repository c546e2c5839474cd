"""The outbox and the sender against a real database (SQLite and PostgreSQL), with fake channels."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import SystemClock
from standby.errors import Conflict, InvalidInput, NotFound
from standby.notify import outbox, outbox_delivery, outbox_desk
from standby.notify.channels.fake import FakeChannel
from standby.notify.channels.protocol import PermanentFailure, TemporaryFailure
from standby.notify.outbox import NewMessage
from standby.notify.outbox_delivery import RetryPolicy
from standby.notify.sender import Channels, NotifySender, SenderOptions
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import upgrade

T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def sms(key: str, **changes):
    values = {
        "key": key,
        "channel": "sms",
        "recipient": "+447700900123",
        "body": "ACD down",
        "purpose": "page",
    }
    values.update(changes)
    return values


def put(factory: sessionmaker[Session], count: int, *, prefix: str = "m", now: datetime = T0, **changes):
    with unit_of_work(factory) as session:
        return outbox.enqueue_many(
            session, [NewMessage(**sms(f"{prefix}-{i}", **changes)) for i in range(count)], now=now
        )


def test_enqueue_is_idempotent_and_checks_what_it_is_given(session_factory):
    with unit_of_work(session_factory) as session:
        first = outbox.enqueue(session, **sms("incident-1:page:ana:sms"), incident_id=1, now=T0)
        again = outbox.enqueue(session, **sms("incident-1:page:ana:sms", body="different"), now=T0)
        assert again.id == first.id and again.body == "ACD down"
        assert first.state == "pending" and first.attempts == 0 and first.next_attempt_at == T0
        later = outbox.enqueue(session, **sms("later"), now=T0, not_before=T0 + timedelta(minutes=5))
        assert later.next_attempt_at == T0 + timedelta(minutes=5)
        for bad, says in [
            (sms("x", recipient="07700 900123"), "no country code"),
            (sms("x", channel="email", recipient="ana@example.org"), "an email needs a subject"),
            (sms("x", channel="fax"), "unknown channel 'fax'"),
            (sms("x", purpose=""), "purpose"),
            (sms("bad key"), "idempotency key"),
        ]:
            with pytest.raises(InvalidInput, match=says):
                outbox.enqueue(session, **bad, now=T0)
        with pytest.raises(InvalidInput, match="time zone"):
            outbox.enqueue(session, **sms("naive"), now=datetime(2026, 1, 1))
        records = outbox.enqueue_many(
            session, [NewMessage(**sms("a")), NewMessage(**sms("b")), NewMessage(**sms("a"))], now=T0
        )
        assert records[0].id == records[2].id != records[1].id
    with unit_of_work(session_factory) as session:
        assert outbox_desk.count_by_state(session)["pending"] == 4


def test_the_same_key_from_many_threads_at_once_is_one_message(session_factory):
    ids: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def ask() -> None:
        try:
            start.wait()
            with unit_of_work(session_factory) as session:
                ids.append(outbox.enqueue(session, **sms("same"), now=T0).id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(ids) == 8 and len(set(ids)) == 1


def test_claims_mark_sending_count_the_attempt_and_never_overlap(session_factory):
    put(session_factory, 10)
    with unit_of_work(session_factory) as session:
        mine = outbox_delivery.claim_due(session, worker_id="w1", now=T0, limit=4, lease=LEASE)
    with unit_of_work(session_factory) as session:
        theirs = outbox_delivery.claim_due(session, worker_id="w2", now=T0, limit=100, lease=LEASE)
        assert outbox_delivery.claim_due(session, worker_id="w3", now=T0, limit=100, lease=LEASE) == []
    assert len(mine) == 4 and len(theirs) == 6
    assert not {m.id for m in mine} & {m.id for m in theirs}
    assert all(m.state == "sending" and m.attempts == 1 and m.claimed_until == T0 + LEASE for m in mine)
    assert [m.key for m in mine] == ["m-0", "m-1", "m-2", "m-3"]


@pytest.mark.postgres
def test_two_workers_claiming_at_the_same_instant_skip_each_others_rows(postgres_schema_url):
    # PostgreSQL only: on SQLite, with one writer, the second claim waits for the first.
    engine = make_engine(postgres_schema_url)
    try:
        upgrade(engine)
        _claim_at_once(make_session_factory(engine))
    finally:
        engine.dispose()


def _claim_at_once(session_factory: sessionmaker[Session]) -> None:
    put(session_factory, 10)
    with session_factory() as first, session_factory() as second:
        a = outbox_delivery.claim_due(first, worker_id="a", now=T0, limit=6, lease=LEASE)
        # `first` has not committed: its rows are locked, and `second` skips them.
        b = outbox_delivery.claim_due(second, worker_id="b", now=T0, limit=6, lease=LEASE)
        first.commit()
        second.commit()
    assert len(a) == 6 and len(b) == 4
    assert not {m.id for m in a} & {m.id for m in b}


def test_failures_back_off_then_park_with_the_reason(session_factory):
    (message,) = put(session_factory, 1)
    now = T0
    rng = random.Random(1)
    for attempt in range(1, 9):
        with unit_of_work(session_factory) as session:
            (claimed,) = outbox_delivery.claim_due(session, worker_id="w", now=now, limit=5, lease=LEASE)
            assert claimed.id == message.id and claimed.attempts == attempt
            after = outbox_delivery.mark_failed(
                session,
                message_id=message.id,
                worker_id="w",
                now=now,
                error=f"503 busy #{attempt}",
                permanent=False,
                rng=rng,
            )
        assert after is not None
        if attempt < 8:
            nominal = min(1800, 30 * 2 ** (attempt - 1))
            wait = (after.next_attempt_at - now).total_seconds()
            assert after.state == "pending" and 0.8 * nominal <= wait <= nominal
            assert after.last_error == f"503 busy #{attempt}" and after.claimed_by is None
            with unit_of_work(session_factory) as session:  # not due before its time
                assert (
                    outbox_delivery.claim_due(
                        session, worker_id="w", now=now + timedelta(seconds=wait / 2), limit=5, lease=LEASE
                    )
                    == []
                )
            now = after.next_attempt_at
        else:
            assert after.state == "parked" and after.parked_at == now
            assert after.last_error == "503 busy #8 (gave up after 8 attempts)"


def test_a_permanent_failure_parks_at_once_and_only_the_claim_holder_records_failure(session_factory):
    a, b = put(session_factory, 2)
    with unit_of_work(session_factory) as session:
        outbox_delivery.claim_due(session, worker_id="w", now=T0, limit=5, lease=LEASE)
        assert (
            outbox_delivery.mark_failed(
                session, message_id=a.id, worker_id="other", now=T0, error="x", permanent=True
            )
            is None
        )
        parked = outbox_delivery.mark_failed(
            session,
            message_id=a.id,
            worker_id="w",
            now=T0,
            error="the gateway refused the message: 400 Bad Request: invalid 'To'",
            permanent=True,
        )
        assert parked is not None and parked.state == "parked"
        assert parked.last_error == "the gateway refused the message: 400 Bad Request: invalid 'To'"
        sent = outbox_delivery.mark_sent(session, message_id=b.id, worker_id="w", now=T0, provider_id="SM1")
        assert sent is not None and sent.state == "sent" and sent.provider_id == "SM1" and sent.sent_at == T0
        assert (
            outbox_delivery.mark_sent(session, message_id=b.id, worker_id="w", now=T0, provider_id="SM2")
            is None
        )
        assert (
            outbox_delivery.mark_failed(
                session, message_id=b.id, worker_id="w", now=T0, error="late", permanent=False
            )
            is None
        )
        assert outbox_desk.get_message(session, b.id).provider_id == "SM1"


def test_a_claim_that_ran_out_mid_send_is_claimed_again_with_the_same_key(session_factory):
    (message,) = put(session_factory, 1)
    with unit_of_work(session_factory) as session:
        (first,) = outbox_delivery.claim_due(session, worker_id="dead", now=T0, limit=5, lease=LEASE)
    with unit_of_work(session_factory) as session:  # still held
        assert outbox_delivery.claim_due(session, worker_id="new", now=T0 + LEASE, limit=5, lease=LEASE) == []
    later = T0 + LEASE + timedelta(seconds=1)
    with unit_of_work(session_factory) as session:
        (second,) = outbox_delivery.claim_due(session, worker_id="new", now=later, limit=5, lease=LEASE)
    assert second.id == first.id and second.key == first.key == "m-0"
    assert second.attempts == 2 and second.claimed_by == "new"
    with unit_of_work(session_factory) as session:
        # The dead worker woke up: its failure is not its to record, its delivery is a fact.
        assert (
            outbox_delivery.mark_failed(
                session, message_id=message.id, worker_id="dead", now=later, error="x", permanent=False
            )
            is None
        )
        assert (
            outbox_delivery.mark_sent(
                session, message_id=message.id, worker_id="dead", now=later, provider_id=None
            )
            is not None
        )


def test_a_message_that_kills_its_sender_every_time_is_parked(session_factory):
    (message,) = put(session_factory, 1)
    policy = RetryPolicy(max_attempts=3)
    told: list[tuple[int, str, bool]] = []
    now = T0
    for _ in range(3):
        with unit_of_work(session_factory) as session:
            (_claimed,) = outbox_delivery.claim_due(
                session, worker_id="w", now=now, limit=5, lease=LEASE, policy=policy
            )
        now = now + LEASE + timedelta(seconds=1)
    with unit_of_work(session_factory) as session:
        claimed_again = outbox_delivery.claim_due(
            session,
            worker_id="w",
            now=now,
            limit=5,
            lease=LEASE,
            policy=policy,
            on_outcome=lambda s, r: told.append((r.id, r.state, s.in_transaction())),
        )
        assert claimed_again == []
        parked = outbox_desk.get_message(session, message.id)
    assert parked.state == "parked" and "stopped while sending it (attempt 3 of 3)" in (
        parked.last_error or ""
    )
    assert told == [(message.id, "parked", True)]


def test_retry_and_cancel_by_hand(session_factory):
    a, b, c = put(session_factory, 3)
    with unit_of_work(session_factory) as session:
        outbox_delivery.claim_due(session, worker_id="w", now=T0, limit=1, lease=LEASE)
        outbox_delivery.mark_failed(
            session, message_id=a.id, worker_id="w", now=T0, error="400 bad", permanent=True
        )
        with pytest.raises(Conflict, match="is pending, not parked"):
            outbox_desk.retry_parked(session, message_id=b.id, now=T0, by="ana")
        retried = outbox_desk.retry_parked(session, message_id=a.id, now=T0 + timedelta(minutes=1), by="ana")
        assert retried.state == "pending" and retried.attempts == 0 and retried.parked_at is None
        assert retried.next_attempt_at == T0 + timedelta(minutes=1) and retried.last_error == "400 bad"
        assert outbox_desk.cancel(session, message_id=b.id, now=T0).state == "cancelled"
        with pytest.raises(Conflict, match="cancelled already"):
            outbox_desk.cancel(session, message_id=b.id, now=T0)
        with pytest.raises(NotFound, match="no message with id 999"):
            outbox_desk.cancel(session, message_id=999, now=T0)
        outbox_delivery.claim_due(session, worker_id="w", now=T0 + timedelta(hours=1), limit=5, lease=LEASE)
        with pytest.raises(Conflict, match="being sent right now"):
            outbox_desk.cancel(session, message_id=c.id, now=T0)
    with unit_of_work(session_factory) as session:
        # A cancelled message is never claimed (the other two are, their claims having run out).
        later = outbox_delivery.claim_due(
            session, worker_id="w", now=T0 + timedelta(days=1), limit=5, lease=LEASE
        )
        assert sorted(m.id for m in later) == [a.id, c.id]


def test_listing_filters_and_pages(session_factory):
    put(session_factory, 5, prefix="one", incident_id=1)
    put(session_factory, 3, prefix="two", incident_id=2)
    with unit_of_work(session_factory) as session:
        everything = outbox_desk.list_messages(session)
        assert len(everything) == 8 and everything[0].id > everything[-1].id
        ones = outbox_desk.list_messages(session, incident_id=1, limit=2)
        assert [m.key for m in ones] == ["one-4", "one-3"]
        assert [m.key for m in outbox_desk.list_messages(session, incident_id=1, before_id=ones[-1].id)] == [
            "one-2",
            "one-1",
            "one-0",
        ]
        assert outbox_desk.list_messages(session, state="sent") == []
        with pytest.raises(InvalidInput, match="unknown state"):
            outbox_desk.list_messages(session, state="lost")
        assert outbox_desk.count_by_state(session, incident_id=2) == {
            "pending": 3,
            "sending": 0,
            "sent": 0,
            "parked": 0,
            "cancelled": 0,
        }
        assert outbox_desk.get_by_key(session, "two-1") is not None


# ---- the sender, with fake channels ----------------------------------------------------------

FAST = SenderOptions(
    concurrency=16,
    batch=8,
    lease_s=30,
    poll_s=0.05,
    stop_grace_s=2,
    policy=RetryPolicy(base_s=0.05, cap_s=0.1, max_attempts=3, jitter=0),
)


async def run_until(sender: NotifySender, done, timeout: float = 15.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while not await asyncio.to_thread(done):
            assert loop.time() < deadline, "the sender did not finish in time"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


def counts(factory):
    with unit_of_work(factory) as session:
        return outbox_desk.count_by_state(session)


def settled(factory):
    c = counts(factory)
    return c["pending"] == 0 and c["sending"] == 0


@pytest.mark.anyio
async def test_the_sender_sends_each_message_once_and_survives_what_channels_do(session_factory):
    put(session_factory, 40, prefix="ok")
    put(session_factory, 1, prefix="flaky")
    put(session_factory, 1, prefix="refused")
    put(session_factory, 1, prefix="buggy")
    with unit_of_work(session_factory) as session:
        outbox.enqueue(
            session,
            key="mail",
            channel="email",
            recipient="ana@example.org",
            subject="s",
            body="b",
            purpose="page",
            now=T0,
        )
    tries: dict[str, int] = {}

    def script(message):
        tries[message.key] = tries.get(message.key, 0) + 1
        if message.key == "flaky-0" and tries[message.key] == 1:
            return TemporaryFailure("the SMS gateway answered 503 Service Unavailable: busy")
        if message.key == "refused-0":
            return PermanentFailure("the SMS gateway refused the message: 400 Bad Request: bad 'To'")
        if message.key == "buggy-0":
            raise RuntimeError("a bug in the channel")
        return None

    fake = FakeChannel(script, delay_s=0.01)
    seen: list[tuple[str, str, bool]] = []
    sender = NotifySender(
        session_factory=session_factory,
        clock=SystemClock(),
        channels=Channels({"sms": fake}, {"email": "email is not configured: set STANDBY_SMTP_URL"}),
        options=FAST,
        on_outcome=lambda s, r: seen.append((r.key, r.state, s.in_transaction())),
    )
    await run_until(sender, lambda: settled(session_factory))
    delivered = [m.key for m in fake.delivered]
    assert len(delivered) == len(set(delivered)) == 41
    with unit_of_work(session_factory) as session:
        by_key = {m.key: m for m in outbox_desk.list_messages(session, limit=1000)}
    assert by_key["flaky-0"].state == "sent" and by_key["flaky-0"].attempts == 2
    assert by_key["flaky-0"].last_error == "the SMS gateway answered 503 Service Unavailable: busy"
    assert by_key["refused-0"].state == "parked" and by_key["refused-0"].attempts == 1
    assert "400 Bad Request" in (by_key["refused-0"].last_error or "")
    assert by_key["buggy-0"].state == "parked" and by_key["buggy-0"].attempts == 3
    assert by_key["buggy-0"].last_error == (
        "the sms channel failed: RuntimeError: a bug in the channel (gave up after 3 attempts)"
    )
    assert by_key["mail"].state == "parked"
    assert by_key["mail"].last_error == "email is not configured: set STANDBY_SMTP_URL"
    assert by_key["ok-7"].provider_id == f"fake-{by_key['ok-7'].id}"
    assert all(in_transaction for _, _, in_transaction in seen)
    assert ("flaky-0", "pending", True) in seen and ("flaky-0", "sent", True) in seen
    assert sender.stats.sent == 41 and sender.stats.parked == 3


class Blinking:
    """A session factory whose database can be switched off."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.down = False

    def __call__(self) -> Session:
        if self.down:
            raise OperationalError("connect", None, ConnectionRefusedError("the database is down"))
        return self.factory()


@pytest.mark.anyio
async def test_the_sender_keeps_going_while_the_database_blinks(session_factory):
    put(session_factory, 30)
    database = Blinking(session_factory)
    fake = FakeChannel(delay_s=0.2)
    sender = NotifySender(
        session_factory=database,  # type: ignore[arg-type]
        clock=SystemClock(),
        channels=Channels({"sms": fake}),
        options=SenderOptions(concurrency=10, batch=10, lease_s=30, poll_s=0.05),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        while not fake.attempts:
            await asyncio.sleep(0.01)
        database.down = True  # while the first ten are being sent
        while len(fake.delivered) < 10:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert not sender.database_ok and counts(session_factory)["sent"] == 0
        put(session_factory, 5, prefix="while-down")
        database.down = False
        await asyncio.wait_for(_until(lambda: counts(session_factory)["sent"] == 35), 15)
    finally:
        stop.set()
        await task
    keys = [m.key for m in fake.delivered]
    assert len(keys) == len(set(keys)) == 35
    assert sender.stats.database_errors > 0 and sender.database_ok


@pytest.mark.anyio
async def test_a_message_sent_but_not_yet_recorded_is_not_sent_again_by_its_own_sender(session_factory):
    """Outcomes are written together (group commit); one that waits longer than the claim's
    lease leaves its message `sending` with the claim run out. The same sender, claiming again
    as its slots free, must not send it a second time (seen under load in the crash test)."""
    put(session_factory, 24)
    fake = FakeChannel(delay_s=0.01)
    sender = NotifySender(
        session_factory=session_factory,
        clock=SystemClock(),
        channels=Channels({"sms": fake}),
        # Outcomes wait up to 1.5 s to be written; claims run out after 0.3 s.
        options=SenderOptions(concurrency=8, batch=8, lease_s=0.3, poll_s=0.05, flush_every_s=1.5),
    )
    await run_until(sender, lambda: settled(session_factory))
    keys = [m.key for m in fake.delivered]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 24
    assert counts(session_factory)["sent"] == 24


async def _until(condition) -> None:
    while not await asyncio.to_thread(condition):
        await asyncio.sleep(0.05)


@pytest.mark.anyio
async def test_a_stop_gives_back_what_was_cut_short(session_factory):
    put(session_factory, 6)
    fake = FakeChannel(delay_s=30)
    sender = NotifySender(
        session_factory=session_factory,
        clock=SystemClock(),
        channels=Channels({"sms": fake}),
        options=SenderOptions(concurrency=4, batch=4, lease_s=60, poll_s=0.05, stop_grace_s=0.1),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    while len(fake.attempts) < 4:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    c = counts(session_factory)
    assert c["sending"] == 0 and c["pending"] == 6
    with unit_of_work(session_factory) as session:
        again = outbox_delivery.claim_due(
            session, worker_id="next", now=datetime.now(UTC), limit=10, lease=LEASE
        )
    assert len(again) == 6
    assert sorted(m.attempts for m in again) == [1, 1, 2, 2, 2, 2]
