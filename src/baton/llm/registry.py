"""Building a ready-to-use provider from a name, a model and the settings.

Each concrete provider is wrapped, innermost first: a per-provider concurrency limit, then
retries (so a backoff sleep does not hold a slot), then the fallback chain over those, then
usage accounting around the whole.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from baton.domain.messages import ChatMessage, LLMResponse, ToolDefinition
from baton.llm.accounting import MeteredProvider, UsageMeter
from baton.llm.agent_endpoint import AgentEndpointProvider
from baton.llm.errors import ProviderConfigurationError
from baton.llm.fallback import FallbackProvider
from baton.llm.limits import ConcurrencyLimitedProvider, ConcurrencyLimits
from baton.llm.provider import LLMProvider
from baton.llm.retry import RetryingProvider, RetryPolicy, Sleep
from baton.llm.scripted import ScriptedLLM
from baton.llm.settings import LLMSettings

PROVIDER_NAMES: tuple[str, ...] = ("openai", "groq", "anthropic", "openai_compatible", "local")
TESTING_PROVIDER = "scripted"
NO_KEY = "not-needed"
"""What an agent's own base URL gets as its key when it names none (Ollama needs none)."""
PACKAGED_LOCAL_MODEL = "<packaged SmolLM2>"


def preload_sdk_providers() -> None:
    """Import the SDK-backed providers now rather than inside the first task that uses one.

    They are imported lazily so that CLI commands start fast; a server that would
    otherwise spend about a second of CPU on imports in the middle of its first burst of
    tasks calls this once at start-up.
    """
    importlib.import_module("baton.llm.openai_compat")
    importlib.import_module("baton.llm.anthropic_provider")


def provider_names(include_testing: bool = False) -> tuple[str, ...]:
    """The provider names an agent config may use.

    Args:
        include_testing: Also list ``scripted``, the echo provider for tests and demos.
    """
    return (*PROVIDER_NAMES, TESTING_PROVIDER) if include_testing else PROVIDER_NAMES


@dataclass(frozen=True)
class ResolvedModel:
    """A concrete provider and model, after alias resolution."""

    provider: str
    model: str


def resolve_model(provider: str | None, model: str | None, settings: LLMSettings) -> ResolvedModel:
    """Turn a provider and a model or alias into a concrete pair.

    An alias (``gpt-4``, ``claude``, ``local``, ...) applies when no provider is given or
    the provider matches the alias's; a ``provider/model`` string names both; a missing
    model means the provider's default.

    Raises:
        ProviderConfigurationError: For an unknown provider, or a model with no provider.
    """
    aliases = settings.model_aliases
    if model in aliases and provider in (None, aliases[model].provider):
        ref = aliases[model]
        provider, model = ref.provider, ref.model
    elif provider is None and model and "/" in model:
        provider, model = model.split("/", 1)
    if provider is None and model is None:
        raise ProviderConfigurationError("name a provider or a model alias")
    if provider is None:
        known = ", ".join(sorted(aliases))
        raise ProviderConfigurationError(
            f"{model!r} is not a model alias ({known}); name its provider too"
        )
    if provider not in provider_names(include_testing=True):
        raise ProviderConfigurationError(
            f"unknown LLM provider {provider!r}; expected one of {', '.join(PROVIDER_NAMES)}"
        )
    model = model or settings.provider_default_models.get(provider)
    if not model:
        raise ProviderConfigurationError(f"provider {provider!r} needs a model", provider=provider)
    return ResolvedModel(provider, model)


def local_model_names(settings: LLMSettings) -> frozenset[str]:
    """The model names provider ``local`` answers to; each runs ``local_model_file``.

    The provider's default model, the models of aliases to ``local``, and the stem of
    ``BATON_LLM_LOCAL_MODEL_PATH`` when it is set.
    """
    names = {settings.provider_default_models["local"]}
    names |= {ref.model for ref in settings.model_aliases.values() if ref.provider == "local"}
    if settings.local_model_path is not None:
        names.add(settings.local_model_path.stem)
    return frozenset(names)


def local_model_file(settings: LLMSettings) -> str:
    """The .gguf every local model name loads: the configured one or the packaged SmolLM2."""
    path = settings.local_model_path
    return str(path.resolve()) if path is not None else PACKAGED_LOCAL_MODEL


def _key(secret: object) -> str | None:
    value = getattr(secret, "get_secret_value", None)
    return value() if callable(value) else None


