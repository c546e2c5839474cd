"""The incident room's "Public status update" form, on SQLite and PostgreSQL: posted by a manager it is
on the timeline and on the public page; bad input is shown in the room; a viewer sees no form and a
forged post is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from _status import ivr_down, refresh
from _web import BASE, Web, client, log_in, web

from standby.access.roles import Role

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]
SAME_ORIGIN = {"Origin": BASE}


async def test_a_manager_posts_a_public_update_from_the_room(
    web: Web, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    incident_id = ivr_down(web, tmp_path)
    await log_in(client, Role.MANAGER)
    room = await client.get(f"/incidents/{incident_id}")
    assert 'id="public-update"' in room.text
    text = "Our phone menu is back for most callers; we are watching it closely."
    done = await client.post(
        f"/incidents/{incident_id}/status-update", data={"status": "monitoring", "text": text},
        headers=SAME_ORIGIN,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/incidents/{incident_id}?done=public#public-update"
    shown = await client.get(done.headers["location"])
    assert "Public update posted" in shown.text and text in shown.text
    refresh(web)
    page = await client.get(f"/status/incidents/{incident_id}")
    assert text in page.text and "Monitoring" in page.text

    for data, reason in (
        ({"status": "monitoring", "text": "  "}, "Text: the update is empty"),
        ({"status": "fixed", "text": "x"}, "Status: use one of investigating, identified,"),
    ):
        refused = await client.post(f"/incidents/{incident_id}/status-update", data=data, headers=SAME_ORIGIN)
        assert refused.status_code == 400 and reason in refused.text
    missing = await client.post(
        "/incidents/999/status-update", data={"status": "monitoring", "text": "x"}, headers=SAME_ORIGIN
    )
    assert missing.status_code == 404


async def test_a_viewer_sees_no_form_and_a_forged_post_is_refused(
    web: Web, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    incident_id = ivr_down(web, tmp_path)
    await log_in(client, Role.VIEWER)
    room = await client.get(f"/incidents/{incident_id}")
    assert room.status_code == 200 and 'id="public-update"' not in room.text
    forged = await client.post(
        f"/incidents/{incident_id}/status-update", data={"status": "resolved", "text": "All fine"},
        headers=SAME_ORIGIN,
    )
    assert forged.status_code == 403
    async with web.client() as manager:
        await log_in(manager, Role.MANAGER)
        cross = await manager.post(
            f"/incidents/{incident_id}/status-update", data={"status": "resolved", "text": "x"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
    assert cross.status_code == 403 and "another site" in cross.text
