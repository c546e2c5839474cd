"""The check rota (detect/check_rota.py): which held probes are due, and when they come again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standby.detect.check_rota import CheckRota
from standby.detect.health import ProbeHealth, after_reading
from standby.detect.leases import Claim, Lease

T0 = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
TCP = {"type": "tcp", "target": "127.0.0.1:5060", "interval_s": 10, "timeout_s": 2, "retry_s": 2}


def lease(component_id: str, *, last_checked_at: datetime | None = None, sha: str = "a") -> Lease:
    return Lease(component_id, dict(TCP), sha, ProbeHealth(), last_checked_at=last_checked_at)


def rota_holding(*leases: Lease, lease_until: float = 100.0) -> CheckRota:
    rota = CheckRota(claim_every_s=1.5, pushed_every_s=5.0, retry_s=None)
    held = {each.component_id: each.settings_sha for each in leases}
    rota.take(Claim(held, list(leases), []), lease_until=lease_until, now=T0, now_loop=0.0)
    return rota


def test_a_probe_taken_over_is_due_when_its_interval_since_the_last_check_has_passed():
    rota = rota_holding(
        lease("overdue", last_checked_at=T0 - timedelta(seconds=30)),
        lease("recent", last_checked_at=T0 - timedelta(seconds=4)),
    )
    assert rota.held["overdue"].due == 0.0
    assert rota.held["recent"].due == 6.0
    assert [h.lease.component_id for h in rota.due(0.0, database_ok=True)] == ["overdue"]
    assert rota.due(5.9, database_ok=True) == []
    assert [h.lease.component_id for h in rota.due(6.0, database_ok=True)] == ["recent"]


def test_a_probe_never_checked_is_due_within_the_first_claim_period():
    rota = rota_holding(*(lease(f"p{i}") for i in range(50)))
    assert all(0.0 <= held.due <= 1.5 for held in rota.held.values())
    assert len(rota.due(1.5, database_ok=True)) == 50


def test_a_lapsed_lease_waits_for_its_renewal_unless_the_database_is_away():
    rota = rota_holding(lease("sbc", last_checked_at=T0 - timedelta(seconds=30)), lease_until=-1.0)
    assert rota.due(0.0, database_ok=True) == []
    assert rota.held["sbc"].due == 0.25
    (held,) = rota.due(0.25, database_ok=False)
    assert held.running


def test_a_failure_is_confirmed_at_the_retry_pace_and_a_check_ends_with_the_next_turn():
    rota = rota_holding(lease("sbc", last_checked_at=T0 - timedelta(seconds=30)))
    (held,) = rota.due(0.0, database_ok=True)
    rota.checked(held, started=0.0, at=T0, lapsed=False, now_loop=0.1)
    assert not held.running and held.due == 10.0
    held.health = ProbeHealth("up", failures=1)
    assert rota.next_in(held) == 2.0


def test_a_probe_dropped_by_a_claim_gets_no_more_turns():
    rota = rota_holding(lease("sbc", last_checked_at=T0 - timedelta(seconds=30)))
    (held,) = rota.due(0.0, database_ok=True)
    rota.take(Claim({}, [], []), lease_until=100.0, now=T0, now_loop=0.0)
    rota.checked(held, started=0.0, at=T0, lapsed=False, now_loop=0.1)
    assert rota.held == {} and rota.due(1_000.0, database_ok=True) == []


def test_an_outage_waiting_for_a_probe_has_it_checked_at_once_and_is_answered_by_that_check():
    rota = rota_holding(lease("core", last_checked_at=T0 - timedelta(seconds=4)))
    needed = T0 + timedelta(seconds=1)
    rota.wake({"core": needed}, now_loop=1.0)
    (held,) = rota.due(1.0, database_ok=True)
    assert not rota.answered(held, T0)  # a check begun before the outage would start
    assert rota.answered(held, needed)
    assert held.wanted_from is None


def test_a_pushed_reading_takes_its_state_from_its_evidence_without_damping():
    before = ProbeHealth("up", successes=3, since=T0 - timedelta(hours=1))
    overdue = T0 - timedelta(seconds=20)
    down = after_reading(before, False, at=T0, evidence_at=overdue)
    assert (down.state, down.failures, down.since) == ("down", 1, overdue)
    again = after_reading(down, False, at=T0 + timedelta(seconds=5), evidence_at=None)
    assert again.since == overdue
