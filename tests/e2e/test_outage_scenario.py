"""One outage from start to end, with real parts on 127.0.0.1, on SQLite and PostgreSQL.

Leeds loses power (a real TCP listener closes). The worker detects it and opens one
outage and its incident; the on-call engineer is paged by SMS and email through a real
SMS gateway and a real SMTP server, and acknowledges through the signed link in the SMS;
leadership, agents and customers are told, in that order; the home-working strategy is
approved and agents are texted where to log in; power comes back, the incident is
verified and resolved, and the all-clear goes out. Every message arrives once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from _receivers import HttpReceiver, SmtpReceiver
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.access.service import create_token
from standby.clock import SystemClock
from standby.config import Settings
from standby.detect.runner import run_worker
from standby.detect.worker import WorkerOptions
from standby.notify.sender import SenderOptions
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import record_plan
from standby.respond.agents import import_agents, parse_json
from standby.respond.oncall import on_call_at
from standby.respond.timeline import entries
from standby.store.engine import unit_of_work
from standby.store.tables import IncidentRow, MessageRow
from standby.web.app import create_app

pytestmark = pytest.mark.anyio

WORKER = WorkerOptions(
    concurrency=16,
    lease_s=2.0,
    claim_every_s=0.3,
    correlate_every_s=0.3,
    flush_every_s=0.05,
    retry_s=0.1,
    full_correlation_every_s=0.5,
)
SENDER = SenderOptions(poll_s=0.1, concurrency=8)
AGENTS = [
    {"external_id": f"a{i}", "name": f"Agent {i}", "team": "emergency-desk", "phone": f"+4477009001{i:02d}"}
    for i in range(3)
]


def scenario_plan(port: int) -> str:
    """The reference plan with one probe: Leeds power, behind a listener the test controls."""
    text = re.sub(r"\n    probe: \{[^\n]*\}[^\n]*", "", reference_plan_text())
    text = text.replace("interruption_max_minutes: 5 ", "interruption_max_minutes: 0.05 ")
    # The worker runs on the wall clock: teams on shift around the clock, so agents are
    # moved home whatever the hour the suite runs at.
    text = text.replace('shift: {start: "08:00", end: "20:00"}', 'shift: {start: "00:00", end: "24:00"}')
    return text.replace(
        "    kind: power\n",
        f'    kind: power\n    probe: {{type: tcp, target: "127.0.0.1:{port}", interval_s: 0.2,'
        " timeout_s: 0.5, retry_s: 0.1}\n",
    )


async def until(condition: Callable[[], object], what: str, within: float = 30.0) -> object:
    deadline = asyncio.get_running_loop().time() + within
    while not (value := condition()):
        assert asyncio.get_running_loop().time() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.1)
    return value


class Power:
    """Leeds mains power: a TCP listener that can fail and come back on the same port."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def on(self) -> None:
        async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        self.server = await asyncio.start_server(answer, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def off(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


@pytest.fixture
async def power() -> AsyncIterator[Power]:
    found = Power()
    await found.on()
    try:
        yield found
    finally:
        await found.off()


def sms_to(gateway: HttpReceiver, number: str) -> list[str]:
    return [r.form()["Body"] for r in gateway.effective.values() if r.form().get("To") == number]


def mail_to(smtp: SmtpReceiver, address: str) -> list[str]:
    return [str(m.message["Subject"]) for m in smtp.mails if address in m.rcpt_tos]


def incident_of(factory: sessionmaker[Session]) -> IncidentRow | None:
    with unit_of_work(factory) as session:
        return session.scalars(select(IncidentRow)).first()


async def test_an_outage_from_the_first_page_to_the_all_clear(
    session_factory: sessionmaker[Session], power: Power, tmp_path: Path
):
    text = scenario_plan(power.port)
    plan = load_plan_text(text)
    with unit_of_work(session_factory) as session:
        record_plan(session, plan=plan, source=text, now=SystemClock().now(), loaded_by="test")
        import_agents(session, plan=plan, rows=parse_json(AGENTS), now=SystemClock().now())
        manager = create_token(session, name="manager", role=Role.MANAGER, now=SystemClock().now())
    async with SmtpReceiver() as smtp, HttpReceiver() as gateway:
        settings = Settings(
            database_url="sqlite://",
            data_dir=tmp_path,
            secret_key="k" * 40,
            public_url="https://standby.test",
            smtp_url=smtp.url(),
            smtp_from="Standby <standby@northwind.example>",
            sms_url=f"{gateway.url}/sms",
            sms_from="Standby",
        )
        app = create_app(settings, session_factory=session_factory)
        stop = asyncio.Event()
        worker = asyncio.create_task(
            run_worker(
                stop,
                settings=settings,
                session_factory=session_factory,
                clock=SystemClock(),
                options=WORKER,
                sender_options=SENDER,
            )
        )
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
                headers = {"Authorization": f"Bearer {manager}"}
                await asyncio.sleep(1.0)  # the probe sees power on first
                await power.off()

                # The on-call engineer (Dev or Lin, whoever's week it is) is paged by SMS and email.
                on_call = on_call_at(plan.rotations[0], [], SystemClock().now(), plan.organisation.timezone)
                engineer = plan.people_by_id[on_call.person_id]
                page = await until(
                    lambda: sms_to(gateway, "+" + re.sub(r"\D", "", engineer.phone or "")), "the page"
                )
                assert "incident" in page[0] and "SEV1" in page[0]
                await until(lambda: mail_to(smtp, engineer.email or ""), "the page by email")
                token = re.search(r"/ack/(\S+)", page[0]).group(1)  # type: ignore[union-attr]
                preview = await web.get(f"/ack/{token}")
                assert preview.status_code == 200
                assert incident_of(session_factory).acknowledged_at is None  # a GET acknowledges nothing
                acked = await web.post(f"/ack/{token}")
                assert acked.status_code == 200 and "Acknowledged" in acked.text

                # After the interruption hold: leadership, agents and customers are told.
                await until(lambda: mail_to(smtp, "sam@northwind.example"), "leadership told")
                await until(lambda: sms_to(gateway, AGENTS[0]["phone"]), "agents told")
                incident = incident_of(session_factory)
                assert incident is not None and incident.state == "acknowledged"

                # Leeds is down: home working is proposed; the manager approves it.
                strategies = f"/api/v1/incidents/{incident.id}/strategies"
                proposed = (await web.get(strategies, headers=headers)).json()
                states = {s["strategy_id"]: s["state"] for s in proposed["strategies"]}
                assert states["leeds-to-home"] == "proposed"
                approved = await web.post(f"{strategies}/leeds-to-home/approve", headers=headers)
                assert approved.status_code == 200, approved.text
                await until(lambda: len(sms_to(gateway, AGENTS[0]["phone"])) >= 2, "relocation SMS")
                assert any("home" in body.lower() for body in sms_to(gateway, AGENTS[0]["phone"]))

                # Power is back: the incident waits for verification, then is resolved.
                await power.on()
                await until(lambda: incident_of(session_factory).state == "verifying", "verifying")
                resolved = await web.post(
                    f"/api/v1/incidents/{incident.id}/state",
                    json={"state": "resolved", "note": "Leeds answering again"},
                    headers=headers,
                )
                assert resolved.status_code == 200, resolved.text
                # The all-clear by its subject: leadership also hears of reviews falling due.
                await until(
                    lambda: any(s.startswith("Resolved:") for s in mail_to(smtp, "sam@northwind.example")),
                    "the all-clear",
                )
                await until(lambda: _all_sent(session_factory), "every message sent")
        finally:
            stop.set()
            await asyncio.wait_for(worker, 20)

        # Every message reached its receiver once.
        assert all(n == 1 for n in smtp.ids.values()), smtp.ids
        assert gateway.raw_repeats == 0
        with unit_of_work(session_factory) as session:
            timeline = entries(session, incident.id)
        kinds = [e.kind for e in timeline]
        for kind in ("state", "page", "ack", "message", "strategy", "action", "outage"):
            assert kind in kinds, (kind, kinds)
        # Told in order: the page first, then leadership, agents and customers; the all-clear last.
        texts = [e.text for e in timeline]
        delivered = [e.data["key"] for e in timeline if e.kind == "message" and e.data.get("state") == "sent"]
        assert delivered[0].startswith("page:")
        first = [
            next(i for i, t in enumerate(texts) if t.startswith(f"First notice {word}"))
            for word in ("to leadership", "to agents", "for customers, status page")
        ]
        assert first == sorted(first), texts
        assert texts.index("verifying -> resolved: Leeds answering again") < next(
            i for i, t in enumerate(texts) if t.startswith("Resolved notice to leadership")
        )
        assert any(k.startswith("strategy:") and ":agent:" in k for k in delivered)
        assert any("Deadline met: regulator told" in t for t in texts)


def _all_sent(factory: sessionmaker[Session]) -> bool:
    with unit_of_work(factory) as session:
        states = session.scalars(select(MessageRow.state)).all()
    return bool(states) and all(s in ("sent", "parked") for s in states)
