"""The OpenAPI schema and its viewer behind an API key (``BATON_PUBLIC_METRICS=false``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from baton.api.deps import Caller

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json", name="docs.openapi")
async def openapi(request: Request, _: Caller) -> dict[str, Any]:
    """The OpenAPI schema, for callers with a key."""
    schema: dict[str, Any] = request.app.openapi()
    return schema


@router.get("/docs", name="docs.ui")
async def docs(_: Caller) -> HTMLResponse:
    """Swagger UI; it loads the schema with the browser's credentials, so send a key."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Baton API")
