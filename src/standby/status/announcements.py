"""What subscribers are told: each public notice once, as an email, an SMS or a signed webhook (pure).

An announcement is one incident update as the status page shows it, or one planned
maintenance as first announced. Each is told to each confirmed subscriber whose services
it touches, once: the outbox key is `status:{subscriber}:{announcement}`. Every message
carries the subscriber's one-step unsubscribe link (emails also in RFC 8058's
List-Unsubscribe headers, which the email channel writes from the payload).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from standby.notify.outbox import NewMessage
from standby.notify.validate import MAX_SMS_BODY
from standby.status.notices import NOTICE_WORDS
from standby.status.snapshot import Snapshot, iso

HORIZON = timedelta(hours=24)
"""Updates older than this when first seen are not told (a restored database is not news)."""
PURPOSE = "status"
CONFIRM_PURPOSE = "status-confirm"


@dataclass(frozen=True)
class Announcement:
    """One public notice to tell: its key, its words, the services it touches, its page."""

    key: str
    kind: str
    """incident.update or maintenance.scheduled."""
    title: str
    status: str
    body: str
    services: tuple[str, ...]
    url: str
    at: datetime
    incident_id: int | None = None


@dataclass(frozen=True)
class Subscriber:
    """A confirmed subscriber, as the fan-out needs them."""

    id: int
    channel: str
    address: str
    services: tuple[str, ...]
    token: str
    secret: str | None


def announcements(snapshot: Snapshot, base_url: str, *, now: datetime) -> list[Announcement]:
    """Every incident update and planned maintenance of the snapshot that is recent enough, oldest first."""
    zone = ZoneInfo(snapshot.timezone)
    found: list[Announcement] = []
    for notice in snapshot.notices:
        for update in notice.updates:
            if now - update.at > HORIZON:
                continue
            found.append(
                Announcement(
                    key=f"update-{update.id}",
                    kind="incident.update",
                    title=notice.name,
                    status=update.status,
                    body=update.body,
                    services=notice.services,
                    url=f"{base_url}/status/incidents/{notice.id}",
                    at=update.at,
                    incident_id=notice.id,
                )
            )
    for work in snapshot.planned:
        names = ", ".join(snapshot.service_names(work.services))
        start, end = work.scheduled_for.astimezone(zone), work.scheduled_until.astimezone(zone)
        found.append(
            Announcement(
                key=f"maintenance-{work.id}",
                kind="maintenance.scheduled",
                title=work.name,
                status=work.status,
                body=f"{names} may not answer from {start:%d %b %Y %H:%M} to {end:%d %b %Y %H:%M %Z}.",
                services=work.services,
                url=f"{base_url}/status#maintenance",
                at=work.scheduled_for,
            )
        )
    return sorted(found, key=lambda a: (a.at, a.key))


def reaches(subscriber: Subscriber, announcement: Announcement) -> bool:
    """Whether the subscriber asked to hear about a service the announcement touches (none asked: all)."""
    if not subscriber.services:
        return True
    return bool(set(subscriber.services) & set(announcement.services))


def unsubscribe_url(base_url: str, token: str) -> str:
    """The subscriber's one-step unsubscribe link (GET shows one button; POST unsubscribes)."""
    return f"{base_url}/status/unsubscribe/{token}"


def message_for(
    announcement: Announcement, subscriber: Subscriber, *, organisation: str, base_url: str
) -> NewMessage:
    """The one message that tells `subscriber` of `announcement`."""
    key = f"status:{subscriber.id}:{announcement.key}"
    leave = unsubscribe_url(base_url, subscriber.token)
    words = NOTICE_WORDS.get(announcement.status, announcement.status.replace("_", " ").capitalize())
    if subscriber.channel == "email":
        body = (
            f"{words}: {announcement.body}\n\nDetails: {announcement.url}\n\n--\n"
            f"You subscribed to {organisation}'s status updates.\nUnsubscribe in one step: {leave}\n"
        )
        return NewMessage(
            key, "email", subscriber.address, body, PURPOSE,
            subject=f"[{organisation} status] {announcement.title}: {words}",
            payload={"list_unsubscribe": leave}, incident_id=announcement.incident_id,
        )
    if subscriber.channel == "sms":
        head, tail = f"{organisation}: {announcement.title} - {words}. ", f" {announcement.url} Stop: {leave}"
        room = MAX_SMS_BODY - len(head) - len(tail)
        text = announcement.body if len(announcement.body) <= room else announcement.body[: room - 1] + "…"
        return NewMessage(
            key, "sms", subscriber.address, head + text + tail, PURPOSE, incident_id=announcement.incident_id
        )
    return NewMessage(
        key, "webhook", subscriber.address, announcement.body, PURPOSE,
        subject=f"{announcement.title}: {words}", incident_id=announcement.incident_id,
        payload=webhook_payload(subscriber, announcement.url, {
            "type": announcement.kind,
            "id": announcement.key,
            "title": announcement.title,
            "status": announcement.status,
            "body": announcement.body,
            "services": list(announcement.services),
            "url": announcement.url,
            "at": iso(announcement.at),
            "unsubscribe_url": leave,
        }),
    )


def webhook_payload(subscriber: Subscriber, url: str, data: dict[str, object]) -> dict[str, object]:
    """A generic signed webhook's payload; `signing_secret` signs it and is never sent."""
    return {"style": "generic", "url": url, "data": data, "signing_secret": subscriber.secret}


def messages_for(
    news: Iterable[Announcement], subscribers: Sequence[Subscriber], *, organisation: str, base_url: str
) -> list[NewMessage]:
    """Every message of a fan-out: each announcement to each subscriber it reaches."""
    return [
        message_for(a, s, organisation=organisation, base_url=base_url)
        for a in news
        for s in subscribers
        if reaches(s, a)
    ]


def confirmation_for(
    subscriber: Subscriber, *, nonce: str, link: str, organisation: str
) -> NewMessage:
    """The confirmation a sign-up sends, and the only message before its link is followed."""
    key = f"status-confirm:{subscriber.id}:{nonce}"
    ask = f"Follow this link to confirm you want {organisation}'s status updates: {link}"
    if subscriber.channel == "email":
        body = f"{ask}\n\nIf you did not ask for them, ignore this message: nothing more will be sent.\n"
        return NewMessage(
            key, "email", subscriber.address, body, CONFIRM_PURPOSE,
            subject=f"Confirm: {organisation} status updates",
        )
    if subscriber.channel == "sms":
        text = f"{ask} (ignore it if you did not ask)"
        return NewMessage(key, "sms", subscriber.address, text, CONFIRM_PURPOSE)
    return NewMessage(
        key, "webhook", subscriber.address, ask, CONFIRM_PURPOSE,
        subject=f"Confirm: {organisation} status updates",
        payload=webhook_payload(subscriber, link, {"type": "subscription.confirm", "confirm_url": link}),
    )
