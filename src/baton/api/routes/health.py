"""Liveness, readiness and metrics (meant for probes and scrapers: no key unless asked)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from baton.api.policy import authorize

router = APIRouter()


@router.get("/healthz", name="health.live")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", name="health.ready")
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at this code's head revision."""
    report = await request.app.state.services.health.readiness()
    return JSONResponse(report.as_dict(), status_code=200 if report.ready else 503)


@router.get("/metrics", name="health.metrics")
async def metrics(request: Request) -> Response:
    """Prometheus metrics; behind a key when the operator set ``BATON_PUBLIC_METRICS=false``."""
    if not request.app.state.public_metrics:
        await authorize(request)
    data = generate_latest(request.app.state.metrics.registry)
    return Response(data, media_type=CONTENT_TYPE_LATEST)
