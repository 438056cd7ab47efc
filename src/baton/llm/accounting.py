"""Token usage and cost totals across every call that goes through a meter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from baton.domain.messages import (
    ChatMessage,
    LLMResponse,
    StreamDone,
    StreamEvent,
    ToolDefinition,
    Usage,
)
from baton.llm.provider import DEFAULT_OPTIONS, GenerateOptions, LLMProvider
from baton.llm.wrapping import ProviderWrapper

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """USD per million tokens.

    Attributes:
        input: Uncached input tokens.
        output: Output tokens.
        cached_input: Input tokens read from the prompt cache (``input`` when unset).
    """

    input: float
    output: float
    cached_input: float | None = None

    def cost(self, usage: Usage) -> float:
        """USD for ``usage``; cached tokens are billed once, at the cached price."""
        cached = min(usage.cached_tokens, usage.input_tokens)
        cached_price = self.input if self.cached_input is None else self.cached_input
        return (
            (usage.input_tokens - cached) * self.input
            + cached * cached_price
            + usage.output_tokens * self.output
        ) / PER_MILLION


class PriceTable:
    """Prices by model.

    Looked up as ``provider/model``, then ``model``, then the longest key that the model
    name starts with (so ``gpt-4o`` prices ``gpt-4o-2024-08-06``).

    Args:
        prices: Prices by key.
    """

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self.prices = dict(prices)

    def find(self, provider: str, model: str) -> Price | None:
        """The price of ``model`` served by ``provider``, or ``None`` if unknown."""
        for key in (f"{provider}/{model}", model):
            if key in self.prices:
                return self.prices[key]
        prefixes = [key for key in self.prices if model.startswith(key)]
        return self.prices[max(prefixes, key=len)] if prefixes else None


@dataclass
class ModelTotals:
    """Totals for one provider and model."""

    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0


class UsageMeter:
    """Accumulates usage and cost; share one meter to total several providers.

    Args:
        prices: The price table; models missing from it count tokens at no cost and are
            listed in ``unpriced``.
    """

    def __init__(self, prices: PriceTable | None = None) -> None:
        self.prices = prices or PriceTable({})
        self.by_model: dict[tuple[str, str], ModelTotals] = {}
        self.unpriced: set[tuple[str, str]] = set()

    def record(self, response: LLMResponse) -> float:
        """Add one response; its cost in USD."""
        key = (response.provider, response.model)
        price = self.prices.find(*key)
        cost = price.cost(response.usage) if price is not None else 0.0
        if price is None:
            self.unpriced.add(key)
        totals = self.by_model.setdefault(key, ModelTotals())
        totals.calls += 1
        totals.usage = totals.usage + response.usage
        totals.cost_usd += cost
        return cost

    @property
    def usage(self) -> Usage:
        """Tokens across every model."""
        total = Usage()
        for totals in self.by_model.values():
            total = total + totals.usage
        return total

    @property
    def cost_usd(self) -> float:
        """USD across every model."""
        return sum(totals.cost_usd for totals in self.by_model.values())

    @property
    def calls(self) -> int:
        """Responses recorded."""
        return sum(totals.calls for totals in self.by_model.values())


class MeteredProvider(ProviderWrapper):
    """Records every response (a stream's when it is done) in a UsageMeter.

    Args:
        inner: The provider to meter.
        meter: Where the totals go.
    """

    def __init__(self, inner: LLMProvider, meter: UsageMeter) -> None:
        super().__init__(inner)
        self.meter = meter

    async def generate(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> LLMResponse:
        """Generate and record the usage."""
        response = await self.inner.generate(messages, tools, options)
        self.meter.record(response)
        return response

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolDefinition] | None = None,
        options: GenerateOptions = DEFAULT_OPTIONS,
    ) -> AsyncIterator[StreamEvent]:
        """Stream and record the usage of the finished reply."""
        async for event in self.inner.stream(messages, tools, options):
            if isinstance(event, StreamDone):
                self.meter.record(event.response)
            yield event
