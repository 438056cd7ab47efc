"""The FastAPI application: routers, error handlers and middleware."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

import baton
from baton.api.errors import install_error_handlers
from baton.api.middleware import BodyLimitMiddleware, HttpMetrics, ObservabilityMiddleware
from baton.api.routes import (
    agents,
    audit,
    docs,
    health,
    projects,
    tasks,
    tenants,
    tools,
    webhooks,
)
from baton.config import Settings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

#: Every router the app serves, in order.
ROUTERS = (
    health.router,
    tenants.router,
    projects.router,
    audit.router,
    tasks.router,  # before agents: /api/agents/tasks is not an agent id
    agents.router,
    tools.router,
    webhooks.router,
)


def build_api(settings: Settings, lifespan: Lifespan) -> FastAPI:
    """Assemble the app; services are attached to ``app.state`` by the lifespan."""
    # Without public metrics the schema and its viewer move behind a key (routes/docs.py).
    public = settings.public_metrics
    app = FastAPI(
        title="Baton",
        version=baton.__version__,
        description="Self-hosted AI agent orchestrator.",
        lifespan=lifespan,
        openapi_url="/openapi.json" if public else None,
        docs_url="/docs" if public else None,
        redoc_url="/redoc" if public else None,
    )
    app.state.public_metrics = settings.public_metrics
    app.state.metrics = HttpMetrics(CollectorRegistry())
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    if not settings.public_metrics:
        app.include_router(docs.router)
    # Outermost first in the chain: observability sees every response, including 413s.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    return app
