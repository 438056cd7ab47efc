"""The provider pool: bounded, least recently used first out, local keyed by its file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from baton.domain.agents import AgentConfig
from baton.domain.messages import ChatMessage
from baton.engine.providers import ProviderPool
from baton.llm.errors import LLMError, ProviderConfigurationError
from baton.llm.provider import LLMProvider
from baton.llm.scripted import ScriptedLLM
from baton.llm.settings import LLMSettings

HI = [ChatMessage.user("hi")]


def innermost(provider: LLMProvider) -> LLMProvider:
    while hasattr(provider, "inner"):
        provider = provider.inner
    return provider


def scripted(model: str) -> AgentConfig:
    return AgentConfig(provider="scripted", model=model)


def test_the_default_bound() -> None:
    assert LLMSettings().provider_pool_size == 64


async def test_the_pool_keeps_the_most_recent_providers_and_closes_the_rest() -> None:
    pool = ProviderPool(LLMSettings(provider_pool_size=2))
    await pool.for_config(scripted("a")).generate(HI)
    first = innermost(pool.cached()[("scripted", "a", None, None)])
    assert isinstance(first, ScriptedLLM)
    for model in ("b", "a", "c", "d"):  # "a" used again, then two more
        await pool.for_config(scripted(model)).generate(HI)
    assert list(pool.cached()) == [("scripted", "c", None, None), ("scripted", "d", None, None)]
    assert first.closed
    for number in range(500):
        await pool.for_config(scripted(f"made-up-{number}")).generate(HI)
    assert len(pool.cached()) == 2
    await pool.aclose()


async def test_a_provider_in_use_is_closed_only_when_its_call_ends() -> None:
    pool = ProviderPool(LLMSettings(provider_pool_size=1))
    stream = pool.for_config(scripted("busy")).stream(HI)
    await anext(stream)
    busy = innermost(pool.cached()[("scripted", "busy", None, None)])
    assert isinstance(busy, ScriptedLLM)
    await pool.for_config(scripted("other")).generate(HI)
    assert list(pool.cached()) == [("scripted", "other", None, None)]
    assert not busy.closed
    async for _ in stream:
        pass
    assert busy.closed
    # A task holding the dropped one gets it built again on its next call.
    assert (await pool.for_config(scripted("busy")).generate(HI)).content == "echo: hi"
    await pool.aclose()


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs llama.cpp")
async def test_local_models_are_keyed_by_the_file_they_load(tmp_path: Path) -> None:
    model_file = tmp_path / "tiny.gguf"  # never loaded: it does not exist
    pool = ProviderPool(LLMSettings(local_model_path=model_file))
    for name in ("smollm2-135m", "tiny", "local"):
        with pytest.raises(LLMError):
            await pool.for_config(AgentConfig(provider="local", model=name)).generate(HI)
    assert list(pool.cached()) == [("local", str(model_file.resolve()), None, None)]
    with pytest.raises(ProviderConfigurationError, match="unknown local model"):
        await pool.for_config(AgentConfig(provider="local", model="made-up")).generate(HI)
    assert len(pool.cached()) == 1
    await pool.aclose()


async def test_a_config_the_operator_does_not_allow_fails_its_calls() -> None:
    pool = ProviderPool(LLMSettings(allowed_models=["scripted:echo"]))
    assert (await pool.for_config(scripted("echo")).generate(HI)).content == "echo: hi"
    with pytest.raises(ProviderConfigurationError, match="BATON_LLM_ALLOWED_MODELS"):
        await pool.for_config(scripted("other")).generate(HI)
    unapproved = AgentConfig("openai_compatible", "m", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ProviderConfigurationError, match="BATON_LLM_ALLOWED_BASE_URLS"):
        await pool.for_config(unapproved).generate(HI)
    assert list(pool.cached()) == [("scripted", "echo", None, None)]
    await pool.aclose()
