"""Projects CRUD, ai_mode and ai_config validation, pagination."""

from __future__ import annotations

import httpx
import pytest


async def test_create_defaults_to_simple_mode(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/projects", json={"name": "alpha"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ai_mode"] == "simple"
    assert body["ai_config"] == {}
    assert body["description"] == ""
    got = await client.get(f"/api/projects/{body['id']}")
    assert got.json() == body


async def test_orchestrator_mode_and_config_round_trip(client: httpx.AsyncClient) -> None:
    config = {"workflow_id": "wf-1", "model": "gpt-4", "temperature": 0.5, "max_tokens": 256}
    r = await client.post(
        "/api/projects", json={"name": "beta", "ai_mode": "orchestrator", "ai_config": config}
    )
    assert r.status_code == 201, r.text
    assert r.json()["ai_mode"] == "orchestrator"
    assert r.json()["ai_config"] == config


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"ai_mode": "bogus"}, "ai_mode", "must be one of simple, orchestrator"),
        ({"ai_config": {"colour": "red"}}, "ai_config.colour", "unknown field"),
        ({"ai_config": {"temperature": 7}}, "ai_config.temperature", "between 0 and 2"),
        ({"ai_config": {"temperature": True}}, "ai_config.temperature", "must be int or float"),
        ({"ai_config": {"max_tokens": 0}}, "ai_config.max_tokens", "must be positive"),
        ({"ai_config": {"model": 3}}, "ai_config.model", "must be str"),
        ({"ai_config": []}, "ai_config", "dictionary"),
        ({"name": ""}, "name", "at least 1"),
        ({"name": "x", "colour": "red"}, "colour", "Extra inputs"),
    ],
)
async def test_invalid_project_is_422_with_the_reason(
    client: httpx.AsyncClient, payload: dict[str, object], field: str, reason: str
) -> None:
    body = {"name": "gamma", **payload}
    r = await client.post("/api/projects", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert any(d["field"] == field and reason in d["reason"] for d in error["details"]), error
    # PATCH validates the same way.
    created = await client.post("/api/projects", json={"name": f"ok-{field}"})
    patch = {k: v for k, v in payload.items() if k != "name"} or payload
    r = await client.patch(f"/api/projects/{created.json()['id']}", json=patch)
    assert r.status_code == 422


async def test_patch_changes_only_given_fields(client: httpx.AsyncClient) -> None:
    created = (
        await client.post("/api/projects", json={"name": "delta", "description": "d"})
    ).json()
    r = await client.patch(
        f"/api/projects/{created['id']}",
        json={"ai_mode": "orchestrator", "ai_config": {"model": "claude"}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["description"], body["ai_mode"]) == ("delta", "d", "orchestrator")
    assert body["ai_config"] == {"model": "claude"}
    assert body["updated_at"] >= created["updated_at"]
    empty = await client.patch(f"/api/projects/{created['id']}", json={})
    assert empty.status_code == 422


async def test_duplicate_name_is_409(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/projects", json={"name": "same"})).status_code == 201
    r = await client.post("/api/projects", json={"name": "same"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"


async def test_delete_then_404(client: httpx.AsyncClient) -> None:
    pid = (await client.post("/api/projects", json={"name": "gone"})).json()["id"]
    assert (await client.delete(f"/api/projects/{pid}")).status_code == 204
    assert (await client.get(f"/api/projects/{pid}")).status_code == 404
    assert (await client.delete(f"/api/projects/{pid}")).status_code == 404


async def test_list_is_paginated_with_a_cursor(client: httpx.AsyncClient) -> None:
    names = [f"p{i:02d}" for i in range(7)]
    for name in names:
        assert (await client.post("/api/projects", json={"name": name})).status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/projects", params=params)).json()
        seen += [p["name"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    assert pages == 3


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 501}, {"cursor": "!!!"}, {"limit": "x"}]
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, object]
) -> None:
    r = await client.get("/api/projects", params=params)  # type: ignore[arg-type]
    assert r.status_code == 422
