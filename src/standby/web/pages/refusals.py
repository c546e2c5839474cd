"""Running a page's action and turning a service's refusal into the reason shown on the page.

The services refuse by raising: InvalidInput (400), Conflict (409), NotFound (404). A page
catches those, shows the reason where the form is, with the form's values kept, and
answers with that status; anything else (the database away) goes to the app's error pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from standby.errors import Conflict, NotFound, StandbyError, StorageError


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an action was refused, as shown on the page, and the status it answers with."""

    reason: str
    status: int


def refusal_of(act: Callable[[], object]) -> Refusal | None:
    """Run `act`; None when it went through, else why the service refused it."""
    try:
        act()
    except StandbyError as refused:
        if isinstance(refused, StorageError):
            raise
        status = 404 if isinstance(refused, NotFound) else 409 if isinstance(refused, Conflict) else 400
        text = str(refused)
        return Refusal(text[:1].upper() + text[1:], status)
    return None
