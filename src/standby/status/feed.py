"""The status page's Atom feed (RFC 4287): one entry per public notice, its updates in its content.

Written with the standard library's ElementTree: an Atom feed of this size is a few
dozen lines, and a feed library would add a dependency for no gain.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

from standby.status.notices import NOTICE_WORDS
from standby.status.snapshot import Snapshot, iso

ATOM = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 50


def atom_feed(snapshot: Snapshot, base_url: str) -> bytes:
    """The feed as UTF-8 bytes with its XML declaration."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", f"{base_url}/status")
    _text(feed, "title", f"{snapshot.organisation} status")
    _text(feed, "updated", iso(snapshot.updated_at) or "")
    _link(feed, f"{base_url}/status/feed.atom", "self", "application/atom+xml")
    _link(feed, f"{base_url}/status", "alternate", "text/html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", snapshot.organisation)
    zone = ZoneInfo(snapshot.timezone)
    for notice in snapshot.notices[:MAX_ENTRIES]:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        url = f"{base_url}/status/incidents/{notice.id}"
        _text(entry, "id", url)  # the permalink: stable for the notice's life
        _text(entry, "title", f"{notice.name} ({NOTICE_WORDS[notice.status]})")
        _text(entry, "updated", iso(notice.updated_at) or "")
        _text(entry, "published", iso(notice.created_at) or "")
        _link(entry, url, "alternate", "text/html")
        lines = [
            f"{NOTICE_WORDS[u.status]} ({u.at.astimezone(zone):%d %b %Y %H:%M %Z}): {u.body}"
            for u in notice.updates
        ]
        content = _text(entry, "content", "\n\n".join(lines))
        content.set("type", "text")
    written: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return written


def _text(parent: ET.Element, name: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    element.text = value
    return element


def _link(parent: ET.Element, href: str, rel: str, kind: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"href": href, "rel": rel, "type": kind})
