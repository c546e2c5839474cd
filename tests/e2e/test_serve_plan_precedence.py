"""`standby serve` restarted after an upload: the upload made after the file changed stays in force.

Seen: a restart silently replaced a plan uploaded through the API with the older file
given with --plan.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from _web import PASSWORD
from test_web import free_port, wait_for_health

from standby.plan.loading import reference_plan_text

UPLOADED = reference_plan_text().replace("seats: 140", "seats: 200")


@contextmanager
def serving(tmp_path: Path, plan: Path, log: Path) -> Iterator[str]:
    """`standby serve --plan PLAN --no-worker` on a free port and the shared data directory."""
    port = free_port()
    env = {
        **os.environ,
        "STANDBY_DATA_DIR": str(tmp_path / "data"),
        "STANDBY_ADMIN_PASSWORD": PASSWORD,
        "STANDBY_HOST": "127.0.0.1",
        "STANDBY_PORT": str(port),
    }
    for name in ("STANDBY_DATABASE_URL", "STANDBY_PLAN", "STANDBY_PUBLIC_URL", "STANDBY_SECRET_KEY"):
        env.pop(name, None)
    command = ["serve", "--plan", str(plan), "--no-worker"]
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", "from standby.cli import main; main()", *command],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process, log)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def admin(base: str) -> Iterator[httpx.Client]:
    """A client logged in as the administrator."""
    with httpx.Client(base_url=base, timeout=20, headers={"Origin": base}) as http:
        login = http.post("/api/v1/session", json={"username": "admin", "password": PASSWORD})
        assert login.status_code == 200, login.text
        yield http


def test_a_restart_keeps_the_plan_uploaded_after_the_file_changed(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(reference_plan_text(), encoding="utf-8")
    with serving(tmp_path, plan, tmp_path / "first.log") as base, admin(base) as http:
        loaded = http.post("/api/v1/plan", content=UPLOADED, headers={"Content-Type": "text/yaml"})
        assert loaded.status_code == 201, loaded.text
        uploaded = loaded.json()["version"]["id"]
    with serving(tmp_path, plan, tmp_path / "second.log") as base, admin(base) as http:
        body = http.get("/api/v1/plan").json()
        versions = http.get("/api/v1/plan/versions").json()["versions"]
        page = http.get("/")
    assert (body["version"]["id"], body["plan"]["sites"][0]["seats"]) == (uploaded, 200)
    assert len(versions) == 2  # the file's text is kept as version 1
    assert body["plan_file"]["in_force"] is False
    assert f"differs from version {uploaded} in force" in body["plan_file"]["note"]
    assert "The plan file is not the version in force." in page.text
    said = (tmp_path / "second.log").read_text(encoding="utf-8")
    assert f"differs from version {uploaded} in force" in said
