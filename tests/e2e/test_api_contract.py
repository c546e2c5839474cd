"""The whole HTTP API keeps its OpenAPI contract, on SQLite and PostgreSQL.

Schemathesis (a separate process, as an integrator would run it) reads /openapi.json from
a real server on 127.0.0.1 and drives every operation, state-changing ones too, as an
admin: valid and invalid values, boundaries (ids past 2^31 and 2^63), and sequences of
calls. Every answer must be one the document declares, with the declared body: no 5xx,
no undeclared status, no body off its schema, no invalid input accepted. The run is
bounded (a few examples per operation, a fixed seed).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from _web import Web, client, seed_plan, seed_users, web
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.clock import SystemClock
from standby.config import Settings
from standby.web.app import create_app

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]

HERE = Path(__file__).parent
RUN_TIMEOUT_S = 300  # a hang fails the test; the run itself takes under a minute
EXAMPLES_PER_OPERATION = 3


class Served:
    """The app under uvicorn on a free port of 127.0.0.1, in a thread of this process."""

    def __init__(self, app: object) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="critical",
            access_log=False,  # type: ignore[arg-type]
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> Served:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


@pytest.fixture
def served(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[tuple[Served, str]]:
    """Standby with the reference plan and a user and token per role; the admin's token."""
    tokens = seed_users(session_factory)
    seed_plan(session_factory)
    settings = Settings(database_url="sqlite://", data_dir=tmp_path)
    app = create_app(settings, clock=SystemClock(), session_factory=session_factory)
    with Served(app) as server:
        # The document is built on its first request (about 0.5 s of CPU, many more on a loaded
        # machine): built here, so schemathesis's 10-second read timeout never meets it.
        assert httpx.get(f"{server.base}/openapi.json", timeout=120).status_code == 200
        yield server, tokens[Role.ADMIN]


def test_every_operation_answers_only_what_the_document_declares(
    served: tuple[Served, str], tmp_path: Path
) -> None:
    server, token = served
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(HERE / "_contract.toml"),
        "--no-color",
        "run",
        f"{server.base}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20260615",
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-junit-path",
        str(tmp_path / "contract.xml"),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HERE / "_contract_hooks.py"),
        "STANDBY_CONTRACT_TOKEN_NAME": f"{Role.ADMIN.value}-token",
    }
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    report = done.stdout + done.stderr
    (tmp_path / "contract.txt").write_text(report, encoding="utf-8")
    assert done.returncode == 0, report[-20_000:]
    assert "Tested: " in report
    # Every operation was driven, and the run's own token stayed valid to the end.
    operations = len(httpx.get(f"{server.base}/openapi.json").json()["paths"])
    assert operations > 50
    assert "only 401/403 responses" not in report, report[-5_000:]
    me = httpx.get(f"{server.base}/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text


# -- the same promises, one by one, in-process ------------------------------------------

PAST_INTEGER = ["2147483648", "9223372036854775807", "9223372036854775808", "99999999999999999999999"]
PAST_BIGINT = ["9223372036854775808", "99999999999999999999999"]


@pytest.mark.parametrize("number", PAST_INTEGER)
async def test_an_id_past_its_column_is_refused_with_the_declared_body(web: Web, number: str) -> None:
    requests = [
        ("GET", f"/api/v1/outages/{number}"),
        ("GET", f"/api/v1/incidents/{number}"),
        ("POST", f"/api/v1/compensation/{number}/accept"),
        ("GET", f"/api/v1/callbacks?after={number}"),
        ("GET", f"/api/v1/maintenance/api:{number}"),
    ]
    if number in PAST_BIGINT:
        requests += [("GET", f"/api/v1/outcomes?before={number}"), ("GET", f"/api/v1/notifications/{number}")]
    async with web.client() as client:
        for method, path in requests:
            response = await client.request(method, path, headers=web.bearer(Role.ADMIN))
            assert response.status_code in (404, 422), (path, response.text)
            assert set(response.json()) == {"detail"}, (path, response.text)


async def test_a_feed_id_may_be_a_bigint(web: Web) -> None:
    async with web.client() as client:
        response = await client.get(
            "/api/v1/notifications/9223372036854775807", headers=web.bearer(Role.ADMIN)
        )
    assert response.status_code == 404, response.text  # searched for, not refused


async def test_the_document_declares_errors_statuses_and_doors(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie" and schemes["session"]["name"] == "standby_session"
    assert "HTTPValidationError" not in json.dumps(document)
    outage = document["paths"]["/api/v1/outages/{outage_id}"]["get"]
    assert {"bearer": []} in outage["security"] and {"session": []} in outage["security"]
    assert {"400", "401", "403", "404", "409", "422", "503"} <= set(outage["responses"])
    error = {"$ref": "#/components/schemas/ErrorBody"}
    assert outage["responses"]["401"]["content"]["application/json"]["schema"] == error
    assert outage["parameters"][0]["schema"]["maximum"] == 2**31 - 1
    login = document["paths"]["/api/v1/session"]["post"]
    assert "security" not in login and "403" not in login["responses"]


async def test_a_wrong_method_names_every_method_the_path_takes(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/maintenance")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json() == {"detail": "Method Not Allowed"}


async def test_the_api_reference_is_served_whole_by_standby(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "/docs/assets/swagger-ui-bundle.js" in html and "/static/reference.js" in html
    # Nothing from another host: every src and href is a path on this server.
    for reference in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert reference.startswith("/") and not reference.startswith("//"), reference
    for asset, kind in (("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css")):
        served = await client.get(f"/docs/assets/{asset}")
        assert served.status_code == 200 and served.headers["content-type"].startswith(kind)
        assert len(served.content) > 10_000
    starter = await client.get("/static/reference.js")
    assert starter.status_code == 200 and "SwaggerUIBundle" in starter.text
    assert "http" not in starter.text.replace("openapi", "")
    assert (await client.get("/docs/assets/../../pyproject.toml")).status_code == 404
    assert (await client.get("/docs/assets/redoc.standalone.js")).status_code == 404
