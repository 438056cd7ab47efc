"""One LLM provider object per (provider, model, base URL, fallbacks), shared by all tasks.

Building a provider is not free (an HTTP client; for ``local`` a model in memory), so the
engine builds each distinct configuration once and shares the concurrency limits and the
usage meter across all of them.
"""

from __future__ import annotations

from baton.domain.agents import AgentConfig
from baton.llm.accounting import UsageMeter
from baton.llm.fallback import FallbackProvider
from baton.llm.limits import ConcurrencyLimits
from baton.llm.provider import LLMProvider
from baton.llm.rate_limit import RateLimitedProvider, RequestRateLimiter
from baton.llm.registry import build_provider
from baton.llm.settings import LLMSettings

Key = tuple[str, str, str | None, tuple[tuple[str, str], ...]]


class ProviderPool:
    """Builds and caches the providers agents use."""

    def __init__(self, settings: LLMSettings, limiter: RequestRateLimiter | None = None) -> None:
        self._settings = settings
        self._limiter = limiter
        self._limits = ConcurrencyLimits(settings.max_concurrency, settings.concurrency)
        self.meter = UsageMeter(settings.price_table())
        self._providers: dict[Key, LLMProvider] = {}
        self._overrides: dict[tuple[str, str], LLMProvider] = {}

    def for_config(self, config: AgentConfig) -> LLMProvider:
        """The provider an agent version's config names, with its own fallback chain."""
        override = self._overrides.get((config.provider, config.model))
        if override is not None:
            return override
        fallbacks = tuple((f.provider, f.model) for f in config.fallbacks)
        key: Key = (config.provider, config.model, config.base_url, fallbacks)
        provider = self._providers.get(key)
        if provider is None:
            provider = self._build(config, fallbacks)
            self._providers[key] = provider
        return provider

    def register(self, provider: str, model: str, llm: LLMProvider) -> None:
        """Serve agents configured with ``provider``/``model`` by ``llm``.

        For a ScriptedLLM in tests or a custom client; the agents' ``base_url`` and
        fallbacks are ignored for it.
        """
        self._overrides[(provider, model)] = llm

    def _build(self, config: AgentConfig, fallbacks: tuple[tuple[str, str], ...]) -> LLMProvider:
        def one(provider: str, model: str, base_url: str | None) -> LLMProvider:
            built = build_provider(
                provider,
                model,
                self._settings,
                base_url,
                limits=self._limits,
                meter=self.meter,
            )
            return self._rate_limited(built, provider)

        primary = one(config.provider, config.model, config.base_url)
        if not fallbacks:
            return primary
        chain = [primary] + [one(p, m, None) for p, m in fallbacks]
        return FallbackProvider(chain)

    def _rate_limited(self, provider: LLMProvider, name: str) -> LLMProvider:
        per_minute = self._settings.requests_per_minute.get(name)
        if per_minute is None or self._limiter is None:
            return provider
        return RateLimitedProvider(provider, self._limiter, name, per_minute)

    async def aclose(self) -> None:
        """Close every provider (HTTP clients, the local model's thread)."""
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
