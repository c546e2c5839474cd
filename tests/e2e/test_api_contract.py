"""The whole HTTP API keeps its OpenAPI contract, on SQLite and PostgreSQL.

Schemathesis (a separate process, as an integrator would run it) reads /openapi.json from
a real server on 127.0.0.1 and drives every operation, state-changing ones too, as an
admin: valid and invalid values, boundaries (ids past 2^31 and 2^63), and sequences of
calls. Every answer must be one the document declares, with the declared body: no 5xx,
no undeclared status, no body off its schema, no invalid input accepted. The run is
bounded (a few examples per operation, a fixed seed).
"""

from __future__ import annotations

import os
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
from _web import seed_plan, seed_users
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.clock import SystemClock
from standby.config import Settings
from standby.web.app import create_app

HERE = Path(__file__).parent
RUN_TIMEOUT_S = 240  # a hang fails the test; the run itself takes well under a minute
EXAMPLES_PER_OPERATION = 4


class Served:
    """The app under uvicorn on a free port of 127.0.0.1, in a thread of this process."""

    def __init__(self, app: object) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="critical", access_log=False  # type: ignore[arg-type]
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
        yield server, tokens[Role.ADMIN]


def test_every_operation_answers_only_what_the_document_declares(
    served: tuple[Served, str], tmp_path: Path
) -> None:
    server, token = served
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "_contract.toml"), "--no-color",
        "run", f"{server.base}/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--seed", "20260615",
        "--generation-deterministic",
        "--workers", "1",
        "--request-timeout", "20",
        "--report", "junit",
        "--report-junit-path", str(tmp_path / "contract.xml"),
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
    assert done.returncode == 0, report[-20_000:]
    assert "Tested: " in report
    # Every operation was driven, and the run's own token stayed valid to the end.
    operations = len(httpx.get(f"{server.base}/openapi.json").json()["paths"])
    assert operations > 50
    assert "only 401/403 responses" not in report, report[-5_000:]
    me = httpx.get(f"{server.base}/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
