"""Login lockout: per account and per client address, in the database, lifted by an administrator."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from _web import BASE, PASSWORD, Web, client, make_web, web
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from standby.access.lockout import POLICIES, Scope
from standby.access.roles import Role
from standby.cli import app as cli
from standby.config import SETTINGS

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

URL = "/api/v1/session"
SAME_SITE = {"Origin": BASE}
FREE = 3


@pytest.fixture
def few_free_per_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three free failures per address instead of thirty: each failure costs a password hash."""
    monkeypatch.setitem(POLICIES, Scope.ADDRESS, replace(POLICIES[Scope.ADDRESS], free=FREE))


async def attempt(client: httpx.AsyncClient, username: str, password: str, **headers: str) -> httpx.Response:
    return await client.post(URL, json={"username": username, "password": password}, headers=headers)


async def test_seen_a_hundred_wrong_passwords_then_the_right_one_is_refused_too(
    web: Web, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="standby"):
        wrong = [await attempt(client, "viewer", f"guess number {n}") for n in range(100)]
        right = await attempt(client, "viewer", PASSWORD)
    # Five failures are free; the sixth is checked and locks the door for 30 s.
    assert [r.status_code for r in wrong[:6]] == [401] * 6
    assert {r.status_code for r in wrong[6:]} == {429}
    assert right.status_code == 429, "a right password during a lockout must be refused like a wrong one"
    assert right.headers["retry-after"] == "30"
    last = wrong[-1]
    assert (right.json(), right.headers["retry-after"]) == (last.json(), last.headers["retry-after"])
    assert "standby_session" not in right.headers.get("set-cookie", "")
    locked = [r.getMessage() for r in caplog.records if "login locked" in r.getMessage()]
    assert locked == ["login locked: account 'viewer' after 6 failed logins, for 30 s"]
    assert not any("guess number" in r.getMessage() or PASSWORD in r.getMessage() for r in caplog.records)
    # Once the wait is over, the right password works, and clears the account's count.
    web.clock.advance(timedelta(seconds=30))
    assert (await attempt(client, "viewer", PASSWORD)).status_code == 200
    assert (await attempt(client, "viewer", "wrong again")).status_code == 401


async def test_delays_double_after_each_failure_past_the_free_ones(
    web: Web, client: httpx.AsyncClient
) -> None:
    for _ in range(6):
        await attempt(client, "agent", "wrong")
    waits = []
    for _ in range(3):
        refused = await attempt(client, "agent", "wrong")
        assert refused.status_code == 429
        wait = int(refused.headers["retry-after"])
        waits.append(wait)
        web.clock.advance(timedelta(seconds=wait))
        assert (await attempt(client, "agent", "wrong")).status_code == 401
    assert waits == [30, 60, 120]


async def test_a_lockout_does_not_tell_whether_the_account_exists(
    web: Web, client: httpx.AsyncClient
) -> None:
    real = [await attempt(client, "manager", "wrong") for _ in range(7)]
    made_up = [await attempt(client, "nobody-here", "wrong") for _ in range(7)]
    assert [r.status_code for r in real] == [r.status_code for r in made_up] == [401] * 6 + [429]
    for one, other in zip(real, made_up, strict=True):
        assert one.json() == other.json()
        assert one.headers.get("retry-after") == other.headers.get("retry-after")


@pytest.mark.usefixtures("few_free_per_address")
async def test_one_address_trying_many_accounts_is_stopped(web: Web, client: httpx.AsyncClient) -> None:
    answers = [(await attempt(client, f"user-{n}", "wrong")).status_code for n in range(FREE + 1)]
    assert answers == [401] * (FREE + 1)
    # The address is locked now: even a real user with the right password waits.
    refused = await attempt(client, "responder", PASSWORD)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "30"
    # Forwarded-For is not believed from a peer that is not a trusted proxy.
    spoofed = await attempt(client, "responder", PASSWORD, **{"X-Forwarded-For": "203.0.113.99"})
    assert spoofed.status_code == 429


