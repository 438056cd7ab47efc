"""The HTTP contract: one error shape, limits, health, metrics, request ids and logs."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from baton.bootstrap import create_app
from baton.config import Settings
from baton.store import migrate
from tests.conftest import ADMIN_KEY


def _shape(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert "Traceback" not in r.text


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    _shape(await client.get("/api/nowhere"), 404, "not_found")
    _shape(await client.put("/api/projects"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b"null", b'{"name": 5}', b"\xff\xfe", b"{}"],
)
async def test_malformed_bodies_are_422_never_500(
    client: httpx.AsyncClient, content: bytes
) -> None:
    r = await client.post(
        "/api/projects", content=content, headers={"content-type": "application/json"}
    )
    _shape(r, 422, "invalid_input")


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    _shape(
        await client.post(
            "/api/projects", content=big, headers={"content-type": "application/json"}
        ),
        413,
        "payload_too_large",
    )

    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"name": "'
        for _ in range(20):
            yield b"y" * (settings.max_body_bytes // 10)
        yield b'"}'

    streamed = await client.post(
        "/api/projects", content=chunks(), headers={"content-type": "application/json"}
    )
    _shape(streamed, 413, "payload_too_large")
    # Just under the limit is fine (it fails validation for length, not size).
    ok = await client.post("/api/projects", json={"name": "n", "description": "d" * 9_000})
    assert ok.status_code == 201


async def test_body_limit_is_configurable(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 2048}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        r = await c.post(
            "/api/projects",
            json={"name": "n", "description": "d" * 3000},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
    _shape(r, 413, "payload_too_large")


async def test_unexpected_errors_are_500_without_a_trace(settings: Settings) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
        ) as c,
    ):
        r = await c.get("/boom")
    _shape(r, 500, "internal_error")
    assert "secret internals" not in r.text


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    del client.headers["Authorization"]
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "migrations": True}


async def test_readyz_is_503_when_the_schema_is_behind(settings: Settings, db_url: str) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await migrate.downgrade(db_url, "0001")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["migrations"] is False


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: object) -> None:
    settings = Settings(
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/none",
        data_dir=tmp_path,  # type: ignore[arg-type]
        auto_migrate=False,
    )
    from baton.domain.audit import CheckpointSigner
    from baton.services.container import Services
    from baton.store.database import Database

    app = create_app(settings)
    db = Database(settings.effective_database_url)
    app.state.services = Services.build(settings, db, CheckpointSigner.generate())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"] is False


async def test_metrics_count_requests_by_route_and_status(client: httpx.AsyncClient) -> None:
    await client.get("/api/projects")
    await client.get("/api/projects/does-not-exist")
    text = (await client.get("/metrics")).text
    assert 'baton_http_requests_total{method="GET",route="/api/projects",status="200"} 1.0' in text
    labels = 'method="GET",route="/api/projects/{project_id}",status="404"'
    assert "baton_http_requests_total{" + labels + "} 1.0" in text
    assert (
        'baton_http_request_duration_seconds_count{method="GET",route="/api/projects"} 1.0' in text
    )


async def test_request_id_is_echoed_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baton.access")
    r = await client.get("/api/projects", headers={"X-Request-ID": "req-123"})
    assert r.headers["x-request-id"] == "req-123"
    generated = await client.get("/api/projects")
    assert len(generated.headers["x-request-id"]) == 32
    records = [rec for rec in caplog.records if rec.name == "baton.access"]
    assert records and records[0].__dict__["status"] == 200


def test_json_log_lines_carry_the_request_id() -> None:
    import json

    from baton.logs import JsonFormatter, request_id

    token = request_id.set("abc")
    try:
        record = logging.makeLogRecord({"msg": "hello %s", "args": ("x",), "levelname": "INFO"})
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["message"] == "hello x" and line["request_id"] == "abc"


async def test_openapi_docs_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/projects" in spec["paths"]


# Digits outside ASCII: '²'.isdigit() is True but int() refuses it, and int() reads '١٢'.
NON_ASCII_DIGITS = ["²", "١٢", "٣", "\uff11\uff12", "12²", "9" * 19]  # fullwidth 12


@pytest.mark.parametrize("value", NON_ASCII_DIGITS)
async def test_non_ascii_digits_in_the_audit_cursor_are_422(
    client: httpx.AsyncClient, value: str
) -> None:
    r = await client.get("/api/audit", params={"cursor": value})
    _shape(r, 422, "invalid_input")
    assert r.json()["error"]["details"] == [{"field": "cursor"}]


@pytest.mark.parametrize("value", NON_ASCII_DIGITS)
async def test_non_ascii_digits_in_the_versions_cursor_are_422(
    client: httpx.AsyncClient, value: str
) -> None:
    from baton.store.pagination import encode_cursor
    from tests.support.tasks import make_agent

    agent = await make_agent(client, "versioned", model="echo")
    url = f"/api/agents/{agent['id']}/versions"
    assert (await client.get(url, params={"cursor": encode_cursor("0")})).status_code == 200
    r = await client.get(url, params={"cursor": encode_cursor(value)})
    _shape(r, 422, "invalid_input")
    assert r.json()["error"]["details"] == [{"field": "cursor"}]


@pytest.mark.parametrize("value", ["²", "١٢", "٣"])
@pytest.mark.parametrize(
    "path", ["/api/audit?limit={}", "/api/agents/tasks?limit={}", "/api/events?after={}"]
)
async def test_non_ascii_digits_in_integer_query_parameters_are_422(
    client: httpx.AsyncClient, path: str, value: str
) -> None:
    _shape(await client.get(path.format(value)), 422, "invalid_input")


# b"\xb2" is '²' as the server decodes headers (Latin-1); the others arrive as UTF-8.
@pytest.mark.parametrize("value", [b"\xb2", "١٢".encode(), "٣".encode()])
async def test_non_ascii_digits_in_last_event_id_are_422(
    client: httpx.AsyncClient, value: bytes
) -> None:
    _shape(await client.get("/api/events", headers={"Last-Event-ID": value}), 422, "invalid_input")
