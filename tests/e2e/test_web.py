"""The pages over HTTP, on SQLite and PostgreSQL; and `standby serve` for real, as a process."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import markupsafe
import pytest
from _web import PASSWORD, Web, client, make_web, web
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.plan.audit import audit
from standby.plan.loading import load_plan_text, reference_plan_text

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest


async def log_in_form(c: httpx.AsyncClient, role: Role, *, next_: str = "/") -> httpx.Response:
    return await c.post("/login", data={"username": role.value, "password": PASSWORD, "next": next_})


async def test_pages_send_strangers_to_the_login_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F"
    form = await client.get("/login?next=%2F")
    assert form.status_code == 200
    assert 'name="password"' in form.text
    assert 'value="/"' in form.text


async def test_logging_in_with_the_form_leads_to_the_overview(client: httpx.AsyncClient) -> None:
    response = await log_in_form(client, Role.MANAGER)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = await client.get("/")
    assert page.status_code == 200
    assert "Northwind Energy Customer Care" in page.text
    # Logged in already: the login page moves on.
    again = await client.get("/login?next=/")
    assert again.status_code == 303


async def test_a_wrong_password_shows_the_form_again(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/login", data={"username": "manager", "password": "wrong password", "next": "/"}
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert 'value="manager"' in response.text
    assert "set-cookie" not in response.headers
    assert (await client.get("/")).status_code == 303


async def test_login_never_redirects_to_another_site(client: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = await log_in_form(client, Role.VIEWER, next_=target)
        assert response.headers["location"] == "/"


async def test_the_login_form_refuses_posts_from_other_sites(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "next": "/"},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "another site" in response.text
    assert "set-cookie" not in response.headers


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    await log_in_form(client, Role.VIEWER)
    response = await client.post("/logout", headers={"Origin": "http://testserver"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?out=1"
    assert "standby_session=" in response.headers["set-cookie"]
    assert (await client.get("/")).status_code == 303
    assert "You are logged out" in (await client.get("/login?out=1")).text


async def test_the_overview_draws_the_map_sites_queues_and_findings(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in_form(client, Role.MANAGER)
    page = (await client.get("/")).text
    svg = page[page.index('<svg class="map"') : page.index("</svg>", page.index('<svg class="map"'))]
    plan = load_plan_text(reference_plan_text())
    for component in plan.components:
        assert f'data-id="component:{component.id}"' in svg
        assert f">{component.id}</text>" in svg
    assert 'data-id="component:sbc:any-of-0"' in svg
    assert ">any of</text>" in svg
    for site in plan.sites:
        assert site.name in page
    for queue in plan.queues:
        assert queue.name in page
    assert "90% in 10 s" in page
    for finding in audit(plan, today=web.clock.now().date()):
        assert str(markupsafe.escape(finding.message)) in page  # escaped as Jinja escapes
    assert '<meta http-equiv="refresh" content="30">' in page
    # Everything unknown: grey boxes, no red.
    assert "tone-unknown" in svg and "node kind-component tone-down" not in svg


async def test_the_overview_follows_live_states(web: Web, client: httpx.AsyncClient) -> None:
    await log_in_form(client, Role.RESPONDER)
    web.set_state("trunk-a", "down")
    web.set_state("trunk-b", "down")
    web.set_state("crm", "degraded")
    web.set_state("identity", "maintenance")
    web.set_state("leeds-power", "up")
    page = (await client.get("/")).text
    assert re.search(r'class="node kind-component tone-down"[^>]*data-id="component:trunk-a"', page)
    assert re.search(r'class="node kind-component tone-degraded"[^>]*data-id="component:crm"', page)
    assert re.search(r'tone-maintenance"[^>]*data-id="component:identity"', page)
    assert re.search(r'class="node kind-component tone-up"[^>]*data-id="component:leeds-power"', page)
    # The SBC is not down itself, but nothing reaches it: marked as impacted.
    assert re.search(r'tone-unknown impacted"[^>]*data-id="component:sbc"', page)
    assert re.search(r'class="node kind-queue tone-down"[^>]*data-id="queue:emergency"', page)
    assert "0 / 3" in page  # queues answered


async def test_an_agent_sees_the_map_but_not_the_audit(web: Web, client: httpx.AsyncClient) -> None:
    await log_in_form(client, Role.AGENT)
    page = (await client.get("/")).text
    assert "<svg" in page
    assert "does not include the plan audit" in page


async def test_without_a_plan_the_page_shows_the_plan_files_problems(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    broken = tmp_path / "plan.yaml"
    broken.write_text("organisation:\n  name: X\n  timezone: Mars/Olympus\n", encoding="utf-8")
    web = make_web(session_factory, tmp_path, with_plan=False, plan_path=broken)
    async with web.client() as c:
        await log_in_form(c, Role.ADMIN)
        page = await c.get("/")
    assert page.status_code == 200
    assert "No plan is loaded yet" in page.text
    assert f"{broken}:3:" in page.text
    assert "Mars/Olympus" in html.unescape(page.text)


async def test_errors_are_friendly_pages(web: Web, client: httpx.AsyncClient) -> None:
    missing = await client.get("/no-such-page")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert "Not found" in missing.text and "Traceback" not in missing.text


async def test_an_unexpected_failure_is_a_friendly_500_page(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("standby.web.pages.overview.layout_plan", explode)
    async with web.client(raise_errors=False) as c:
        await log_in_form(c, Role.ADMIN)
        page = await c.get("/")
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "secret internals" not in page.text


async def test_static_files_are_served(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/standby.css")
    assert css.status_code == 200
    assert "svg.map" in css.text


# --- standby serve, for real -------------------------------------------------------------

SERVE_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    """`standby serve` on a free port with a fresh data directory; always stopped afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "STANDBY_DATA_DIR": str(tmp_path / "data"),
        "STANDBY_ADMIN_PASSWORD": PASSWORD,
        "STANDBY_HOST": "127.0.0.1",
        "STANDBY_PORT": str(port),
        "STANDBY_FORECAST_CPU": "1",  # a whole core: its first forecast comes quickly on a busy machine
    }
    for name in ("STANDBY_DATABASE_URL", "STANDBY_PLAN", "STANDBY_PUBLIC_URL", "STANDBY_SECRET_KEY"):
        env.pop(name, None)
    log = tmp_path / "serve.log"
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", "from standby.cli import main; main()", "serve"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield f"http://127.0.0.1:{port}", process, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def wait_for_health(base: str, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"standby serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"standby serve did not answer /healthz in {SERVE_TIMEOUT_S} s:\n{log.read_text()}")