@pytest.mark.usefixtures("few_free_per_address")
async def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    proxied = make_web(session_factory, tmp_path, trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    async with proxied.client() as c:
        for n in range(FREE + 1):
            sent = await attempt(c, f"user-{n}", "wrong", **{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
            assert sent.status_code == 401
        assert (await attempt(c, "admin", PASSWORD, **{"X-Forwarded-For": "203.0.113.7"})).status_code == 429
        # Another client behind the same proxy is not held up by that one.
        assert (await attempt(c, "admin", PASSWORD, **{"X-Forwarded-For": "203.0.113.8"})).status_code == 200


async def test_the_login_form_is_limited_too(web: Web, client: httpx.AsyncClient) -> None:
    form = {"username": "viewer", "password": "wrong", "next": "/"}
    answers = [(await client.post("/login", data=form, headers=SAME_SITE)).status_code for _ in range(7)]
    assert answers == [401] * 6 + [429]
    page = await client.post("/login", data={**form, "password": PASSWORD}, headers=SAME_SITE)
    assert page.status_code == 429 and page.headers["retry-after"] == "30"
    assert page.headers["content-type"].startswith("text/html")
    assert "Too many failed logins" in page.text
    # The form and the API count together: the API is locked as well.
    assert (await attempt(client, "viewer", PASSWORD)).status_code == 429


async def test_an_admin_sees_and_lifts_a_lockout(web: Web, client: httpx.AsyncClient) -> None:
    for _ in range(7):
        await attempt(client, "viewer", "wrong")
    admin = web.bearer(Role.ADMIN)
    listed = await client.get("/api/v1/lockouts", headers=admin)
    assert listed.status_code == 200
    first = listed.json()[0]
    assert (first["scope"], first["key"], first["failures"]) == ("account", "viewer", 6)
    assert first["locked_until"] == "2026-06-15T09:30:30Z"
    for role in (Role.MANAGER, Role.VIEWER):
        refused = await client.delete("/api/v1/lockouts?account=viewer", headers=web.bearer(role))
        assert refused.status_code == 403
    assert (await client.delete("/api/v1/lockouts", headers=admin)).status_code == 400
    lifted = await client.delete("/api/v1/lockouts", params={"account": "Viewer"}, headers=admin)
    assert lifted.status_code == 200 and lifted.json() == {"lifted": 1}
    assert (await attempt(client, "viewer", PASSWORD)).status_code == 200
    again = await client.delete("/api/v1/lockouts", params={"account": "viewer"}, headers=admin)
    assert again.json() == {"lifted": 0}


@pytest.mark.usefixtures("few_free_per_address")
async def test_standby_user_unlock_lifts_a_lockout(
    web: Web, client: httpx.AsyncClient, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(FREE + 1):
        await attempt(client, f"user-{n}" if n else "viewer", "wrong")
    assert (await attempt(client, "admin", PASSWORD)).status_code == 429  # the address is locked
    for doc in SETTINGS:
        monkeypatch.delenv(doc.env, raising=False)
    monkeypatch.setenv("STANDBY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STANDBY_DATABASE_URL", db_url)
    runner = CliRunner()
    nothing = runner.invoke(cli, ["user", "unlock"])
    assert nothing.exit_code == 2 and "--address" in nothing.output
    unlocked = runner.invoke(cli, ["user", "unlock", "viewer", "--address", "127.0.0.1"])
    assert unlocked.exit_code == 0, unlocked.output
    assert "Unlocked user 'viewer' and address 127.0.0.1" in unlocked.output
    assert (await attempt(client, "viewer", PASSWORD)).status_code == 200


async def test_servers_sharing_a_database_share_the_count_even_in_a_burst(
    web: Web, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    other = make_web(session_factory, tmp_path / "other", with_plan=False, with_users=False)
    async with web.client() as one, other.client() as two:
        burst = [attempt(one if n % 2 else two, "responder", f"wrong {n}") for n in range(24)]
        answers = [r.status_code for r in await asyncio.gather(*burst)]
    # Each attempt is counted before its password is checked: six, and only six, got through.
    assert sorted(answers) == [401] * 6 + [429] * 18
