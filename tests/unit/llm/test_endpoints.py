"""The rules for an agent's own LLM endpoint, key variable and model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from baton.domain.agents import AgentConfig, ModelRef
from baton.domain.messages import ChatMessage, LLMResponse, ToolDefinition
from baton.llm.access import LLMAccess
from baton.llm.agent_endpoint import AgentEndpointProvider
from baton.llm.endpoints import allowed_base_url, check_base_url_address
from baton.llm.errors import (
    InvalidRequest,
    LLMError,
    ProviderConfigurationError,
    RateLimited,
)
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions
from baton.llm.settings import LLMSettings
from baton.tools.addresses import AddressRefused

ALLOWLIST = ["http://127.0.0.1:11434/v1", "https://LLM.Example.com/openai/"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:11434/v1",
        "http://127.0.0.1:11434/v1/",
        "http://127.0.0.1:11434/v1/team-a",
        "http://2130706433:11434/v1",  # the same address, written as one number
        "https://llm.example.com/openai",
        "https://llm.example.com:443/openai/v1",
        "https://LLM.example.com./openai",
    ],
)
def test_urls_under_an_allowed_prefix_are_allowed(url: str) -> None:
    assert allowed_base_url(url, ALLOWLIST)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:11435/v1",
        "https://127.0.0.1:11434/v1",
        "http://127.0.0.2:11434/v1",
        "http://127.0.0.1:11434/v10",
        "http://127.0.0.1:11434",
        "http://localhost:11434/v1",
        "https://llm.example.com.attacker.net/openai",
        "https://llm.example.com/openaiX",
        "http://llm.example.com/openai",
    ],
)
def test_other_urls_are_not(url: str) -> None:
    assert not allowed_base_url(url, ALLOWLIST)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:11434@attacker.net/v1",
        "http://user:pw@127.0.0.1:11434/v1",
        "http://127.0.0.1:11434/v1/../../admin",
        "http://127.0.0.1:11434/v1/%2e%2e/admin",
        "http://127.0.0.1:11434/v1?x=1",
        "http://attacker.net#@127.0.0.1:11434/v1",
        "ftp://127.0.0.1:11434/v1",
        "http://127.0.0.1:11434\\@attacker.net/v1",
    ],
)
def test_urls_that_could_fool_a_prefix_compare_are_refused(url: str) -> None:
    with pytest.raises(AddressRefused):
        allowed_base_url(url, ALLOWLIST)


async def test_cloud_metadata_is_refused_whoever_allowed_the_url() -> None:
    for url in ("http://169.254.169.254/v1", "http://[fd00:ec2::254]/v1", "http://0.0.0.0/v1"):
        with pytest.raises(AddressRefused):
            await check_base_url_address(url, resolver=None)
    await check_base_url_address("http://127.0.0.1:11434/v1", resolver=None)
    await check_base_url_address("http://10.0.0.5/v1", resolver=None)

    async def to_metadata(host: str, port: int) -> Sequence[str]:
        return ["169.254.169.254"]

    await check_base_url_address("http://llm.internal/v1", resolver=None)  # no DNS on save
    with pytest.raises(AddressRefused, match="cloud metadata"):
        await check_base_url_address("http://llm.internal/v1", resolver=to_metadata)


def test_models_allowlist_per_provider_after_alias_resolution() -> None:
    anything = LLMAccess(LLMSettings())
    assert anything.model_problem("openai", "gpt-made-up") is None
    access = LLMAccess(LLMSettings(allowed_models=["openai:gpt-4o-mini", "anthropic:*"]))
    assert access.model_problem("openai", "gpt-4o-mini") is None
    assert access.model_problem("openai", "gpt-3.5") is None  # alias of gpt-4o-mini
    assert access.model_problem("anthropic", "claude-anything") is None
    assert "BATON_LLM_ALLOWED_MODELS" in str(access.model_problem("openai", "gpt-4o"))
    assert access.model_problem("groq", "llama-3.3-70b-versatile") is not None


def test_models_allowlist_reads_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BATON_LLM_ALLOWED_MODELS", "openai:gpt-4o-mini, anthropic:*")
    monkeypatch.setenv("BATON_LLM_ALLOWED_BASE_URLS", "http://127.0.0.1:11434/v1")
    settings = LLMSettings()
    assert settings.allowed_models == ["openai:gpt-4o-mini", "anthropic:*"]
    assert settings.allowed_base_urls == ["http://127.0.0.1:11434/v1"]
    monkeypatch.setenv("BATON_LLM_ALLOWED_BASE_URLS", "http://a@b/v1")
    with pytest.raises(ValueError, match="credentials"):
        LLMSettings()


def test_local_answers_only_to_the_names_of_its_one_file(tmp_path: Path) -> None:
    access = LLMAccess(LLMSettings())
    assert access.model_problem("local", "smollm2-135m") is None
    assert access.model_problem("local", "local") is None  # the alias
    assert "unknown local model" in str(access.model_problem("local", "made-up-1"))
    custom = LLMAccess(LLMSettings(local_model_path=tmp_path / "tiny.gguf"))
    assert custom.model_problem("local", "tiny") is None


def test_key_variables_must_be_listed_and_their_values_are_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEAM_A_KEY", "sk-a")
    monkeypatch.setenv("OTHER_SECRET", "sk-other")
    settings = LLMSettings(allowed_key_envs=["TEAM_A_KEY"])
    monkeypatch.setenv("TEAM_A_KEY", "changed later")
    assert settings.agent_key("TEAM_A_KEY") == "sk-a"
    assert settings.agent_key("OTHER_SECRET") is None
    access = LLMAccess(settings)
    assert access.key_env_problem("TEAM_A_KEY") is None
    assert "BATON_LLM_ALLOWED_KEY_ENVS" in str(access.key_env_problem("OTHER_SECRET"))


def test_config_problems_name_their_fields() -> None:
    access = LLMAccess(LLMSettings(allowed_base_urls=ALLOWLIST, allowed_models=["openai:*"]))
    config = AgentConfig(
        "openai",
        "gpt-4o",
        base_url="http://attacker.net/v1",
        api_key_env="OPENAI_API_KEY",
        fallbacks=(ModelRef("groq", "llama-3.1-8b-instant"),),
    )
    fields = [p["field"] for p in access.problems(config, approved=False)]
    assert fields == ["config.fallbacks[0].model", "config.base_url", "config.api_key_env"]
    approved = [p["field"] for p in access.problems(config, approved=True)]
    assert approved == ["config.fallbacks[0].model", "config.api_key_env"]


class Failing:
    """A provider that fails with a given error."""

    name = "openai_compatible"
    model = "m"

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        raise self.error

    async def stream(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass


async def _error_of(inner: Exception, url: str = "http://127.0.0.1:9/v1") -> LLMError:
    provider = AgentEndpointProvider(Failing(inner), url)  # type: ignore[arg-type]
    with pytest.raises(LLMError) as caught:
        await provider.generate([ChatMessage.user("hi")])
    return caught.value


async def test_errors_from_an_agent_endpoint_keep_their_kind_but_not_the_body() -> None:
    body = "internal admin page: password=hunter2"
    error = await _error_of(InvalidRequest(body, provider="openai_compatible", status=400))
    assert isinstance(error, InvalidRequest) and error.status == 400
    assert "HTTP 400" in str(error) and "hunter2" not in str(error)
    limited = await _error_of(RateLimited(body, retry_after=3.0, provider="x"))
    assert isinstance(limited, RateLimited) and limited.retry_after == 3.0
    assert "hunter2" not in str(limited)
    unreadable = await _error_of(KeyError(body))
    assert "hunter2" not in str(unreadable) and "KeyError" in str(unreadable)


async def test_an_agent_endpoint_is_checked_before_each_request() -> None:
    error = await _error_of(RuntimeError("never reached"), "http://169.254.169.254/v1")
    assert isinstance(error, ProviderConfigurationError)
    assert "cloud metadata" in str(error)