def test_standby_serve_runs_for_real(served: tuple[str, subprocess.Popen[str], Path], tmp_path: Path) -> None:
    base, process, log = served
    wait_for_health(base, process, log)
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/").status_code == 303
        login = http.post(
            "/login",
            data={"username": "admin", "password": PASSWORD, "next": "/"},
            headers={"Origin": base},
        )
        assert login.status_code == 303
        page = http.get("/")
        assert page.status_code == 200
        assert "Northwind Energy Customer Care" in page.text
        assert 'data-id="component:acd"' in page.text
        components = http.get("/api/v1/components").json()
        assert len(components["components"]) == 12
        counts = components["counts"]
        # Each component in one state; "unavailable" counts them again (the worker may
        # already have found some down).
        assert sum(n for state, n in counts.items() if state != "unavailable") == 12
        assert counts["unavailable"] == sum(not c["available"] for c in components["components"])
        # The worker runs inside serve: nothing listens where the reference plan's probes
        # point, so it finds failures and opens outages by itself.
        deadline = time.monotonic() + 40
        while not (outages := http.get("/api/v1/outages").json()["outages"]):
            assert time.monotonic() < deadline, "the worker opened no outage"
            time.sleep(0.5)
        assert all(o["causes"] for o in outages)
        # The forecaster runs beside it, in a process of its own: each incident the worker
        # opens gets a forecast (or, outside the plan's day, the reason there is none).
        while not (incidents := http.get("/api/v1/incidents").json()["incidents"]):
            assert time.monotonic() < deadline + 20, "the worker opened no incident"
            time.sleep(0.5)
        url = f"/api/v1/incidents/{incidents[0]['id']}/forecast"
        while (forecast := http.get(url).json())["as_of"] is None:
            assert time.monotonic() < deadline + 40, "the forecaster kept no forecast"
            time.sleep(0.5)
        assert forecast["reason"] and (forecast["options"] or forecast["unavailable"])
    process.send_signal(signal.SIGTERM)
    # uvicorn shuts down cleanly, then re-raises the signal so the parent sees why it ended.
    assert process.wait(timeout=15) in (0, -signal.SIGTERM)
    output = log.read_text(encoding="utf-8")
    assert "Application shutdown complete" in output
    assert "wrote the reference plan" in output
    assert "version 1 (a new version)" in output
    assert f"Open {base}/" in output
    assert "The worker runs in this process" in output
    forecaster = re.search(r"The forecaster runs in process (\d+)", output)
    assert forecaster is not None, output
    with pytest.raises(ProcessLookupError):  # stopped with the server
        os.kill(int(forecaster.group(1)), 0)
    assert PASSWORD not in output  # chosen by the operator: never echoed
    assert (tmp_path / "data" / "plan.yaml").exists()


def test_standby_serve_refuses_an_invalid_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("organisation:\n  name: X\n  timezone: Mars/Olympus\n", encoding="utf-8")
    env = {**os.environ, "STANDBY_DATA_DIR": str(tmp_path / "data")}
    env.pop("STANDBY_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "from standby.cli import main; main()", "serve", "--plan", str(plan)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SERVE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 2
    assert f"{plan}:3:13:" in done.stderr
    assert not (tmp_path / "data" / "standby.db").exists()  # refused before touching anything
