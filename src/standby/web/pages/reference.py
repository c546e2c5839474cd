"""GET /docs: the interactive API reference (Swagger UI), served whole by Standby itself.

Swagger UI's files come from the fastapi-offline package (swagger-ui-dist, bundled), so
the page works on a closed network and loads nothing from another host. It is open like
/openapi.json, which it only displays: "Try it out" sends the reader's own cookie or the
token they enter, and every operation checks it as usual.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from standby.web.context import Context

router = APIRouter(include_in_schema=False)

# The only files of the bundle the page uses; nothing else of the package is served.
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


def _assets_dir() -> Path:
    return Path(str(resources.files("fastapi_offline").joinpath("static")))


@router.get("/docs")
def reference_page(request: Request, context: Context) -> Response:
    """The API reference: every operation, its parameters, bodies and answers, to try out."""
    root = request.scope.get("root_path", "")
    response: Response = context.templates.TemplateResponse(
        request, "reference.html", {"root": root, "openapi_url": f"{root}/openapi.json"}
    )
    return response


@router.get("/docs/assets/{name}")
def reference_asset(name: str) -> Response:
    """Swagger UI's script and style sheet; cached, as they change only with the package."""
    if name not in ASSETS:
        raise HTTPException(404, "there is no such file of the API reference")
    return FileResponse(
        _assets_dir() / name, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"}
    )
