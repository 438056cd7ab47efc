"""Settings, alias resolution, provider building and run_chat."""

from __future__ import annotations

import importlib.util

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from baton.domain.messages import LLMResponse, ToolCall
from baton.llm.accounting import MeteredProvider, UsageMeter
from baton.llm.chat import default_provider, run_chat
from baton.llm.errors import ProviderConfigurationError, ProviderUnavailable
from baton.llm.fallback import FallbackProvider
from baton.llm.limits import ConcurrencyLimitedProvider, ConcurrencyLimits
from baton.llm.openai_compat import OpenAICompatProvider
from baton.llm.registry import build_provider, provider_names, resolve_model
from baton.llm.retry import RetryingProvider
from baton.llm.scripted import ScriptedLLM
from baton.llm.settings import LLMSettings, ModelRef

VENDOR_VARS = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GROQ_API_KEY",
    "GROQ_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VENDOR_VARS:
        monkeypatch.delenv(name, raising=False)


def test_vendor_variables_without_prefix_and_own_options_with_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("GROQ_BASE_URL", "http://127.0.0.1:9/openai/v1")
    monkeypatch.setenv("BATON_LLM_REQUEST_TIMEOUT_S", "12")
    monkeypatch.setenv(
        "BATON_LLM_ALIASES", '{"fast": {"provider": "groq", "model": "llama-3.1-8b-instant"}}'
    )

    settings = LLMSettings()

    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-test"
    assert settings.groq_base_url == "http://127.0.0.1:9/openai/v1"
    assert settings.request_timeout_s == 12
    assert settings.model_aliases["fast"] == ModelRef(provider="groq", model="llama-3.1-8b-instant")
    assert settings.model_aliases["gpt-4"] == ModelRef(provider="openai", model="gpt-4o")
    assert "sk-test" not in repr(settings)


def test_nests_inside_the_main_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    class Outer(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="BATON_", extra="ignore")
        llm: LLMSettings = Field(default_factory=LLMSettings)

    monkeypatch.setenv("ANTHROPIC_API_KEY", "ak")
    monkeypatch.setenv("BATON_LLM_RETRY_ATTEMPTS", "5")

    outer = Outer()

    assert outer.llm.anthropic_api_key is not None and outer.llm.retry_attempts == 5
    assert LLMSettings(retry_attempts=2).retry_attempts == 2  # field names work in code


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        (None, "gpt-4", ("openai", "gpt-4o")),
        (None, "gpt-3.5", ("openai", "gpt-4o-mini")),
        (None, "claude", ("anthropic", "claude-sonnet-4-5")),
        (None, "local", ("local", "smollm2-135m")),
        ("local", None, ("local", "smollm2-135m")),
        ("openai", "gpt-4", ("openai", "gpt-4o")),
        ("groq", "gpt-4", ("groq", "gpt-4")),  # the alias belongs to another provider
        ("groq", None, ("groq", "llama-3.3-70b-versatile")),
        (None, "groq/llama-3.1-8b-instant", ("groq", "llama-3.1-8b-instant")),
    ],
)
def test_alias_resolution(
    provider: str | None, model: str | None, expected: tuple[str, str]
) -> None:
    resolved = resolve_model(provider, model, LLMSettings())
    assert (resolved.provider, resolved.model) == expected


@pytest.mark.parametrize(
    ("provider", "model", "message"),
    [
        ("cohere", "x", "unknown LLM provider 'cohere'"),
        (None, "gpt-5-turbo", "not a model alias"),
        (None, None, "name a provider"),
        ("openai_compatible", None, "needs a model"),
    ],
)
def test_resolution_errors(provider: str | None, model: str | None, message: str) -> None:
    with pytest.raises(ProviderConfigurationError, match=message):
        resolve_model(provider, model, LLMSettings())


def test_provider_names() -> None:
    assert provider_names() == ("openai", "groq", "anthropic", "openai_compatible", "local")
    assert "scripted" in provider_names(include_testing=True)


