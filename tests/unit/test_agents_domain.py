"""Agent domain rules: config validation and round trip, spec parsing, ranking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baton.domain.agents import (
    Agent,
    AgentConfig,
    AgentSpec,
    AgentStatus,
    ModelRef,
    capability_patterns,
    match_rank,
    rank_agents,
    validate_name,
)
from baton.domain.errors import InvalidInput

PROVIDERS = ("openai", "local", "scripted")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fields_of(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [d["field"] for d in exc.value.details]


def spec(capabilities: list[str] | tuple[str, ...] = ("chat",), **parts: Any) -> AgentSpec:
    return AgentSpec.parse(
        capabilities=capabilities,
        tools=parts.get("tools", []),
        config=parts.get("config", {"provider": "local", "model": "m"}),
        providers=PROVIDERS,
        is_known_tool=parts.get("known", lambda name: name in {"calculator", "http_request"}),
    )


def test_config_defaults_and_round_trip() -> None:
    config = AgentConfig.from_json({"provider": "openai", "model": "gpt-4o"}, providers=PROVIDERS)
    assert config == AgentConfig("openai", "gpt-4o")
    assert config.max_steps == 10 and config.timeout_s == 300.0 and config.temperature is None
    assert "temperature" not in config.to_json()
    full = {
        "provider": "openai",
        "model": "gpt-4o",
        "system_prompt": "be brief",
        "temperature": 0,
        "max_tokens": 256,
        "max_steps": 100,
        "timeout_s": 3600,
        "fallbacks": [{"provider": "local", "model": "smollm2-135m"}],
        "base_url": "http://127.0.0.1:11434/v1",
    }
    config = AgentConfig.from_json(full, providers=PROVIDERS)
    assert config.fallbacks == (ModelRef("local", "smollm2-135m"),)
    assert config.temperature == 0.0 and isinstance(config.temperature, float)
    assert config.to_json() == {**full, "temperature": 0.0, "timeout_s": 3600.0}
    assert AgentConfig.from_json(config.to_json(), providers=PROVIDERS) == config
    assert AgentConfig.restore(config.to_json()) == config


def test_restore_trusts_stored_documents() -> None:
    stored = {
        "provider": "retired",
        "model": "m",
        "fallbacks": [{"provider": "gone", "model": "x"}],
    }
    assert AgentConfig.restore(stored).provider == "retired"
    with pytest.raises(InvalidInput):
        AgentConfig.from_json(stored, providers=PROVIDERS)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"provider": "nope", "model": "m"}, "config.provider"),
        ({"model": "m"}, "config.provider"),
        ({"provider": "local"}, "config.model"),
        ({"provider": "local", "model": ""}, "config.model"),
        ({"provider": "local", "model": "m", "temperature": True}, "config.temperature"),
        ({"provider": "local", "model": "m", "temperature": 2.01}, "config.temperature"),
        ({"provider": "local", "model": "m", "max_tokens": 1.5}, "config.max_tokens"),
        ({"provider": "local", "model": "m", "max_tokens": -1}, "config.max_tokens"),
        ({"provider": "local", "model": "m", "max_steps": 0}, "config.max_steps"),
        ({"provider": "local", "model": "m", "timeout_s": -1}, "config.timeout_s"),
        ({"provider": "local", "model": "m", "timeout_s": "10"}, "config.timeout_s"),
        ({"provider": "local", "model": "m", "system_prompt": 3}, "config.system_prompt"),
        ({"provider": "local", "model": "m", "fallbacks": {}}, "config.fallbacks"),
        ({"provider": "local", "model": "m", "fallbacks": ["local"]}, "config.fallbacks[0]"),
        (
            {"provider": "local", "model": "m", "fallbacks": [{"provider": "local", "model": ""}]},
            "config.fallbacks[0].model",
        ),
        ({"provider": "local", "model": "m", "tempreature": 1}, "config.tempreature"),
    ],
)
def test_each_config_rule_names_its_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        AgentConfig.from_json(doc, providers=PROVIDERS)
    assert fields_of(exc) == [field]


def test_config_boundaries_are_inclusive_where_the_rules_say() -> None:
    base = {"provider": "local", "model": "m"}
    for extra in ({"temperature": 2}, {"max_steps": 1}, {"timeout_s": 0.001}, {"max_tokens": 1}):
        AgentConfig.from_json(base | extra, providers=PROVIDERS)
    assert (
        AgentConfig.from_json(base | {"temperature": None}, providers=PROVIDERS).temperature is None
    )


def test_spec_reports_every_problem_at_once() -> None:
    with pytest.raises(InvalidInput) as exc:
        spec(
            ["ok", "ok", " padded"],
            tools=["calculator", "unknown_tool", {"name": "x", "colour": 1}],
            config={"provider": "local", "model": "m", "max_steps": 500},
        )
    # parse_tool_grants stops at the first bad item; the rest is listed in full.
    assert fields_of(exc) == ["capabilities[1]", "capabilities[2]", "tools[2]", "config.max_steps"]


def test_spec_checks_tool_names_with_the_given_predicate() -> None:
    asked: list[str] = []

    def known(name: str) -> bool:
        asked.append(name)
        return name.startswith("mcp.")

    parsed = spec(
        tools=["mcp.gh.search", {"name": "mcp.x.y", "grants": {"hosts": ["a"]}}], known=known
    )
    assert asked == ["mcp.gh.search", "mcp.x.y"]
    assert parsed.tools_json() == ["mcp.gh.search", {"name": "mcp.x.y", "grants": {"hosts": ["a"]}}]
    with pytest.raises(InvalidInput) as exc:
        spec(tools=["calculator"], known=known)
    assert fields_of(exc) == ["tools[0]"]


@pytest.mark.parametrize(
    ("capabilities", "field"),
    [
        ([""], "capabilities[0]"),
        (["x" * 65], "capabilities[0]"),
        (["*"], "capabilities[0]"),
        ([".*"], "capabilities[0]"),
        (["a.*.b"], "capabilities[0]"),
        (["a*"], "capabilities[0]"),
        (["a", 3], "capabilities[1]"),
        ([f"c{i}" for i in range(51)], "capabilities"),
    ],
)
def test_capability_rules(capabilities: list[Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        spec(capabilities)
    assert fields_of(exc) == [field]


def test_capability_limits_accept_the_edges() -> None:
    assert len(spec([f"c{i}" for i in range(50)]).capabilities) == 50
    assert spec(["x" * 64, "code.*", "a.b.*"]).capabilities == ("x" * 64, "code.*", "a.b.*")
    assert spec([]).capabilities == ()


def test_names() -> None:
    assert validate_name("a") == "a"
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(InvalidInput) as exc:
            validate_name(bad)
        assert fields_of(exc) == ["name"]


def test_capability_patterns_list_prefixes_longest_first() -> None:
    assert capability_patterns("code.python.review") == [
        "code.python.review",
        "code.python.*",
        "code.*",
    ]
    assert capability_patterns("chat") == ["chat"]


def agent(name: str, caps: tuple[str, ...], *, version: int = 1, age: int = 0, **kw: Any) -> Agent:
    created = T0 - timedelta(minutes=age)
    return Agent(
        id=f"{created.isoformat()}-{name}",
        tenant_id="t",
        name=name,
        description="",
        status=kw.get("status", AgentStatus.ACTIVE),
        is_global=False,
        version=version,
        spec=spec(caps),
        created_at=created,
        updated_at=created,
    )


def test_match_rank() -> None:
    s = spec(["code.*", "code.python.*"])
    assert match_rank(s, "code.python.lint") == 1
    assert match_rank(s, "code.go") == 1
    assert match_rank(spec(["code.go", "code.*"]), "code.go") == 0
    assert match_rank(s, "code") is None  # 'code.*' needs something after the prefix
    assert match_rank(s, "chat") is None


def test_ranking_exact_then_longer_prefix_then_version_then_newest() -> None:
    broad = agent("broad", ("code.*",), version=9)
    narrow = agent("narrow", ("code.python.*",))
    old_exact = agent("old", ("code.python.lint",), age=10)
    new_exact = agent("new", ("code.python.lint",), age=1)
    v3_exact = agent("v3", ("code.python.lint",), version=3, age=20)
    off = agent("off", ("code.python.lint",), status=AgentStatus.INACTIVE)
    retired = agent("retired", ("code.python.lint",), status=AgentStatus.DEPRECATED)
    other = agent("other", ("chat",))
    ranked = rank_agents(
        [broad, old_exact, off, narrow, new_exact, other, v3_exact, retired], "code.python.lint"
    )
    assert [a.name for a in ranked] == ["v3", "new", "old", "narrow", "broad"]
    assert rank_agents([], "x") == []
