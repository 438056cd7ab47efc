"""The agent registry over HTTP and through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from baton.bootstrap import create_app
from baton.config import Settings
from baton.domain.agents import AgentStatus
from baton.domain.tenancy import Principal, Role
from baton.services.agents import AgentDefinition, ensure_demo_agents
from baton.services.container import Services
from tests.conftest import ADMIN_KEY
from tests.support.api import TenantKeys, make_tenant

CONFIG = {"provider": "scripted", "model": "echo", "max_steps": 5}
CONFIG_REF = {"provider": "scripted", "model": "echo"}


def agent_body(name: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "description": f"{name} agent",
        "capabilities": ["chat"],
        "tools": ["calculator"],
        "config": CONFIG,
    }
    return body | fields


async def create(
    client: httpx.AsyncClient, t: TenantKeys | None, name: str, **fields: Any
) -> dict[str, Any]:
    headers = t.auth("admin") if t else None
    r = await client.post("/api/agents", json=agent_body(name, **fields), headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def services_of(client: httpx.AsyncClient) -> Services:
    app = client._transport.app  # type: ignore[attr-defined]
    services: Services = app.state.services
    return services


# --- versioning ---------------------------------------------------------------------------


async def test_create_makes_version_one_with_the_full_shape(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    body = await create(
        client,
        t,
        "writer",
        tools=["calculator", {"name": "http_request", "grants": {"hosts": ["api.example.com"]}}],
    )
    assert set(body) == {
        "id", "name", "description", "status", "version", "capabilities", "tools", "config",
        "global", "created_at", "updated_at",
    }  # fmt: skip
    assert body["version"] == 1
    assert body["status"] == "active"
    assert body["global"] is False
    assert body["tools"][1] == {"name": "http_request", "grants": {"hosts": ["api.example.com"]}}
    assert body["config"]["provider"] == "scripted"
    assert body["config"]["max_steps"] == 5
    got = await client.get(f"/api/agents/{body['id']}", headers=t.auth("viewer"))
    assert got.status_code == 200
    assert got.json() == body


async def test_patch_versions_the_spec_but_not_name_description_or_status(
    client: httpx.AsyncClient,
) -> None:
    t = await make_tenant(client, "acme")
    agent = await create(client, t, "writer")
    url = f"/api/agents/{agent['id']}"
    admin_key = await _key_id(client, t)

    r = await client.patch(
        url, json={"config": {**CONFIG, "temperature": 0.5}}, headers=t.auth("admin")
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["config"]["temperature"] == 0.5

    r = await client.patch(url, json={"description": "new words"}, headers=t.auth("admin"))
    assert r.json()["version"] == 2
    assert r.json()["description"] == "new words"
    r = await client.patch(
        url, json={"status": "deprecated", "name": "w2"}, headers=t.auth("admin")
    )
    assert (r.json()["version"], r.json()["status"], r.json()["name"]) == (2, "deprecated", "w2")

    # The same spec again is no change: no new version.
    r = await client.patch(url, json={"capabilities": ["chat"]}, headers=t.auth("admin"))
    assert r.json()["version"] == 2
    r = await client.patch(url, json={"capabilities": ["chat", "code.*"]}, headers=t.auth("admin"))
    assert r.json()["version"] == 3
    r = await client.patch(url, json={"tools": []}, headers=t.auth("admin"))
    assert r.json()["version"] == 4

    versions = (await client.get(f"{url}/versions", headers=t.auth("viewer"))).json()
    items = versions["items"]
    assert [v["version"] for v in items] == [1, 2, 3, 4]
    assert "temperature" not in items[0]["config"]  # version 1 is unchanged
    assert items[1]["config"]["temperature"] == 0.5
    assert items[2]["capabilities"] == ["chat", "code.*"]
    assert items[2]["tools"] == ["calculator"] and items[3]["tools"] == []
    assert {v["created_by"] for v in items} == {admin_key}
    assert all(v["created_at"] for v in items)
    assert set(items[0]) == {
        "version",
        "capabilities",
        "tools",
        "config",
        "created_by",
        "created_at",
    }

    page = (await client.get(f"{url}/versions?limit=3", headers=t.auth("viewer"))).json()
    assert [v["version"] for v in page["items"]] == [1, 2, 3]
    rest = await client.get(
        f"{url}/versions?cursor={page['next_cursor']}", headers=t.auth("viewer")
    )
    assert [v["version"] for v in rest.json()["items"]] == [4]
    assert rest.json()["next_cursor"] is None


async def _key_id(client: httpx.AsyncClient, t: TenantKeys) -> str:
    services = services_of(client)
    principal = await services.tenancy.authenticate(t.keys["admin"])
    return principal.key_id


async def test_empty_patch_is_422_and_name_clash_is_409(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    a = await create(client, t, "one")
    await create(client, t, "two")
    r = await client.patch(f"/api/agents/{a['id']}", json={}, headers=t.auth("admin"))
    assert r.status_code == 422
    r = await client.patch(f"/api/agents/{a['id']}", json={"name": "two"}, headers=t.auth("admin"))
    assert r.status_code == 409
    r = await client.post("/api/agents", json=agent_body("two"), headers=t.auth("admin"))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"


# --- soft delete and audit -------------------------------------------------------------------


async def test_delete_deactivates_and_every_admin_action_is_audited(
    client: httpx.AsyncClient,
) -> None:
    t = await make_tenant(client, "acme")
    agent = await create(client, t, "writer")
    url = f"/api/agents/{agent['id']}"
    await client.patch(url, json={"config": {**CONFIG, "model": "m2"}}, headers=t.auth("admin"))
    await client.patch(url, json={"description": "d"}, headers=t.auth("admin"))
    r = await client.delete(url, headers=t.auth("admin"))
    assert r.status_code == 200
    assert r.json()["status"] == "inactive"
    assert r.json()["version"] == 2
    got = await client.get(url, headers=t.auth("viewer"))
    assert got.status_code == 200 and got.json()["status"] == "inactive"
    versions = await client.get(f"{url}/versions", headers=t.auth("viewer"))
    assert len(versions.json()["items"]) == 2

    audit = await client.get(f"/api/audit?agent_id={agent['id']}", headers=t.auth("viewer"))
    payloads = [e["payload"] for e in reversed(audit.json()["items"])]  # oldest first
    actions = [(p["action"], p.get("version")) for p in payloads]
    assert actions == [
        ("agent.created", 1),
        ("agent.updated", 2),
        ("agent.updated", 2),
        ("agent.deactivated", None),
    ]
    assert payloads[1]["new_version"] is True and payloads[2]["new_version"] is False
    assert all(p["target"] == agent["id"] for p in payloads)


async def test_a_failed_write_records_no_audit_entry(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    await create(client, t, "one")
    r = await client.post("/api/agents", json=agent_body("one"), headers=t.auth("admin"))
    assert r.status_code == 409
    audit = await client.get("/api/audit?type=admin_action", headers=t.auth("viewer"))
    created = [e for e in audit.json()["items"] if e["payload"]["action"] == "agent.created"]
    assert len(created) == 1


# --- filters ---------------------------------------------------------------------------------


async def test_list_filters_by_capability_status_and_text_and_pages(
    client: httpx.AsyncClient,
) -> None:
    t = await make_tenant(client, "acme")
    v = t.auth("viewer")
    coder = await create(
        client, t, "Coder", capabilities=["code", "review"], description="Writes 100% Python"
    )
    chat = await create(client, t, "chatter", capabilities=["chat"])
    mathy = await create(client, t, "mathy", capabilities=["math"], status="deprecated")
    await client.delete(f"/api/agents/{chat['id']}", headers=t.auth("admin"))

    async def names(query: str) -> list[str]:
        r = await client.get(f"/api/agents{query}", headers=v)
        assert r.status_code == 200, r.text
        return [a["name"] for a in r.json()["items"]]

    assert await names("") == ["Coder", "chatter", "mathy"]
    assert await names("?capability=review") == ["Coder"]
    assert await names("?capability=math&capability=chat") == ["chatter", "mathy"]
    assert await names("?capability=math,review") == ["Coder", "mathy"]
    assert await names("?capability=nothing") == []
    assert await names("?status=inactive") == ["chatter"]
    assert await names("?status=active") == ["Coder"]
    assert await names("?status=deprecated&capability=math") == ["mathy"]
    assert await names("?q=CODER") == ["Coder"]
    assert await names("?q=python") == ["Coder"]  # description, case-insensitive
    assert await names("?q=100%25") == ["Coder"]  # % is a literal, not a wildcard
    assert await names("?q=_") == []
    assert await names("?q=agent") == ["chatter", "mathy"]
    r = await client.get("/api/agents?status=gone", headers=v)
    assert r.status_code == 422

    first = (await client.get("/api/agents?limit=2", headers=v)).json()
    assert [a["id"] for a in first["items"]] == [coder["id"], chat["id"]]
    second = (
        await client.get(f"/api/agents?limit=2&cursor={first['next_cursor']}", headers=v)
    ).json()
    assert [a["id"] for a in second["items"]] == [mathy["id"]]
    assert second["next_cursor"] is None


async def test_capability_filter_follows_the_current_version(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    agent = await create(client, t, "shifty", capabilities=["old"])
    await client.patch(
        f"/api/agents/{agent['id']}", json={"capabilities": ["new"]}, headers=t.auth("admin")
    )
    old = await client.get("/api/agents?capability=old", headers=t.auth("viewer"))
    new = await client.get("/api/agents?capability=new", headers=t.auth("viewer"))
    assert old.json()["items"] == []
    assert [a["id"] for a in new.json()["items"]] == [agent["id"]]


# --- validation ------------------------------------------------------------------------------

INVALID = [
    ({"config": {"provider": "nope", "model": "m"}}, "config.provider"),
    ({"config": {"provider": "openai"}}, "config.model"),
    ({"config": {"provider": "openai", "model": " "}}, "config.model"),
    ({"config": {**CONFIG, "temperature": 2.5}}, "config.temperature"),
    ({"config": {**CONFIG, "temperature": -0.1}}, "config.temperature"),
    ({"config": {**CONFIG, "max_tokens": 0}}, "config.max_tokens"),
    ({"config": {**CONFIG, "max_steps": 0}}, "config.max_steps"),
    ({"config": {**CONFIG, "max_steps": 101}}, "config.max_steps"),
    ({"config": {**CONFIG, "timeout_s": 0}}, "config.timeout_s"),
    ({"config": {**CONFIG, "timeout_s": 3601}}, "config.timeout_s"),
    ({"config": {**CONFIG, "fallbacks": [{"provider": "groq"}]}}, "config.fallbacks[0]"),
    (
        {"config": {**CONFIG, "fallbacks": [{"provider": "x", "model": "m"}]}},
        "config.fallbacks[0].provider",
    ),
    ({"config": {**CONFIG, "colour": "red"}}, "config.colour"),
    ({"config": {**CONFIG, "base_url": "ftp://x"}}, "config.base_url"),
    ({"capabilities": [""]}, "capabilities[0]"),
    ({"capabilities": ["ok", "x" * 65]}, "capabilities[1]"),
    ({"capabilities": [f"c{i}" for i in range(51)]}, "capabilities"),
    ({"capabilities": ["a*b"]}, "capabilities[0]"),
    ({"tools": ["calculator", "rm_rf"]}, "tools[1]"),
    ({"tools": [{"name": "calculator", "grants": 3}]}, "tools[0].grants"),
    ({"name": "x" * 101}, "name"),
    ({"status": "sleeping"}, "status"),
]


@pytest.mark.parametrize(("fields", "field"), INVALID)
async def test_invalid_agents_are_422_naming_the_field(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str
) -> None:
    r = await client.post("/api/agents", json=agent_body("bad") | fields)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in [d["field"] for d in error["details"]], error
    listed = await client.get("/api/agents")
    assert listed.json()["items"] == []  # nothing was stored


async def test_invalid_patch_is_422_and_makes_no_version(client: httpx.AsyncClient) -> None:
    agent = await create(client, None, "fine")
    url = f"/api/agents/{agent['id']}"
    r = await client.patch(url, json={"config": {**CONFIG, "max_steps": 1000}})
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [
        {"field": "config.max_steps", "reason": "must be an integer from 1 to 100"}
    ]
    r = await client.patch(url, json={"tools": ["mcp.github.search", "nope"]})
    assert [d["field"] for d in r.json()["error"]["details"]] == ["tools[1]"]
    assert (await client.get(url)).json()["version"] == 1


async def test_known_tools_come_from_the_injected_callable(client: httpx.AsyncClient) -> None:
    services = services_of(client)
    asked: list[tuple[str | None, str]] = []

    def known(tenant_id: str | None, name: str) -> bool:
        asked.append((tenant_id, name))
        return name == "only_this"

    services.agents._known_tools = known
    ok = await client.post(
        "/api/agents", json=agent_body("g", tools=["only_this"], **{"global": True})
    )
    assert ok.status_code == 201, ok.text
    bad = await client.post("/api/agents", json=agent_body("h", tools=["calculator"]))
    assert bad.status_code == 422
    default = await services.tenancy.authenticate(client.headers["Authorization"].split()[1])
    assert asked == [(None, "only_this"), (default.tenant_id, "calculator")]


# --- matching --------------------------------------------------------------------------------


async def test_matching_orders_exact_then_prefix_newest_version_then_newest_agent(
    client: httpx.AsyncClient,
) -> None:
    t = await make_tenant(client, "acme")
    other = await make_tenant(client, "other")
    old = await create(client, t, "old", capabilities=["code.review"])
    bumped = await create(client, t, "bumped", capabilities=["code.review", "chat"])
    r = await client.patch(
        f"/api/agents/{bumped['id']}",
        json={"config": {**CONFIG, "model": "m2"}},
        headers=t.auth("admin"),
    )
    assert r.json()["version"] == 2
    prefix = await create(client, t, "prefix", capabilities=["code.*"])
    shared = await create(client, None, "shared", capabilities=["code.review"], **{"global": True})
    newest = await create(client, t, "newest", capabilities=["code.review"])
    gone = await create(client, t, "gone", capabilities=["code.review"])
    await client.delete(f"/api/agents/{gone['id']}", headers=t.auth("admin"))
    await create(client, t, "old-fashioned", capabilities=["code.review"], status="deprecated")
    await create(client, t, "unrelated", capabilities=["code.reviewer", "code"])
    await create(client, other, "foreign", capabilities=["code.review", "code.*"])

    found = await services_of(client).agents.find_agents_for_task(t.tenant_id, "code.review")
    assert [a.id for a in found] == [
        bumped["id"],
        newest["id"],
        shared["id"],
        old["id"],
        prefix["id"],
    ]
    assert all(a.status is AgentStatus.ACTIVE for a in found)
    assert found[2].is_global

    only_prefix = await services_of(client).agents.find_agents_for_task(t.tenant_id, "code.lint")
    assert [a.id for a in only_prefix] == [prefix["id"]]
    foreign = await services_of(client).agents.find_agents_for_task(other.tenant_id, "code.review")
    assert [a.name for a in foreign] == ["foreign", "shared"]
    assert await services_of(client).agents.find_agents_for_task(t.tenant_id, "") == []


async def test_matching_follows_status_and_capability_changes(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    agent = await create(client, t, "a", capabilities=["chat"])
    svc = services_of(client).agents
    assert [a.id for a in await svc.find_agents_for_task(t.tenant_id, "chat")] == [agent["id"]]
    url = f"/api/agents/{agent['id']}"
    await client.patch(url, json={"status": "inactive"}, headers=t.auth("admin"))
    assert await svc.find_agents_for_task(t.tenant_id, "chat") == []
    await client.patch(
        url, json={"status": "active", "capabilities": ["math"]}, headers=t.auth("admin")
    )
    assert await svc.find_agents_for_task(t.tenant_id, "chat") == []
    assert [a.version for a in await svc.find_agents_for_task(t.tenant_id, "math")] == [2]


# --- roles, global agents and tenants -----------------------------------------------------


async def test_only_admins_write_and_viewers_read(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    agent = await create(client, t, "target")
    url = f"/api/agents/{agent['id']}"
    writes = [
        ("POST", "/api/agents", agent_body("new")),
        ("PATCH", url, {"description": "x"}),
        ("DELETE", url, None),
    ]
    for role in ("viewer", "developer"):
        for method, path, body in writes:
            r = await client.request(method, path, json=body, headers=t.auth(role))
            assert r.status_code == 403, (role, method, r.text)
        for path in ("/api/agents", url, f"{url}/versions"):
            assert (await client.get(path, headers=t.auth(role))).status_code == 200
    got = await client.get(url, headers=t.auth("viewer"))
    assert got.json() == agent  # nothing changed
    for method, path, body in writes:
        r = await client.request(method, path, json=body, headers=t.auth("admin"))
        assert r.status_code in (200, 201), (method, r.text)


async def test_global_agents_are_shared_and_superadmin_only(client: httpx.AsyncClient) -> None:
    t = await make_tenant(client, "acme")
    body = agent_body("helper", **{"global": True})
    r = await client.post("/api/agents", json=body, headers=t.auth("admin"))
    assert r.status_code == 403
    shared = await create(client, None, "helper", **{"global": True})  # the superadmin
    assert shared["global"] is True
    url = f"/api/agents/{shared['id']}"

    seen = await client.get("/api/agents", headers=t.auth("viewer"))
    assert [a["id"] for a in seen.json()["items"]] == [shared["id"]]
    assert (await client.get(url, headers=t.auth("viewer"))).status_code == 200
    assert (await client.get(f"{url}/versions", headers=t.auth("viewer"))).status_code == 200
    for method, payload in (("PATCH", {"description": "mine"}), ("DELETE", None)):
        r = await client.request(method, url, json=payload, headers=t.auth("admin"))
        assert r.status_code == 403, r.text
    # A tenant may still have its own agent of the same name.
    own = await create(client, t, "helper")
    assert own["global"] is False
    r = await client.patch(url, json={"capabilities": ["general"]})
    assert r.status_code == 200 and r.json()["version"] == 2


async def test_another_tenants_agent_is_404_everywhere(client: httpx.AsyncClient) -> None:
    a = await make_tenant(client, "tenant-a")
    b = await make_tenant(client, "tenant-b")
    secret = await create(client, b, "b-secret", capabilities=["secret"])
    url = f"/api/agents/{secret['id']}"
    for method, path, payload in (
        ("GET", url, None),
        ("PATCH", url, {"description": "hacked"}),
        ("DELETE", url, None),
        ("GET", f"{url}/versions", None),
    ):
        r = await client.request(method, path, json=payload, headers=a.auth("admin"))
        assert r.status_code == 404, (method, path, r.text)
    listed = await client.get("/api/agents?capability=secret", headers=a.auth("admin"))
    assert listed.json()["items"] == []
    assert (await client.get("/api/agents?q=secret", headers=a.auth("admin"))).json()["items"] == []
    # The superadmin of another tenant does not see it either: tenants isolate agents.
    assert (await client.get(url)).status_code == 404
    still = await client.get(url, headers=b.auth("viewer"))
    assert still.json() == secret


# --- the service for start-up --------------------------------------------------------------


async def test_demo_agents_are_created_once(client: httpx.AsyncClient) -> None:
    services = services_of(client)
    t = await make_tenant(client, "acme")
    created = await ensure_demo_agents(services, t.tenant_id)
    assert sorted(a.name for a in created) == ["assistant", "calculator"]
    assistant = next(a for a in created if a.name == "assistant")
    assert assistant.spec.config.provider == "local"
    assert assistant.spec.config.model == "smollm2-135m"
    assert assistant.spec.capabilities == ("chat", "general")
    assert [g.name for g in assistant.spec.tools] == ["calculator", "current_time"]
    again = await ensure_demo_agents(services, t.tenant_id)
    assert again == []
    listed = await client.get("/api/agents", headers=t.auth("viewer"))
    assert len(listed.json()["items"]) == 2


async def test_apply_is_idempotent(client: httpx.AsyncClient) -> None:
    services = services_of(client)
    t = await make_tenant(client, "acme")
    caller = Principal(key_id="cli", tenant_id=t.tenant_id, role=Role.ADMIN)
    definition = AgentDefinition(
        name="declared",
        capabilities=["chat"],
        tools=[{"name": "http_request", "grants": {"hosts": ["a.example"]}}],
        config={"provider": "openai", "model": "gpt-4o-mini", "temperature": 1},
    )
    first, outcome = await services.agents.apply(caller, definition)
    assert outcome == "created"
    again, outcome = await services.agents.apply(caller, definition)
    assert (outcome, again.version) == ("unchanged", 1)
    changed = AgentDefinition(**{**_fields(definition), "description": "now described"})
    after, outcome = await services.agents.apply(caller, changed)
    assert (outcome, after.version) == ("updated", 1)
    bumped = AgentDefinition(**{**_fields(changed), "config": {"provider": "openai", "model": "o"}})
    after, outcome = await services.agents.apply(caller, bumped)
    assert (outcome, after.version) == ("updated", 2)
    assert after.id == first.id


def _fields(definition: AgentDefinition) -> dict[str, Any]:
    return {name: getattr(definition, name) for name in definition.__dataclass_fields__}


async def test_the_scripted_provider_needs_the_operators_opt_in(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"enable_test_providers": False}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        c.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        r = await c.post("/api/agents", json=agent_body("fake"))
        assert r.status_code == 422, r.text
        assert [d["field"] for d in r.json()["error"]["details"]] == ["config.provider"]
        fallback = {"provider": "openai", "model": "m", "fallbacks": [CONFIG_REF]}
        r = await c.post("/api/agents", json=agent_body("fake", config=fallback))
        assert r.status_code == 422, r.text
        fields = [d["field"] for d in r.json()["error"]["details"]]
        assert fields == ["config.fallbacks[0].provider"]
        real = await c.post(
            "/api/agents", json=agent_body("real", config={"provider": "openai", "model": "m"})
        )
        assert real.status_code == 201, real.text
        r = await c.patch(f"/api/agents/{real.json()['id']}", json={"config": CONFIG})
        assert r.status_code == 422, r.text
        assert (await c.get("/api/agents")).json()["items"][0]["version"] == 1
