"""GET /plan: the plan in force, its versions and its audit; one version; two versions compared.

Roles that may read the plan (read_plan) see these pages; roles that may load one
(load_plan) also get a form to paste or upload a plan, which POSTs to /plan and puts it in
force through the same service as POST /api/v1/plan. A plan the loader refuses is shown
in the page with each problem's line and column, and the text kept to fix it.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from standby.access.service import Principal
from standby.errors import PlanInvalid, PlanProblem
from standby.plan.yamlsource import MAX_BYTES
from standby.store.engine import unit_of_work
from standby.web.api.plan import put_in_force
from standby.web.auth import LoadPlan, ReadPlan
from standby.web.context import Context, WebContext
from standby.web.pages.plan_view import diff_model, plan_model, version_model, version_number
from standby.web.pages.refusals import uncached

router = APIRouter(include_in_schema=False)

VersionText = Annotated[str | None, Query(max_length=40)]
TOO_LARGE = f"the plan is larger than {MAX_BYTES // 1_048_576} MB, the most Standby loads"


@router.get("/plan")
def plan_page(
    request: Request, principal: ReadPlan, context: Context, before: VersionText = None
) -> Response:
    """The plan in force, the versions newest first (a page at a time), and the audit."""
    older_than = version_number("before", before) if before is not None else None
    return _render_plan(request, context, principal, before=older_than)


@router.post("/plan")
async def load_plan(request: Request, principal: LoadPlan, context: Context) -> Response:
    """Put a pasted or uploaded plan in force, as POST /api/v1/plan; the refusal shown on the page."""
    body = b""
    async with request.form(max_files=1, max_fields=4, max_part_size=MAX_BYTES + 1) as form:
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            body = await upload.read(MAX_BYTES + 1)
        pasted = form.get("yaml")
        if not body.strip() and isinstance(pasted, str):
            body = pasted.encode("utf-8")
    text = body[: MAX_BYTES + 1].decode("utf-8", errors="replace")
    if len(body) > MAX_BYTES:
        return _refused(request, context, principal, text="", error=TOO_LARGE, status=413)
    if not body.strip():
        error = "yaml: paste the plan's YAML, or choose a plan file to upload"
        return _refused(request, context, principal, text=text, error=error, status=400)
    try:
        info = await anyio.to_thread.run_sync(put_in_force, context, principal, body)
    except PlanInvalid as invalid:
        return _refused(request, context, principal, text=text, problems=invalid.problems, status=400)
    query = urlencode({"loaded": info.id, "new": int(info.created)})
    return RedirectResponse(f"/plan?{query}", status_code=303)


@router.get("/plan/versions/{version_id}")
def version_page(version_id: str, request: Request, principal: ReadPlan, context: Context) -> Response:
    """One version of the plan: when it was loaded, by whom, and its YAML as loaded."""
    number = version_number("version", version_id[:40])
    with unit_of_work(context.session_factory) as session:
        model = version_model(session, principal, number, context.clock.now())
    return _template(request, context, "plan_version.html", model)


@router.get("/plan/diff")
def diff_page(
    request: Request,
    principal: ReadPlan,
    context: Context,
    old: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    new: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """What changed from one version to another: in the centre's words, and as a text diff."""
    old_id = version_number("from", old)
    new_id = version_number("to", new)
    with unit_of_work(context.session_factory) as session:
        model = diff_model(session, principal, old_id, new_id, context.clock.now())
    return _template(request, context, "plan_diff.html", model)


def _refused(
    request: Request,
    context: WebContext,
    principal: Principal,
    *,
    text: str,
    status: int,
    error: str = "",
    problems: list[PlanProblem] | None = None,
) -> Response:
    return _render_plan(
        request, context, principal, before=None, text=text, error=error, problems=problems, status=status
    )


def _render_plan(
    request: Request,
    context: WebContext,
    principal: Principal,
    *,
    before: int | None,
    text: str = "",
    error: str = "",
    problems: list[PlanProblem] | None = None,
    status: int = 200,
) -> Response:
    with unit_of_work(context.session_factory) as session:
        model = plan_model(session, context, principal, before=before)
    model["text"] = text
    model["error"] = error[:1].upper() + error[1:] if error else ""
    model["problems"] = [{"line": p.line, "column": p.column, "message": p.message} for p in problems or []]
    model["loaded"] = _loaded_note(request) if status == 200 else ""
    return _template(request, context, "plan.html", model, status=status)


def _loaded_note(request: Request) -> str:
    loaded = request.query_params.get("loaded", "")
    if not loaded.isdigit():
        return ""
    if request.query_params.get("new") == "1":
        return f"The plan is loaded: version {loaded} is in force."
    return f"That plan is the one already in force (version {loaded}): nothing changed."


def _template(
    request: Request, context: WebContext, name: str, model: dict[str, Any], *, status: int = 200
) -> Response:
    return uncached(request, context, name, model, status)
