"""The navigation bar: each role sees the pages it may open, and the page shown is marked."""

from __future__ import annotations

from standby.access.roles import Role, allows
from standby.access.service import Principal
from standby.web.pages.navigation import ENTRIES, navigation


def principal(role: Role) -> Principal:
    """A user of `role`."""
    return Principal(name=role.value, role=role, kind="user")


def test_each_role_sees_exactly_the_pages_its_permissions_open() -> None:
    for role in Role:
        shown = [link.path for link in navigation(principal(role), "/")]
        assert shown == [e.path for e in ENTRIES if allows(role, e.permission)]
    assert "/plan" not in [link.path for link in navigation(principal(Role.AGENT), "/")]
    assert "/outcomes" in [link.path for link in navigation(principal(Role.AGENT), "/")]
    assert len(navigation(principal(Role.ADMIN), "/")) == len(ENTRIES)


def test_the_current_section_is_marked_and_the_overview_only_on_itself() -> None:
    links = {link.path: link.current for link in navigation(principal(Role.ADMIN), "/incidents/12")}
    assert links["/incidents"] is True
    assert links["/"] is False
    assert not any(v for k, v in links.items() if k != "/incidents")
    overview = {link.path: link.current for link in navigation(principal(Role.ADMIN), "/")}
    assert [k for k, v in overview.items() if v] == ["/"]
    # /calls must not count as being within /callbacks, nor the reverse
    calls = {link.path: link.current for link in navigation(principal(Role.ADMIN), "/calls")}
    assert calls["/calls"] and not calls["/callbacks"]


def test_nobody_signed_in_sees_no_bar() -> None:
    assert navigation(None, "/") == []
