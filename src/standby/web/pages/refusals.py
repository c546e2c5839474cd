"""Running a page's action and turning a service's refusal into the reason shown on the page.

The services refuse by raising: InvalidInput (400), Conflict (409), NotFound (404). A page
catches those, shows the reason where the form is, with the form's values kept, and
answers with that status; anything else (the database away) goes to the app's error pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from standby.errors import Conflict, NotFound, StandbyError, StorageError
from standby.web.context import WebContext


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
        return Refusal(sentence(str(refused)), status)
    return None


def sentence(message: str) -> str:
    """A reason as a sentence: its first letter a capital."""
    return message[:1].upper() + message[1:]


def run_form(
    act: Callable[[], object], *, refused: Callable[[Refusal], Response], then: Callable[[], str]
) -> Response:
    """Run a form's action: on success on to `then()` (POST/redirect/GET), else `refused(why)`: the page
    again with the reason."""
    refusal = refusal_of(act)
    if refusal is not None:
        return refused(refusal)
    return RedirectResponse(then(), status_code=303)


NO_STORE = {"Cache-Control": "no-store"}
"""Pages name people and numbers: a shared device must not show them from the HTTP cache."""


def page_response(
    request: Request,
    context: WebContext,
    template: str,
    model: dict[str, Any],
    *,
    refused: Refusal | None,
    done: Mapping[str, str],
) -> Response:
    """The page: the refusal's reason and status, or what the last action did (`?done=`) and 200."""
    model["error"] = refused.reason if refused is not None else ""
    model["done"] = "" if refused is not None else done.get(request.query_params.get("done", ""), "")
    return uncached(request, context, template, model, refused.status if refused is not None else 200)


def uncached(
    request: Request, context: WebContext, template: str, model: dict[str, Any], status: int = 200
) -> Response:
    """The page drawn from `template`, never kept by the HTTP cache."""
    response: Response = context.templates.TemplateResponse(
        request, template, model, status_code=status, headers=NO_STORE
    )
    return response
