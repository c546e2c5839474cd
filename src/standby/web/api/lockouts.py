"""/api/v1/lockouts: who is locked out of logging in, and lifting the lock (administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from standby.access.lockout import Scope
from standby.access.lockout_service import lift_lockout, list_lockouts
from standby.store.engine import unit_of_work
from standby.web.auth import ManageAccess
from standby.web.context import Context

router = APIRouter(prefix="/api/v1/lockouts", tags=["access"])


class LockoutOut(BaseModel):
    """An account or client address with failed logins held against it."""

    scope: Scope = Field(description="account (a username, existing or not) or address (IPv6: its /64).")
    key: str
    failures: int = Field(description="Failed logins still counted (one is forgiven each quiet 15 minutes).")
    last_failure_at: datetime | None
    locked_until: datetime | None = Field(description="Logins are refused (429) until then; null when open.")


class Lifted(BaseModel):
    """What unlocking did."""

    lifted: int = Field(description="Tallies cleared (0 when nothing was held against them).")


@router.get("", summary="Login lockouts")
def get_lockouts(principal: ManageAccess, context: Context) -> list[LockoutOut]:
    """Accounts and addresses with failed logins counted, locked ones first."""
    with unit_of_work(context.session_factory) as session:
        found = list_lockouts(session, now=context.clock.now())
    return [LockoutOut(**vars(info)) for info in found]


@router.delete("", summary="Lift a login lockout")
def delete_lockout(
    principal: ManageAccess,
    context: Context,
    account: Annotated[str | None, Query(max_length=200, description="A username.")] = None,
    address: Annotated[str | None, Query(max_length=100, description="A client IP address.")] = None,
) -> Lifted:
    """Clear the failed logins of an account and/or an address: it may log in again at once."""
    with unit_of_work(context.session_factory) as session:
        lifted = lift_lockout(
            session, account=account, address=address, by=principal.signed
        )
    return Lifted(lifted=lifted)
