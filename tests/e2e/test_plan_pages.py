"""The plan pages over HTTP, on SQLite and PostgreSQL: the version in force, the versions a page at a
time, the audit by severity, one version's text, two versions compared in words and as a diff, loading
a plan from the page (refusals shown with line and column, the text kept), role refusals and bad ids."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import pytest
from _web import BASE, T0, Web, client, log_in, web

from standby.access.roles import Role
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import record_plan, source_sha256
from standby.store.engine import unit_of_work

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

SAME_ORIGIN = {"Origin": BASE}
BILLING_AHT = "    aht_s: 420\n"


def billing_slower() -> str:
    """The reference plan with billing's handling time raised from 420 to 480 seconds."""
    text = reference_plan_text()
    assert text.count(BILLING_AHT) == 1
    return text.replace(BILLING_AHT, "    aht_s: 480\n")


def record(web: Web, text: str, minutes: float, by: str = "amara") -> int:
    """Record `text` as the version in force, loaded `minutes` after T0."""
    with unit_of_work(web.factory) as session:
        info = record_plan(
            session, plan=load_plan_text(text), source=text, now=T0 + timedelta(minutes=minutes), loaded_by=by
        )
    return info.id


def text_of(page: httpx.Response) -> str:
    """The page's text without tags, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))


async def test_the_plan_page_shows_the_version_in_force_the_versions_and_the_audit(
    web: Web, client: httpx.AsyncClient
) -> None:
    second = record(web, billing_slower(), 30)
    await log_in(client, Role.VIEWER)
    page = await client.get("/plan")
    assert page.status_code == 200, page.text
    words = text_of(page)
    # In force: version 2, loaded 10:00 London time (09:30 UTC + 30 min = 11:00 BST), by amara, its sha.
    assert f"Version {second}" in words and "Mon 15 Jun 11:00 (Europe/London) by amara" in words
    assert source_sha256(billing_slower()) in page.text
    rows = re.findall(r'<tr id="version-(\d+)">', page.text)
    assert rows == [str(second), "1"]  # newest first
    assert f'href="/plan/diff?from=1&amp;to={second}"' in page.text
    # The audit, grouped by severity, with what each finding means.
    assert re.search(r'id="audit-high">High \(\d+\)', page.text)
    assert "Single point of failure" in words or "single-point-of-failure" in words
    assert "nothing stands in for it, so one fault is an outage" in words
    # A viewer may not load a plan: no form to do it.
    assert 'action="/plan"' not in page.text
    # The navigation bar marks the page.
    assert '<a href="/plan" aria-current="page">Plan</a>' in page.text


async def test_versions_are_paged_newest_first(web: Web, client: httpx.AsyncClient) -> None:
    text = reference_plan_text()
    ids = [record(web, f"{text}\n# revision {n}\n", n) for n in range(1, 25)]  # 25 versions in all
    await log_in(client, Role.MANAGER)
    first = await client.get("/plan")
    shown = [int(v) for v in re.findall(r'<tr id="version-(\d+)">', first.text)]
    assert shown == sorted(ids, reverse=True)[:20]
    older = re.search(r'href="/plan\?before=(\d+)#versions" id="older-versions"', first.text)
    assert older is not None and int(older.group(1)) == shown[-1]
    second = await client.get(f"/plan?before={older.group(1)}")
    rest = [int(v) for v in re.findall(r'<tr id="version-(\d+)">', second.text)]
    assert rest == [*sorted(ids, reverse=True)[20:], 1]
    assert 'id="older-versions"' not in second.text


async def test_two_versions_compared_name_the_changed_queue_in_words(
    web: Web, client: httpx.AsyncClient
) -> None:
    second = record(web, billing_slower(), 30)
    await log_in(client, Role.RESPONDER)
    page = await client.get(f"/plan/diff?from=1&to={second}")
    assert page.status_code == 200, page.text
    words = text_of(page)
    assert "Queues: 1 changed" in words
    assert "Billing and payments (billing) aht_s from 420 to 480" in words
    assert "Components:" not in words  # nothing else changed
    assert '<span class="del">-    aht_s: 420\n</span><span class="add">+    aht_s: 480\n</span>' in page.text
    same = await client.get("/plan/diff?from=1&to=1")
    assert "The two versions are the same text." in text_of(same)


async def test_one_version_shows_its_yaml_as_loaded(web: Web, client: httpx.AsyncClient) -> None:
    second = record(web, billing_slower(), 30)
    await log_in(client, Role.VIEWER)
    page = await client.get("/plan/versions/1")
    assert page.status_code == 200, page.text
    source = re.search(r'<pre class="source" id="source">(.*?)</pre>', page.text, flags=re.DOTALL)
    assert source is not None and html.unescape(source.group(1)) == reference_plan_text()
    assert f'href="/plan/diff?from=1&amp;to={second}" id="changes-to-in-force"' in page.text
    newer = await client.get(f"/plan/versions/{second}")
    assert 'href="/plan/diff?from=1&amp;to=2" id="changes-from-previous"' in newer.text
    assert "in force" in text_of(newer)


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/plan/versions/abc", 400, "version: 'abc' is not a plan version number"),
        ("/plan/versions/0", 400, "version: '0' is not a plan version number"),
        ("/plan/versions/99", 404, "there is no plan version 99; /plan lists the versions"),
        ("/plan/diff?from=1", 400, "to: choose a plan version"),
        ("/plan/diff?from=x&to=1", 400, "from: 'x' is not a plan version number"),
        ("/plan/diff?from=1&to=99", 404, "to: there is no plan version 99"),
        ("/plan?before=-3", 400, "before: '-3' is not a plan version number"),
    ],
)
async def test_bad_or_unknown_ids_are_pages_with_the_reason(
    client: httpx.AsyncClient, path: str, status: int, reason: str
) -> None:
    await log_in(client, Role.VIEWER)
    page = await client.get(path)
    assert page.status_code == status, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert reason.lower() in html.unescape(page.text).lower()


async def test_an_agent_is_refused_and_not_shown_the_pages(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.AGENT)
    for path in ("/plan", "/plan/versions/1", "/plan/diff?from=1&to=1", "/impact"):
        page = await client.get(path)
        assert page.status_code == 403, path
        assert "read_plan" in page.text
    outcomes = await client.get("/outcomes")
    assert outcomes.status_code == 200
    assert 'href="/plan"' not in outcomes.text and 'href="/impact"' not in outcomes.text


async def test_a_manager_loads_a_plan_from_the_page_and_a_bad_one_is_shown_with_its_line(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.MANAGER)
    page = await client.get("/plan")
    assert 'action="/plan" enctype="multipart/form-data"' in page.text
    broken = reference_plan_text().replace("  timezone: Europe/London", "  timezone: Europe/Atlantis", 1)
    refused = await client.post("/plan", data={"yaml": broken}, headers=SAME_ORIGIN)
    assert refused.status_code == 400, refused.text
    problem = re.search(r"<code>line (\d+), column (\d+)</code> ([^<]*Atlantis[^<]*)", refused.text)
    assert problem is not None, text_of(refused)
    assert int(problem.group(1)) == broken.splitlines().index("  timezone: Europe/Atlantis") + 1
    kept = re.search(r'<textarea id="plan-yaml" name="yaml"[^>]*>(.*?)</textarea>', refused.text, re.DOTALL)
    assert kept is not None and html.unescape(kept.group(1)) == broken
    not_yaml = await client.post("/plan", data={"yaml": "queues: [\n"}, headers=SAME_ORIGIN)
    assert not_yaml.status_code == 400 and re.search(r"<code>line \d+, column \d+</code>", not_yaml.text)
    empty = await client.post("/plan", data={"yaml": "  "}, headers=SAME_ORIGIN)
    assert empty.status_code == 400 and "paste the plan" in empty.text

    upload = await client.post(
        "/plan",
        files={"file": ("plan.yaml", billing_slower().encode(), "text/yaml")},
        data={"yaml": ""},
        headers=SAME_ORIGIN,
    )
    assert upload.status_code == 303, upload.text
    assert upload.headers["location"] == "/plan?loaded=2&new=1"
    shown = await client.get(upload.headers["location"])
    assert "The plan is loaded: version 2 is in force." in shown.text
    versions = await client.get("/api/v1/plan/versions", headers=web.bearer(Role.VIEWER))
    newest = versions.json()["versions"][0]
    assert (newest["id"], newest["loaded_by"]) == (2, "manager")
    again = await client.post("/plan", data={"yaml": billing_slower()}, headers=SAME_ORIGIN)
    assert again.headers["location"] == "/plan?loaded=2&new=0"
    same = await client.get(again.headers["location"])
    assert "already in force (version 2): nothing changed" in same.text


async def test_loading_is_refused_to_a_viewer_and_from_another_site(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.VIEWER)
    viewer = await client.post("/plan", data={"yaml": billing_slower()}, headers=SAME_ORIGIN)
    assert viewer.status_code == 403 and "load_plan" in viewer.text
    await log_in(client, Role.ADMIN)
    forged = await client.post(
        "/plan", data={"yaml": billing_slower()}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    versions = await client.get("/api/v1/plan/versions", headers=web.bearer(Role.VIEWER))
    assert [v["id"] for v in versions.json()["versions"]] == [1]
