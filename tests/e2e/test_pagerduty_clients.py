"""PagerDuty's own client libraries, unchanged but for the base address, against Standby over TLS.

`pagerduty` (7.x) refuses a base URL that is not https, so Standby is served by uvicorn
on 127.0.0.1 with a certificate from a throwaway CA (trustme) that the clients trust.
`pdpyras` (5.x) posts to the same paths. Each library's own send calls are used, and
what Standby stored is read back from the database.
"""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path

import pagerduty
import pytest
import trustme
from _web import T0, Served, Web, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.detect.receiver_tokens import create_receiver_token
from standby.store.engine import unit_of_work
from standby.store.tables import AlertRow, ChangeEventRow, RefusedAlertRow

with warnings.catch_warnings():
    # pdpyras says on import that it is deprecated in favour of pagerduty; senders still use it.
    warnings.filterwarnings("ignore", message='The package "pdpyras" is deprecated', category=UserWarning)
    import pdpyras


@pytest.fixture
def served(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[tuple[Web, Served, Path]]:
    """Standby over TLS on a free port, with the reference plan; and the CA file that signs it."""
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1")
    key_and_chain = tmp_path / "standby.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(key_and_chain))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    web = make_web(session_factory, tmp_path)
    with Served(web.app, certfile=key_and_chain, keyfile=key_and_chain) as server:
        yield web, server, ca_file


@pytest.fixture
def routing_key(served: tuple[Web, Served, Path]) -> str:
    """A receiver token, used as PagerDuty's routing key."""
    with unit_of_work(served[0].factory) as session:
        return create_receiver_token(session, name="pd-client", now=T0)[1]


def alert(factory: sessionmaker[Session], key: str) -> AlertRow:
    with unit_of_work(factory) as session:
        row = session.scalars(select(AlertRow).where(AlertRow.dedup_key == key)).one()
        session.expunge(row)
        return row


def change_events(factory: sessionmaker[Session]) -> list[ChangeEventRow]:
    with unit_of_work(factory) as session:
        rows = list(session.scalars(select(ChangeEventRow).order_by(ChangeEventRow.id)))
        session.expunge_all()
        return rows


def test_the_pagerduty_library_triggers_acknowledges_resolves_and_sends_changes(
    served: tuple[Web, Served, Path], routing_key: str
) -> None:
    web, server, ca_file = served
    context = ssl.create_default_context(cafile=str(ca_file))
    with pagerduty.EventsApiV2Client(routing_key, base_url=server.base, verify=context) as client:
        key = client.trigger(
            "ACD routing failing for billing",
            "cloudcx-monitor",
            severity="error",
            payload={"component": "acd"},
            custom_details={"failed_calls": 41},
        )
        assert alert(web.factory, key).status == "firing"
        stored = alert(web.factory, key)
        assert (stored.source, stored.component_id, stored.severity) == ("events", "acd", "error")
        assert (stored.receiver, stored.summary) == ("pd-client", "ACD routing failing for billing")
        assert stored.payload["payload"]["custom_details"] == {"failed_calls": 41}

        assert client.acknowledge(key) == key
        assert alert(web.factory, key).status == "acknowledged"
        assert client.resolve(key) == key
        resolved = alert(web.factory, key)
        assert (resolved.status, resolved.received) == ("resolved", 3)
        assert resolved.resolved_at is not None

        # The library's submit() makes its own timestamp with a bug (datetime.timezone on
        # the datetime class); send_change_event() with one of ours is its other door.
        client.send_change_event(
            payload={
                "summary": "Deployed ACD routing rules v42",
                "source": "acd",
                "timestamp": "2026-06-15T09:10:00+01:00",
                "custom_details": {"build": 42},
            },
            links=[{"href": "https://ci.example/42", "text": "build 42"}],
        )
        [change] = change_events(web.factory)
        assert (change.summary, change.component_id, change.receiver) == (
            "Deployed ACD routing rules v42",
            "acd",
            "pd-client",
        )
        assert change.at.isoformat() == "2026-06-15T08:10:00+00:00"
        assert change.payload["links"] == [{"href": "https://ci.example/42", "text": "build 42"}]

        # A trigger that maps to nothing: the library is told (it raises on the 4xx), and
        # Standby keeps the refused alert with why.
        with pytest.raises(pagerduty.HttpError) as refused:
            client.trigger("Disk full", "db-7.northwind.internal", dedup_key="db-7-disk")
        assert refused.value.response.status_code == 422
    with unit_of_work(web.factory) as session:
        [kept] = session.scalars(select(RefusedAlertRow)).all()
        assert (kept.source, kept.dedup_key, kept.location) == ("events", "db-7-disk", "payload.source")
        assert "no component of the plan matches source 'db-7.northwind.internal'" in kept.reason


def test_pdpyras_sessions_post_to_standby_unchanged_but_for_the_address(
    served: tuple[Web, Served, Path], routing_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    web, server, ca_file = served
    # requests lets REQUESTS_CA_BUNDLE override a session's own `verify`: trust the CA there,
    # as an operator with a private CA would.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    events = pdpyras.EventsAPISession(routing_key)
    events.url = server.base
    changes = pdpyras.ChangeEventsAPISession(routing_key)
    changes.url = server.base
    for session in (events, changes):
        session.max_network_attempts = 0  # a TLS failure fails the test at once, not after retries
    with events, changes:
        key = events.trigger("CRM p95 latency above 2 s", "crm", dedup_key="crm-slow", severity="warning")
        assert key == "crm-slow"
        stored = alert(web.factory, key)
        assert (stored.component_id, stored.severity, stored.status) == ("crm", "warning", "firing")
        assert events.acknowledge(key) == key
        assert alert(web.factory, key).status == "acknowledged"
        assert events.resolve(key) == key
        assert alert(web.factory, key).status == "resolved"

        # Its own timestamp would come from datetime.utcnow(), which warns on Python 3.12.
        answer = changes.submit(
            "Rolled CRM config", source="crm", custom_details={"by": "ops"}, timestamp="2026-06-15T09:20:00Z"
        )
        [change] = change_events(web.factory)
        assert answer == str(change.id)
        assert (change.summary, change.component_id, change.source) == ("Rolled CRM config", "crm", "crm")
        assert change.payload["payload"]["custom_details"] == {"by": "ops"}
