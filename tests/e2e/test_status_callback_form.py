"""The status page's "call me back" form over HTTP, on SQLite and PostgreSQL: cross-site posts, bad
numbers, names and lines, lines that answer, and floods refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from _status import ivr_down, refresh
from _web import make_web
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.store.engine import unit_of_work
from standby.store.tables import CallbackRow


@pytest.mark.anyio
async def test_the_callback_form_refuses_what_it_should(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path, secret_key="k" * 40)

    async def post(form: dict[str, str], ip: str = "192.0.2.1", **headers: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=web.app, client=(ip, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(
                "/status/callback", data=form, headers={"Origin": "http://testserver", **headers}
            )

    form = {"service": "billing", "name": "Ann", "phone": "+447700900123"}
    refresh(web)
    up = await post(form)
    assert up.status_code == 409 and "is answering" in up.text
    ivr_down(web, tmp_path)
    refresh(web)
    assert (await post(form, **{"Sec-Fetch-Site": "cross-site"})).status_code == 403
    bad = await post({**form, "phone": "12"})
    assert bad.status_code == 400 and "phone" in bad.text
    assert (await post({**form, "name": " "})).status_code == 400
    assert (await post({**form, "service": "nope"})).status_code == 400
    assert (await post({**form, "service": "emergency"})).status_code == 409  # the gas line answers
    answers = [
        (await post({**form, "phone": f"+4477009002{n:02d}"}, ip="198.51.100.9")).status_code
        for n in range(6)
    ]
    assert answers == [202] * 5 + [429]
    with unit_of_work(web.factory) as session:
        assert session.scalar(select(func.count()).select_from(CallbackRow)) == 5
