"""/api/v1/erlang and /api/v1/staff over HTTP, on SQLite and PostgreSQL: doors, answers, bad values."""

from __future__ import annotations

import httpx
import pytest
from _web import Web, client, log_in, web

from standby.access.roles import Role
from standby.impact.erlang import Traffic, erlang_a

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

CLASSIC = "calls=100&interval_minutes=30&aht_s=180&answer_within_s=20"


async def test_every_logged_in_role_may_ask_and_nobody_else(web: Web, client: httpx.AsyncClient) -> None:
    for path in (f"/api/v1/erlang?{CLASSIC}&agents=14", f"/api/v1/staff?{CLASSIC}&target=0.8"):
        assert (await client.get(path)).status_code == 401
        for role in Role:
            response = await client.get(path, headers=web.bearer(role))
            assert response.status_code == 200, (role, response.text)


async def test_erlang_c_by_query(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.AGENT)  # a browser session works as well as a token
    response = await client.get(f"/api/v1/erlang?{CLASSIC}&agents=14")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "erlang-c" and body["agents"] == 14
    assert body["offered_load_erlangs"] == pytest.approx(10.0)
    assert round(body["service_level"], 4) == 0.8884
    assert round(body["p_wait"], 4) == 0.1741
    assert round(body["asa_s"], 1) == 7.8
    assert body["p_abandon"] == 0.0 and body["patience_s"] is None


async def test_erlang_a_is_the_library_figure(web: Web, client: httpx.AsyncClient) -> None:
    path = f"/api/v1/erlang?{CLASSIC}&agents=9&patience_s=120"
    response = await client.get(path, headers=web.bearer(Role.VIEWER))
    assert response.status_code == 200, response.text
    traffic = Traffic.over_interval(
        calls=100, interval_minutes=30, aht_s=180, answer_within_s=20, patience_s=120
    )
    expected = erlang_a(traffic, 9).to_dict()
    assert response.json() == pytest.approx(expected)
    assert expected["model"] == "erlang-a" and expected["p_abandon"] > 0.05  # fewer agents than the load


async def test_staff_by_query(web: Web, client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/staff?{CLASSIC}&target=0.8", headers=web.bearer(Role.AGENT))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agents"] == 14 and body["limited_by"] == ["service level"]
    assert body["performance"]["agents"] == 14
    limited = await client.get(
        f"/api/v1/staff?{CLASSIC}&target=0.8&max_occupancy=0.6&patience_s=120&max_abandon=0.02",
        headers=web.bearer(Role.AGENT),
    )
    assert limited.status_code == 200, limited.text
    document = limited.json()
    assert document["performance"]["occupancy"] <= 0.6 and document["performance"]["p_abandon"] <= 0.02
    assert document["max_occupancy"] == 0.6 and document["max_abandon"] == 0.02


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (f"{CLASSIC}&agents=10", "At least 11 agents are needed"),
        (f"{CLASSIC}&agents=0", "agents"),
        (f"{CLASSIC}&agents=2.5", "agents"),
        ("calls=-1&interval_minutes=30&aht_s=180&answer_within_s=20&agents=14", "calls"),
        ("calls=100&interval_minutes=0&aht_s=180&answer_within_s=20&agents=14", "interval_minutes"),
        ("calls=100&interval_minutes=30&aht_s=abc&answer_within_s=20&agents=14", "aht_s"),
        ("calls=100&interval_minutes=30&aht_s=inf&answer_within_s=20&agents=14", "aht_s"),
        ("calls=100&interval_minutes=30&aht_s=nan&answer_within_s=20&agents=14", "aht_s"),
        ("calls=100&interval_minutes=30&aht_s=180&agents=14", "answer_within_s"),
        (f"{CLASSIC}&agents=14&patience_s=0", "patience_s"),
    ],
)
async def test_erlang_bad_values_are_422_and_say_which(
    web: Web, client: httpx.AsyncClient, query: str, says: str
) -> None:
    response = await client.get(f"/api/v1/erlang?{query}", headers=web.bearer(Role.VIEWER))
    assert response.status_code == 422, response.text
    assert says in str(response.json()["detail"])


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (f"{CLASSIC}&target=0", "target"),
        (f"{CLASSIC}&target=1.2", "target"),
        (CLASSIC, "target"),
        (f"{CLASSIC}&target=0.8&max_occupancy=1.5", "max_occupancy"),
        (f"{CLASSIC}&target=0.8&max_abandon=0.05", "max_abandon needs patience_s"),
        ("calls=1e12&interval_minutes=30&aht_s=180&answer_within_s=20&target=0.8", "offered load"),
    ],
)
async def test_staff_bad_values_are_422_and_say_which(
    web: Web, client: httpx.AsyncClient, query: str, says: str
) -> None:
    response = await client.get(f"/api/v1/staff?{query}", headers=web.bearer(Role.VIEWER))
    assert response.status_code == 422, response.text
    assert says in str(response.json()["detail"])