def build_adapter(
    resolved: ResolvedModel,
    settings: LLMSettings,
    base_url: str | None = None,
    api_key: str | None = None,
) -> LLMProvider:
    """The bare provider for ``resolved``, without wrappers.

    A ``base_url`` given here is an agent's own: it never gets the server's key, only
    ``api_key`` or a placeholder.

    Raises:
        ProviderConfigurationError: When a key, a base URL or the local install is missing.
    """
    name, model, timeout = resolved.provider, resolved.model, settings.request_timeout_s
    if base_url is not None:
        api_key = api_key or NO_KEY
    if name == "anthropic":
        from baton.llm.anthropic_provider import AnthropicProvider

        key = api_key or _key(settings.anthropic_api_key)
        if not key:
            raise ProviderConfigurationError("ANTHROPIC_API_KEY is not set", provider=name)
        url = base_url or settings.anthropic_base_url
        return AnthropicProvider(model, api_key=key, base_url=url, timeout=timeout)
    if name in ("openai", "groq", "openai_compatible"):
        from baton.llm.openai_compat import OpenAICompatProvider

        if name == "openai":
            key, url = (
                api_key or _key(settings.openai_api_key),
                base_url or settings.openai_base_url,
            )
        elif name == "groq":
            key, url = api_key or _key(settings.groq_api_key), base_url or settings.groq_base_url
        else:
            key = api_key or _key(settings.compatible_api_key) or "not-needed"
            url = base_url or settings.compatible_base_url
            if not url:
                raise ProviderConfigurationError(
                    "openai_compatible needs a base_url (e.g. http://127.0.0.1:11434/v1 for "
                    "Ollama): set it in the agent config or BATON_LLM_COMPATIBLE_BASE_URL",
                    provider=name,
                )
        if not key:
            raise ProviderConfigurationError(f"{name.upper()}_API_KEY is not set", provider=name)
        return OpenAICompatProvider(
            name,
            model,
            api_key=key,
            base_url=url,
            timeout=timeout,
            dialect="groq" if name == "groq" else "openai",
        )
    if name == "local":
        from baton.llm.local import LocalProvider

        return LocalProvider(
            model,
            model_path=settings.local_model_path,
            context_tokens=settings.local_context_tokens,
            max_tokens=settings.local_max_tokens,
        )
    if name == TESTING_PROVIDER:
        return ScriptedLLM(_echo, model=model)
    raise ProviderConfigurationError(f"unknown LLM provider {name!r}")


def _echo(messages: Sequence[ChatMessage], tools: Sequence[ToolDefinition]) -> LLMResponse:
    last = next((m.content for m in reversed(messages) if m.role == "user"), "")
    return LLMResponse(content=f"echo: {last}")


def build_provider(
    provider_name: str | None,
    model: str | None,
    llm_settings: LLMSettings,
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    limits: ConcurrencyLimits | None = None,
    meter: UsageMeter | None = None,
    sleep: Sleep = asyncio.sleep,
) -> LLMProvider:
    """A provider ready for the agent loop: resolved, wrapped and metered.

    Args:
        provider_name: ``openai``, ``groq``, ``anthropic``, ``openai_compatible``,
            ``local`` (or ``scripted``); ``None`` when ``model`` is an alias.
        model: A model name or alias; ``None`` for the provider's default.
        llm_settings: Keys, timeouts, retry policy, aliases, prices and fallbacks.
        base_url: Overrides the provider's base URL (an agent's ``config.base_url``, checked
            against the operator's allowlist before): it gets ``api_key`` or a placeholder,
            never the server's key, its address is checked before each request and its
            errors do not carry the server's words.
        api_key: Overrides the provider's key.
        limits: Concurrency semaphores to share between built providers; pass the same
            object to every call so the limit is per provider, not per agent.
        meter: Where usage and cost go; a fresh meter with the configured prices if ``None``.
        sleep: What retries await between attempts (tests pass a fake).

    Returns:
        The wrapped provider.

    Raises:
        ProviderConfigurationError: For an unknown provider or missing configuration.
    """
    settings = llm_settings
    primary = resolve_model(provider_name, model, settings)
    targets = [primary]
    for key in (model, f"{primary.provider}/{primary.model}", primary.provider):
        if key and key in settings.fallbacks:
            targets += [resolve_model(None, name, settings) for name in settings.fallbacks[key]]
            break
    limits = limits or ConcurrencyLimits(settings.max_concurrency, settings.concurrency)
    policy = RetryPolicy(
        attempts=settings.retry_attempts,
        base_delay=settings.retry_base_delay_s,
        max_delay=settings.retry_max_delay_s,
        max_retry_after=settings.max_retry_after_s,
    )
    chain: list[LLMProvider] = []
    for index, target in enumerate(targets):
        overrides = (base_url, api_key) if index == 0 else (None, None)
        adapter = build_adapter(target, settings, *overrides)
        if index == 0 and base_url is not None:
            adapter = AgentEndpointProvider(adapter, base_url)
        limited = ConcurrencyLimitedProvider(adapter, limits.semaphore(target.provider))
        chain.append(RetryingProvider(limited, policy, sleep=sleep))
    provider: LLMProvider = chain[0] if len(chain) == 1 else FallbackProvider(chain)
    return MeteredProvider(provider, meter or UsageMeter(settings.price_table()))
