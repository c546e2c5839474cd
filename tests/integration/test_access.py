"""Access: users and passwords, API tokens, login sessions, the first administrator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from _passwords import SERVICE_HASHER
from standby.access import service as access_service
from standby.access.roles import Permission, Role
from standby.access.service import (
    Principal,
    authenticate,
    close_login_session,
    create_token,
    create_user,
    ensure_admin,
    list_tokens,
    list_users,
    open_login_session,
    principal_for_login,
    principal_for_token,
    purge_expired_sessions,
    revoke_token,
    set_password,
    set_user_disabled,
)
from standby.errors import Conflict, InvalidInput, NotFound
from standby.store.engine import unit_of_work
from standby.store.tables import ApiTokenRow, UserRow

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def uow(session_factory: sessionmaker[Session]):
    return lambda: unit_of_work(session_factory)


def test_a_user_signs_in_with_the_right_password_only(uow) -> None:
    with uow() as s:
        created = create_user(s, username="Dana", password=PASSWORD, role="manager", now=T0)
    assert created == Principal(kind="user", name="dana", role=Role.MANAGER)
    with uow() as s:
        assert authenticate(s, username="dana", password=PASSWORD) == created
        assert authenticate(s, username=" DANA ", password=PASSWORD) == created
        assert authenticate(s, username="dana", password=PASSWORD + "!") is None
        assert authenticate(s, username="nobody", password=PASSWORD) is None
        assert authenticate(s, username="dana", password="x" * 5000) is None
        stored = s.scalars(select(UserRow.password_hash)).one()
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert created.can(Permission.LOAD_PLAN)
    assert not created.can(Permission.MANAGE_ACCESS)


def test_every_role_can_be_stored(uow) -> None:
    with uow() as s:
        for role in Role:
            create_user(s, username=f"u-{role}", password=PASSWORD, role=role, now=T0)
            create_token(s, name=f"t-{role}", role=role, now=T0)
    with uow() as s:
        assert {u.role for u in list_users(s)} == set(Role)
        assert {t.role for t in list_tokens(s)} == set(Role)


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("dana", PASSWORD, "owner", "unknown role 'owner': use one of admin, manager"),
        ("dana", "", "viewer", "password is empty"),
        ("dana", "   ", "viewer", "password is empty"),
        ("dana", "short", "viewer", "too short"),
        ("has space", PASSWORD, "viewer", "not a username"),
        ("", PASSWORD, "viewer", "not a username"),
        ("-dash", PASSWORD, "viewer", "not a username"),
    ],
)
def test_bad_user_input_is_refused(uow, username: str, password: str, role: str, message: str):
    with pytest.raises(InvalidInput, match=message), uow() as s:
        create_user(s, username=username, password=password, role=role, now=T0)


def test_usernames_are_unique(uow) -> None:
    with uow() as s:
        create_user(s, username="dana", password=PASSWORD, role="viewer", now=T0)
    with pytest.raises(Conflict, match="already exists"), uow() as s:
        create_user(s, username="Dana", password=PASSWORD, role="viewer", now=T0)


def test_disabled_users_cannot_sign_in(uow) -> None:
    with uow() as s:
        create_user(s, username="dana", password=PASSWORD, role="viewer", now=T0)
        cookie = open_login_session(s, username="dana", now=T0, lifetime=timedelta(hours=8))
    with uow() as s:
        set_user_disabled(s, username="dana", disabled=True)
    with uow() as s:
        assert authenticate(s, username="dana", password=PASSWORD) is None
        assert principal_for_login(s, cookie, now=T0) is None
        with pytest.raises(InvalidInput, match="disabled"):
            open_login_session(s, username="dana", now=T0, lifetime=timedelta(hours=1))
        set_user_disabled(s, username="dana", disabled=False)
    with uow() as s:
        assert authenticate(s, username="dana", password=PASSWORD) is not None


def test_a_new_password_replaces_the_old_and_signs_out(uow) -> None:
    with uow() as s:
        create_user(s, username="dana", password=PASSWORD, role="viewer", now=T0)
        cookie = open_login_session(s, username="dana", now=T0, lifetime=timedelta(hours=8))
        set_password(s, username="dana", password="a whole new phrase")
    with uow() as s:
        assert authenticate(s, username="dana", password=PASSWORD) is None
        assert authenticate(s, username="dana", password="a whole new phrase") is not None
        assert principal_for_login(s, cookie, now=T0) is None
        with pytest.raises(NotFound):
            set_password(s, username="nobody", password=PASSWORD)


def test_the_service_hashes_at_rfc_9106_low_memory_strength(uow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_service, "_HASHER", SERVICE_HASHER)
    with uow() as s:
        create_user(s, username="erin", password=PASSWORD, role=Role.VIEWER, now=T0)
    with uow() as s:
        stored = s.scalars(select(UserRow.password_hash)).one()
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert authenticate(s, username="erin", password=PASSWORD) is not None
        assert s.scalars(select(UserRow.password_hash)).one() == stored  # nothing to upgrade


def test_old_hash_parameters_are_upgraded_on_sign_in(uow, monkeypatch: pytest.MonkeyPatch) -> None:
    # At the service's strength, not the tests' cheapest (tests/_passwords.py).
    monkeypatch.setattr(access_service, "_HASHER", SERVICE_HASHER)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with uow() as s:
        s.add(UserRow(username="old", password_hash=weak, role="viewer", created_at=T0))
    with uow() as s:
        assert authenticate(s, username="old", password=PASSWORD) is not None
    with uow() as s:
        upgraded = s.scalars(select(UserRow.password_hash)).one()
        assert upgraded != weak and "m=65536" in upgraded
        assert authenticate(s, username="old", password=PASSWORD) is not None


def test_the_first_admin_is_made_once(uow) -> None:
    with uow() as s:
        generated = ensure_admin(s, password=None, now=T0)
    assert generated is not None and len(generated) >= 16
    with uow() as s:
        assert ensure_admin(s, password="another password", now=T0) is None
        admin = authenticate(s, username="admin", password=generated)
        assert admin == Principal(kind="user", name="admin", role=Role.ADMIN)


def test_the_first_admin_takes_the_given_password(uow) -> None:
    with uow() as s:
        assert ensure_admin(s, password=PASSWORD, now=T0) == PASSWORD
    with uow() as s:
        assert authenticate(s, username="admin", password=PASSWORD) is not None


def test_another_admin_means_no_new_one(uow) -> None:
    with uow() as s:
        create_user(s, username="root", password=PASSWORD, role="admin", now=T0)
        assert ensure_admin(s, password=None, now=T0) is None
        assert [u.username for u in list_users(s)] == ["root"]


def test_a_disabled_admin_named_admin_is_a_conflict(uow) -> None:
    with uow() as s:
        create_user(s, username="admin", password=PASSWORD, role="admin", now=T0)
        set_user_disabled(s, username="admin", disabled=True)
    with pytest.raises(Conflict, match="re-enable"), uow() as s:
        ensure_admin(s, password=None, now=T0)


def test_a_token_stands_for_its_role_until_revoked(uow) -> None:
    with uow() as s:
        token = create_token(s, name="alertmanager", role="responder", now=T0)
    assert token.startswith("sby_") and len(token) > 40
    with uow() as s:
        row = s.scalars(select(ApiTokenRow)).one()
        assert token not in (row.token_hash, row.prefix) and token.startswith(row.prefix)
        assert row.last_used_at is None
        principal = principal_for_token(s, token, now=T0 + timedelta(minutes=5))
        assert principal == Principal(kind="token", name="alertmanager", role=Role.RESPONDER)
        assert principal_for_token(s, token + "x", now=T0) is None
        assert principal_for_token(s, "not-a-token", now=T0) is None
    with uow() as s:
        (info,) = list_tokens(s)
        assert info.last_used_at == T0 + timedelta(minutes=5)
        assert info.active and info.prefix == token[:12]
        revoke_token(s, name="alertmanager", now=T0 + timedelta(hours=1))
    with uow() as s:
        assert principal_for_token(s, token, now=T0 + timedelta(hours=2)) is None
        revoke_token(s, name="alertmanager", now=T0 + timedelta(hours=3))  # again: no change
        (info,) = list_tokens(s)
        assert info.revoked_at == T0 + timedelta(hours=1) and not info.active


def test_last_use_is_recorded_at_most_once_a_minute(uow) -> None:
    with uow() as s:
        token = create_token(s, name="ci", role="viewer", now=T0)
        principal_for_token(s, token, now=T0)
        principal_for_token(s, token, now=T0 + timedelta(seconds=30))
        assert list_tokens(s)[0].last_used_at == T0
        principal_for_token(s, token, now=T0 + timedelta(minutes=2))
        assert list_tokens(s)[0].last_used_at == T0 + timedelta(minutes=2)


def test_token_names_are_unique_and_checked(uow) -> None:
    with uow() as s:
        create_token(s, name="ci", role="viewer", now=T0)
    with pytest.raises(Conflict, match="'ci' already exists"), uow() as s:
        create_token(s, name="ci", role="admin", now=T0)
    with pytest.raises(InvalidInput, match="not a token name"), uow() as s:
        create_token(s, name="two words", role="viewer", now=T0)
    with pytest.raises(InvalidInput, match="unknown role"), uow() as s:
        create_token(s, name="ci2", role="root", now=T0)
    with pytest.raises(NotFound, match="no token named 'nope'"), uow() as s:
        revoke_token(s, name="nope", now=T0)


def test_login_sessions_last_until_they_expire(uow) -> None:
    with uow() as s:
        create_user(s, username="dana", password=PASSWORD, role="responder", now=T0)
        cookie = open_login_session(s, username="dana", now=T0, lifetime=timedelta(hours=8))
        other = open_login_session(s, username="dana", now=T0, lifetime=timedelta(hours=1))
    assert cookie != other
    with uow() as s:
        dana = Principal(kind="user", name="dana", role=Role.RESPONDER)
        assert principal_for_login(s, cookie, now=T0 + timedelta(hours=7, minutes=59)) == dana
        assert principal_for_login(s, cookie, now=T0 + timedelta(hours=8)) is None
        assert principal_for_login(s, "forged", now=T0) is None
        assert purge_expired_sessions(s, now=T0 + timedelta(hours=2)) == 1
        assert principal_for_login(s, cookie, now=T0 + timedelta(hours=3)) == dana
        close_login_session(s, cookie)
        close_login_session(s, cookie)  # twice is fine
        assert principal_for_login(s, cookie, now=T0 + timedelta(hours=3)) is None
        with pytest.raises(NotFound):
            open_login_session(s, username="nobody", now=T0, lifetime=timedelta(hours=1))
        with pytest.raises(InvalidInput, match="positive"):
            open_login_session(s, username="dana", now=T0, lifetime=timedelta(0))
