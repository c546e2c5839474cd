"""The status page's "call me back" form, on SQLite and PostgreSQL: asked for in Chromium (no script,
390 px) while a line is down, its SMS queued; booked once per number and outage with the same answer;
placed after recovery by the placement rules and never counted as missed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from _browser import PHONE, WAIT_MS, Server, chromium, fits, watched
from _status import ivr_back, ivr_down, refresh
from _web import Web, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.store.engine import unit_of_work
from standby.store.tables import CallbackEventRow, CallbackRow, MessageRow

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["chromium"]


def callbacks(web: Web) -> list[CallbackRow]:
    with unit_of_work(web.factory) as session:
        rows = list(session.scalars(select(CallbackRow).order_by(CallbackRow.id)))
        session.expunge_all()
    return rows


def texts_to(web: Web, phone: str) -> list[str]:
    with unit_of_work(web.factory) as session:
        return list(
            session.scalars(
                select(MessageRow.body).where(MessageRow.recipient == phone).order_by(MessageRow.id)
            )
        )


def ask(page: Page, base: str, phone: str) -> str:
    page.goto(f"{base}/status", timeout=WAIT_MS)
    page.select_option("#cb-service", label="Billing and payments")
    page.fill("#cb-name", "Ann Jones")
    page.fill("#cb-phone", phone)
    page.check("input[name=vulnerable]")
    page.click("#callback button[type=submit]")
    page.wait_for_url("**/status/callback", timeout=WAIT_MS)
    return page.locator("main").inner_text()


def test_a_callback_asked_for_in_the_browser_while_a_line_is_down(
    chromium: Browser, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = make_web(session_factory, tmp_path, secret_key="k" * 40)
    with Server(web.app) as server:
        context = chromium.new_context(
            viewport={"width": PHONE["width"], "height": PHONE["height"]}, has_touch=True,
            java_script_enabled=False,
        )
        page, problems = watched(context)
        try:
            page.goto(f"{server.base}/status", timeout=WAIT_MS)
            assert page.locator("#callback").count() == 0  # every line answering: no form
            incident_id = ivr_down(web, tmp_path)
            refresh(web, served=True)
            page.reload(timeout=WAIT_MS)
            fits(page)
            options = page.locator("#cb-service option").all_inner_texts()
            assert options == ["Billing and payments", "Moving home (sales)"]
            first = ask(page, server.base, "+44 7700 900123")
            assert "We will call you back" in first and "ending 123" in first
            assert "Ann Jones" not in first and "7700 900123" not in first
            fits(page)
            again = ask(page, server.base, "07700900123")  # read with the plan's country: the same number
            assert again == first
            assert problems == []
        finally:
            context.close()

    (booked,) = callbacks(web)
    assert (booked.state, booked.source, booked.queue) == ("requested", "status_page", "billing")
    assert booked.vulnerable and booked.outage_id is not None and not booked.missed
    assert texts_to(web, "+447700900123") == [
        "Northwind Energy Customer Care: we will call you back on this number once the line is working"
        " again. We will text you the time first."
    ]

    ivr_back(web, tmp_path, incident_id)  # the response pass after recovery places it
    (placed,) = callbacks(web)
    assert placed.state == "scheduled" and not placed.missed and placed.window_end is not None
    assert placed.due_at >= web.clock.now()  # after recovery
    texts = texts_to(web, "+447700900123")
    assert len(texts) == 2
    assert texts[1].startswith("Northwind Energy Customer Care: we will call you back between")
    with unit_of_work(web.factory) as session:
        kinds = list(
            session.scalars(
                select(CallbackEventRow.kind).where(CallbackEventRow.callback_id == placed.id).order_by(
                    CallbackEventRow.id
                )
            )
        )
    assert kinds == ["requested", "placed"]
