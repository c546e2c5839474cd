"""Roles and permissions: the table that decides who may do what."""

from __future__ import annotations

import pytest

from standby.access.roles import GRANTS, Permission, Role, allows, parse_role, permissions_of
from standby.errors import InvalidInput


def test_everyone_reads_status_and_components() -> None:
    for role in Role:
        assert allows(role, Permission.READ_STATUS)
        assert allows(role, Permission.READ_COMPONENTS)


def test_agents_do_not_read_the_plan() -> None:
    readers = {r for r in Role if allows(r, Permission.READ_PLAN)}
    assert readers == {Role.ADMIN, Role.MANAGER, Role.RESPONDER, Role.VIEWER}


def test_loading_the_plan_and_managing_access() -> None:
    assert {r for r in Role if allows(r, Permission.LOAD_PLAN)} == {Role.ADMIN, Role.MANAGER}
    assert {r for r in Role if allows(r, Permission.MANAGE_ACCESS)} == {Role.ADMIN}
    assert permissions_of(Role.ADMIN) == frozenset(Permission)


def test_every_permission_is_in_the_table() -> None:
    assert set(GRANTS) == set(Permission)


def test_roles_are_parsed_with_a_helpful_error() -> None:
    assert parse_role(" Manager ") is Role.MANAGER
    assert parse_role(Role.AGENT) is Role.AGENT
    with pytest.raises(InvalidInput, match="use one of admin, manager, responder, agent, viewer"):
        parse_role("boss")
