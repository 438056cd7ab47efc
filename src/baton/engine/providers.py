"""LLM provider objects shared by all tasks, at most ``BATON_LLM_PROVIDER_POOL_SIZE`` built.

Building a provider is not free (an HTTP client; for ``local`` a model in memory), so each
distinct target (provider, model, base URL, key variable) is built once and shared, with
the concurrency limits and the usage meter shared across all of them. Every local model
name runs the same file, so ``local`` is keyed by that file: one model in memory.

The least recently used targets are dropped past the bound and closed once no call is
running on them; a task holding one simply has it built again on its next call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from baton.domain.agents import AgentConfig
from baton.domain.messages import ChatMessage, LLMResponse, StreamEvent, ToolDefinition
from baton.llm.access import LLMAccess
from baton.llm.accounting import UsageMeter
from baton.llm.errors import ProviderConfigurationError
from baton.llm.fallback import FallbackProvider
from baton.llm.limits import ConcurrencyLimits
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions, LLMProvider
from baton.llm.rate_limit import RateLimitedProvider, RequestRateLimiter
from baton.llm.registry import build_provider, local_model_file
from baton.llm.settings import LLMSettings

#: provider, model (for ``local``: the file), base URL, key variable.
Key = tuple[str, str, str | None, str | None]


@dataclass(frozen=True, slots=True)
class _Target:
    provider: str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None


@dataclass(slots=True)
class _Slot:
    provider: LLMProvider
    active: int = 0
    dropped: bool = False


class ProviderPool:
    """Builds, caches (LRU-bounded) and closes the providers agents use."""

    def __init__(self, settings: LLMSettings, limiter: RequestRateLimiter | None = None) -> None:
        self._settings = settings
        self._limiter = limiter
        self._access = LLMAccess(settings)
        self._limits = ConcurrencyLimits(settings.max_concurrency, settings.concurrency)
        self.meter = UsageMeter(settings.price_table())
        self._slots: OrderedDict[Key, _Slot] = OrderedDict()
        self._dropped: list[_Slot] = []
        self._overrides: dict[tuple[str, str], LLMProvider] = {}
        self._handed: OrderedDict[AgentConfig, LLMProvider] = OrderedDict()

    def for_config(self, config: AgentConfig) -> LLMProvider:
        """The provider an agent version's config names, with its own fallback chain.

        A config the operator's rules refuse (a model not allowed, a base URL neither
        allowlisted nor approved, ...) or that cannot be built gives a provider whose
        calls raise ProviderConfigurationError saying why.
        """
        override = self._overrides.get((config.provider, config.model))
        if override is not None:
            return override
        # Every task asks: the operator's rules are checked once per config, not per task.
        handed = self._handed.get(config)
        if handed is None:
            handed = self._handed[config] = self._handle(config)
            while len(self._handed) > self._settings.provider_pool_size:
                self._handed.popitem(last=False)
        else:
            self._handed.move_to_end(config)
        return handed

    def _handle(self, config: AgentConfig) -> LLMProvider:
        primary = _Target(config.provider, config.model, config.base_url, config.api_key_env)
        refusal = "; ".join(
            f"{p['field']}: {p['reason']}"
            for p in self._access.problems(config, approved=config.base_url_approved)
        )
        targets = [primary, *(_Target(f.provider, f.model) for f in config.fallbacks)]
        members = [_Member(self, target, refusal or None) for target in targets]
        return members[0] if len(members) == 1 else FallbackProvider(members)

    def register(self, provider: str, model: str, llm: LLMProvider) -> None:
        """Serve agents configured with ``provider``/``model`` by ``llm``.

        For a ScriptedLLM in tests or a custom client; the agents' ``base_url`` and
        fallbacks are ignored for it.
        """
        self._overrides[(provider, model)] = llm

    def cached(self) -> dict[Key, LLMProvider]:
        """The providers built now, least recently used first."""
        return {key: slot.provider for key, slot in self._slots.items()}

    def _key(self, target: _Target) -> Key:
        model = local_model_file(self._settings) if target.provider == "local" else target.model
        return (target.provider, model, target.base_url, target.api_key_env)

    def _slot(self, target: _Target) -> _Slot:
        key = self._key(target)
        slot = self._slots.get(key)
        if slot is not None:
            self._slots.move_to_end(key)
            return slot
        slot = _Slot(self._build(target))
        self._slots[key] = slot
        while len(self._slots) > self._settings.provider_pool_size:
            _, old = self._slots.popitem(last=False)
            old.dropped = True
            self._dropped.append(old)
        return slot

    def _build(self, target: _Target) -> LLMProvider:
        key = None
        if target.api_key_env is not None:
            key = self._settings.agent_key(target.api_key_env)
            if key is None:
                raise ProviderConfigurationError(
                    f"config.api_key_env: {target.api_key_env} is not set on the server",
                    provider=target.provider,
                )
        model = target.model
        if target.provider == "local":  # one instance whatever the name: report one name
            model = self._settings.provider_default_models["local"]
        built = build_provider(
            target.provider,
            model,
            self._settings,
            target.base_url,
            key,
            limits=self._limits,
            meter=self.meter,
        )
        return self._rate_limited(built, target.provider)

    def _rate_limited(self, provider: LLMProvider, name: str) -> LLMProvider:
        per_minute = self._settings.requests_per_minute.get(name)
        if per_minute is None or self._limiter is None:
            return provider
        return RateLimitedProvider(provider, self._limiter, name, per_minute)

    def _checkout(self, target: _Target) -> _Slot:
        slot = self._slot(target)
        slot.active += 1
        return slot

    async def _release(self, slot: _Slot) -> None:
        slot.active -= 1
        idle = [old for old in self._dropped if old.active == 0]
        self._dropped = [old for old in self._dropped if old.active > 0]
        for old in idle:
            await old.provider.aclose()

    async def aclose(self) -> None:
        """Close every provider (HTTP clients, the local model's thread)."""
        slots = [*self._slots.values(), *self._dropped]
        self._slots.clear()
        self._dropped.clear()
        for slot in slots:
            await slot.provider.aclose()


class _Member:
    """What ``for_config`` hands out: finds (or rebuilds) its target's provider per call."""

    def __init__(self, pool: ProviderPool, target: _Target, refusal: str | None) -> None:
        self.name = target.provider
        self.model = target.model
        self._pool = pool
        self._target = target
        self._refusal = refusal

    def _checkout(self) -> _Slot:
        if self._refusal is not None:
            raise ProviderConfigurationError(self._refusal, provider=self.name)
        return self._pool._checkout(self._target)

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Generate with the pooled provider."""
        slot = self._checkout()
        try:
            return await slot.provider.generate(messages, tools, options)
        finally:
            await self._pool._release(slot)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Stream from the pooled provider."""
        slot = self._checkout()
        try:
            async for event in slot.provider.stream(messages, tools, options):
                yield event
        finally:
            await self._pool._release(slot)

    async def aclose(self) -> None:
        """Nothing to do: the pool owns and closes the provider."""
