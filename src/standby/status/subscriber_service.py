"""Subscribing to the status page: sign-up, double opt-in, one-step unsubscribe.

A service: it never commits. Nothing here ever tells the caller whether an address was
subscribed already: `sign_up` does the same visible thing for a new address, a pending
one, a confirmed one and an unsubscribed one (it sends one confirmation, and changes
nothing in force until that confirmation's link is followed). The only message sent
before a confirmation is the confirmation itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.customers.phones import customer_phone
from standby.errors import InvalidInput, StandbyError
from standby.notify import validate
from standby.notify.outbox import put_many
from standby.status.announcements import Subscriber, confirmation_for
from standby.status.subscription_links import (
    confirm_token,
    new_nonce,
    new_token,
    plausible_token,
    read_confirm_token,
)
from standby.store.tables import StatusSubscriberRow

CONFIRM_WITHIN = timedelta(days=7)
"""A confirmation link works this long after it was sent."""
MIN_SECRET = 16
MAX_SECRET = 200


class StaleLink(StandbyError):
    """A genuine confirmation link that was already followed, replaced by a newer one, or is too old."""


@dataclass(frozen=True)
class SignUp:
    """What a sign-up asks for, checked."""

    channel: str
    address: str
    services: tuple[str, ...]
    secret: str | None = None


def checked_sign_up(
    *,
    email: str | None,
    phone: str | None,
    webhook_url: str | None,
    secret: str | None,
    services: Sequence[str],
    known_services: Sequence[str],
    country: str | None = None,
) -> SignUp:
    """The sign-up from the form's fields; InvalidInput names the field that is wrong."""
    fields = (("email", email), ("phone", phone), ("webhook_url", webhook_url))
    given = [(n, v.strip()) for n, v in fields if v and v.strip()]
    if len(given) != 1:
        raise InvalidInput("give one of: email, phone (an SMS number) or webhook_url")
    name, value = given[0]
    unknown = [s for s in services if s not in known_services]
    if unknown:
        raise InvalidInput(f"services: no public service {unknown[0]!r} (use {', '.join(known_services)})")
    wanted = tuple(s for s in known_services if s in set(services))
    if name == "email":
        return SignUp("email", validate.email_address(value).lower(), wanted)
    if name == "phone":
        return SignUp("sms", customer_phone(value, country=country), wanted)
    key = (secret or "").strip()
    if not MIN_SECRET <= len(key) <= MAX_SECRET or not key.isascii() or any(c.isspace() for c in key):
        raise InvalidInput(
            f"secret: a webhook needs a secret of {MIN_SECRET} to {MAX_SECRET} visible ASCII characters"
            " (its messages are signed with it)"
        )
    return SignUp("webhook", validate.webhook_url(value), wanted, key)


def sign_up(
    session: Session, request: SignUp, *, link_secret: str, base_url: str, organisation: str, now: datetime
) -> None:
    """Ask `request`'s address to confirm: one confirmation in the outbox, nothing else in force."""
    row = session.scalars(
        select(StatusSubscriberRow).where(
            StatusSubscriberRow.channel == request.channel, StatusSubscriberRow.address == request.address
        )
    ).first()
    nonce = new_nonce()
    if row is None:
        row = StatusSubscriberRow(
            channel=request.channel, address=request.address, state="pending", services=[],
            secret=None, token=new_token(), created_at=now,
        )
        session.add(row)
    row.confirm_nonce, row.confirm_sent_at = nonce, now
    row.requested_services, row.requested_secret = list(request.services), request.secret
    row.updated_at = now
    session.flush()
    token = confirm_token(link_secret, subscriber_id=row.id, nonce=nonce)
    link = f"{base_url}/status/subscriptions/confirm/{token}"
    asking = Subscriber(row.id, row.channel, row.address, request.services, row.token, request.secret)
    put_many(session, [confirmation_for(asking, nonce=nonce, link=link, organisation=organisation)], now=now)


def confirm(session: Session, *, token: str, link_secret: str, now: datetime) -> str:
    """Follow a confirmation link: the subscription in force; its channel.

    ForgedLink (InvalidInput) when Standby did not make the link; StaleLink when it was
    already followed, a newer one was sent since, or it is older than CONFIRM_WITHIN.
    """
    claim = read_confirm_token(link_secret, token)
    row = session.get(StatusSubscriberRow, claim.subscriber_id, with_for_update=True)
    stale = "this confirmation link was already used or has expired: sign up again for a new one"
    if row is None or row.confirm_nonce != claim.nonce or row.confirm_sent_at is None:
        raise StaleLink(stale)
    if now - row.confirm_sent_at > CONFIRM_WITHIN:
        raise StaleLink(stale)
    row.state, row.confirm_nonce = "confirmed", None
    row.services, row.secret = list(row.requested_services), row.requested_secret
    row.confirmed_at, row.unsubscribed_at, row.updated_at = now, None, now
    return row.channel


def unsubscribe(session: Session, *, token: str, now: datetime) -> bool:
    """Stop every message to the subscriber with this unsubscribe token; False for no such token."""
    if not plausible_token(token):
        return False
    row = session.scalars(select(StatusSubscriberRow).where(StatusSubscriberRow.token == token)).first()
    if row is None:
        return False
    if row.state != "unsubscribed":
        row.state, row.unsubscribed_at, row.updated_at = "unsubscribed", now, now
    row.confirm_nonce = None  # a confirmation still on its way no longer subscribes them again
    return True


def confirmed_subscribers(session: Session) -> list[Subscriber]:
    """Everyone to tell of a notice now."""
    rows = session.execute(
        select(
            StatusSubscriberRow.id, StatusSubscriberRow.channel, StatusSubscriberRow.address,
            StatusSubscriberRow.services, StatusSubscriberRow.token, StatusSubscriberRow.secret,
        )
        .where(StatusSubscriberRow.state == "confirmed")
        .order_by(StatusSubscriberRow.id)
    )
    return [Subscriber(r.id, r.channel, r.address, tuple(r.services or ()), r.token, r.secret) for r in rows]