def test_build_provider_wraps_in_order() -> None:
    settings = LLMSettings(
        openai_api_key="sk-test", fallbacks={"gpt-4": ["claude"]}, anthropic_api_key="ak"
    )
    meter = UsageMeter()

    provider = build_provider(None, "gpt-4", settings, meter=meter)

    assert isinstance(provider, MeteredProvider) and provider.meter is meter
    chain = provider.inner
    assert isinstance(chain, FallbackProvider)
    assert [p.name for p in chain.providers] == ["openai", "anthropic"]
    retrying = chain.providers[0]
    assert isinstance(retrying, RetryingProvider)
    assert isinstance(retrying.inner, ConcurrencyLimitedProvider)
    assert isinstance(retrying.inner.inner, OpenAICompatProvider)
    assert retrying.inner.inner.model == "gpt-4o"


def test_build_provider_configuration_errors() -> None:
    settings = LLMSettings()
    with pytest.raises(ProviderConfigurationError, match="OPENAI_API_KEY is not set"):
        build_provider("openai", None, settings)
    with pytest.raises(ProviderConfigurationError, match="GROQ_API_KEY is not set"):
        build_provider("groq", None, settings)
    with pytest.raises(ProviderConfigurationError, match="ANTHROPIC_API_KEY is not set"):
        build_provider("anthropic", None, settings)
    with pytest.raises(ProviderConfigurationError, match="needs a base_url"):
        build_provider("openai_compatible", "llama3", settings)
    with pytest.raises(ProviderConfigurationError, match="unknown LLM provider 'nope'"):
        build_provider("nope", "m", settings)
    built = build_provider(
        "openai_compatible", "llama3", settings, base_url="http://127.0.0.1:1/v1"
    )
    assert built.name == "openai_compatible"


def test_missing_local_install_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llama_cpp" else real(name, *a),
    )
    with pytest.raises(ProviderConfigurationError, match=r"pip install 'baton\[local\]'.*make run"):
        build_provider("local", None, LLMSettings())


async def test_shared_limits_across_built_providers() -> None:
    limits = ConcurrencyLimits(default=3)
    settings = LLMSettings()
    first = build_provider("scripted", None, settings, limits=limits)
    second = build_provider("scripted", None, settings, limits=limits)
    assert (await first.generate([])).content == "echo: "
    assert limits.semaphore("scripted") is limits.semaphore("scripted")
    await first.aclose()
    await second.aclose()


def test_default_provider() -> None:
    assert default_provider(LLMSettings()) == "local"
    assert default_provider(LLMSettings(groq_api_key="g")) == "groq"
    assert default_provider(LLMSettings(groq_api_key="g", anthropic_api_key="a")) == "anthropic"
    assert default_provider(LLMSettings(openai_api_key="o", anthropic_api_key="a")) == "openai"


async def test_run_chat_streams_text_and_prints_tool_calls() -> None:
    call = ToolCall.from_arguments("c1", "calculator", {"expression": "17*23"})
    llm = ScriptedLLM([LLMResponse(content="Let me check", tool_calls=(call,))])
    printed: list[str] = []

    response = await run_chat(LLMSettings(), "What is 17*23?", out=printed.append, llm=llm)

    assert "".join(printed) == 'Let me check\n[tool call] calculator({"expression":"17*23"})\n'
    assert response.tool_calls == (call,)
    assert llm.calls[0].messages[0].content == "What is 17*23?" and llm.calls[0].streamed


async def test_run_chat_builds_the_provider() -> None:
    printed: list[str] = []
    response = await run_chat(LLMSettings(), "hi there", provider="scripted", out=printed.append)
    assert response.content == "echo: hi there"
    assert "".join(printed) == "echo: hi there\n"


async def test_scripted_llm_function_errors_and_exhaustion() -> None:
    async def reply(messages, tools):  # type: ignore[no-untyped-def]
        return f"{len(messages)} messages, {len(tools)} tools"

    assert (await ScriptedLLM(reply).generate([], [])).content == "0 messages, 0 tools"
    llm = ScriptedLLM([ProviderUnavailable("down")])
    with pytest.raises(ProviderUnavailable):
        await llm.generate([])
    with pytest.raises(Exception, match="no reply left for call 2"):
        await llm.generate([])
