"""/api/v1/users and /api/v1/tokens: who may use Standby, for administrators only."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from standby.access.roles import Role
from standby.access.service import (
    create_token,
    create_user,
    list_tokens,
    list_users,
    revoke_token,
    set_password,
    set_user_disabled,
)
from standby.store.engine import unit_of_work
from standby.web.auth import ManageAccess
from standby.web.context import Context

router = APIRouter(prefix="/api/v1", tags=["access"])


class UserOut(BaseModel):
    """A user: name, role, when created, whether disabled; never the password."""

    username: str
    role: Role
    created_at: datetime
    disabled: bool


class NewUser(BaseModel):
    """A user to create."""

    username: str = Field(max_length=64, description="Lower-case letters, digits, '.', '_' or '-'.")
    password: str = Field(max_length=1024, description="At least 8 characters.")
    role: Role


class UserChange(BaseModel):
    """A change to a user: a new password, or disabling or enabling them."""

    password: str | None = Field(None, max_length=1024)
    disabled: bool | None = None


class TokenOut(BaseModel):
    """An API token as listed: its name, role and first characters, never the token."""

    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(BaseModel):
    """A token to create."""

    name: str = Field(min_length=1, max_length=100)
    role: Role


class CreatedToken(BaseModel):
    """The token, shown this once; only its hash is stored."""

    name: str
    role: Role
    token: str


@router.get("/users", summary="Users")
def get_users(principal: ManageAccess, context: Context) -> list[UserOut]:
    """Every user with their role; never a password hash."""
    with unit_of_work(context.session_factory) as session:
        return [UserOut.model_validate(user, from_attributes=True) for user in list_users(session)]


@router.post("/users", status_code=201, summary="Create a user")
def post_user(body: NewUser, principal: ManageAccess, context: Context) -> UserOut:
    """Create a user; 409 when the name is taken, 400 when the password is too short."""
    with unit_of_work(context.session_factory) as session:
        create_user(
            session, username=body.username, password=body.password, role=body.role, now=context.clock.now()
        )
    with unit_of_work(context.session_factory) as session:
        return next(
            UserOut.model_validate(u, from_attributes=True)
            for u in list_users(session)
            if u.username == body.username.lower()
        )


@router.patch("/users/{username}", summary="Change a user's password or disable them")
def patch_user(username: str, body: UserChange, principal: ManageAccess, context: Context) -> UserOut:
    """Set a new password, or disable or enable the user; 404 for an unknown user."""
    with unit_of_work(context.session_factory) as session:
        if body.password is not None:
            set_password(session, username=username, password=body.password)
        if body.disabled is not None:
            set_user_disabled(session, username=username, disabled=body.disabled)
    with unit_of_work(context.session_factory) as session:
        return next(
            UserOut.model_validate(u, from_attributes=True)
            for u in list_users(session)
            if u.username == username.lower()
        )


@router.get("/tokens", summary="API tokens")
def get_tokens(principal: ManageAccess, context: Context) -> list[TokenOut]:
    """Every API token with its role and first characters; never the token itself."""
    with unit_of_work(context.session_factory) as session:
        return [TokenOut.model_validate(token, from_attributes=True) for token in list_tokens(session)]


@router.post("/tokens", status_code=201, summary="Create an API token")
def post_token(body: NewToken, principal: ManageAccess, context: Context) -> CreatedToken:
    """Create a token for a script; the answer is the only time the token is shown."""
    with unit_of_work(context.session_factory) as session:
        token = create_token(session, name=body.name, role=body.role, now=context.clock.now())
    return CreatedToken(name=body.name, role=body.role, token=token)


@router.delete("/tokens/{name}", status_code=204, summary="Revoke an API token")
def delete_token(name: str, principal: ManageAccess, context: Context) -> None:
    """Revoke a token at once on every server; 404 for an unknown name."""
    with unit_of_work(context.session_factory) as session:
        revoke_token(session, name=name, now=context.clock.now())
