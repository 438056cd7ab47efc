"""LLM configuration: vendor keys from their usual variables, Baton's options as BATON_LLM_*."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from baton.domain.agents import ENV_NAME
from baton.llm.accounting import Price, PriceTable
from baton.llm.endpoints import BaseUrl
from baton.tools.addresses import AddressRefused


class ModelRef(BaseModel):
    """A concrete provider and model."""

    model_config = ConfigDict(frozen=True)

    provider: str
    model: str


class PriceEntry(BaseModel):
    """USD per million tokens (``cached_input`` defaults to ``input``)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


DEFAULT_ALIASES: dict[str, ModelRef] = {
    "gpt-4": ModelRef(provider="openai", model="gpt-4o"),
    "gpt-3.5": ModelRef(provider="openai", model="gpt-4o-mini"),
    "claude": ModelRef(provider="anthropic", model="claude-sonnet-4-5"),
    "local": ModelRef(provider="local", model="smollm2-135m"),
}

DEFAULT_MODELS: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "groq": "llama-3.3-70b-versatile",
    "anthropic": "claude-sonnet-4-5",
    "local": "smollm2-135m",
    "scripted": "echo",
}

# List prices at the time of writing; override with BATON_LLM_PRICES.
DEFAULT_PRICES: dict[str, PriceEntry] = {
    "gpt-4o-mini": PriceEntry(input=0.15, cached_input=0.075, output=0.60),
    "gpt-4o": PriceEntry(input=2.50, cached_input=1.25, output=10.00),
    "gpt-4.1-mini": PriceEntry(input=0.40, cached_input=0.10, output=1.60),
    "gpt-4.1": PriceEntry(input=2.00, cached_input=0.50, output=8.00),
    "claude-sonnet-4": PriceEntry(input=3.00, cached_input=0.30, output=15.00),
    "claude-haiku-4": PriceEntry(input=1.00, cached_input=0.10, output=5.00),
    "claude-opus-4": PriceEntry(input=15.00, cached_input=1.50, output=75.00),
    "groq/llama-3.3-70b-versatile": PriceEntry(input=0.59, output=0.79),
    "groq/llama-3.1-8b-instant": PriceEntry(input=0.05, output=0.08),
    "local/smollm2-135m": PriceEntry(input=0.0, output=0.0),
}


class LLMSettings(BaseSettings):
    """Everything the LLM layer reads from the environment.

    Vendor variables keep their usual names (``OPENAI_API_KEY``, ``GROQ_BASE_URL``, ...);
    Baton's own options use the prefix ``BATON_LLM_`` (``BATON_LLM_REQUEST_TIMEOUT_S``).
    Mapping options (aliases, prices, fallbacks, per-provider concurrency) are JSON and
    extend the defaults rather than replace them.
    """

    model_config = SettingsConfigDict(
        env_prefix="BATON_LLM_", extra="ignore", populate_by_name=True
    )

    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    groq_api_key: SecretStr | None = Field(default=None, validation_alias="GROQ_API_KEY")
    groq_base_url: str = Field(
        default="https://api.groq.com/openai/v1", validation_alias="GROQ_BASE_URL"
    )
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(default=None, validation_alias="ANTHROPIC_BASE_URL")

    compatible_base_url: str | None = Field(
        default=None, description="Default base URL for provider openai_compatible."
    )
    compatible_api_key: SecretStr | None = Field(
        default=None, description="Key for provider openai_compatible, if the server wants one."
    )
    request_timeout_s: float = Field(default=60.0, gt=0)
    retry_attempts: int = Field(default=3, ge=1, description="Tries in all, the first included.")
    retry_base_delay_s: float = Field(default=0.5, ge=0)
    retry_max_delay_s: float = Field(default=20.0, ge=0)
    max_retry_after_s: float = Field(
        default=60.0, ge=0, description="A longer Retry-After fails over instead of waiting."
    )
    max_concurrency: int = Field(default=512, ge=1, description="Requests at once per provider.")
    requests_per_minute: dict[str, int] = Field(
        default_factory=dict,
        description="Per-provider request rate limits, enforced across every worker.",
    )
    concurrency: dict[str, int] = Field(
        default_factory=dict, description="Per-provider overrides of max_concurrency."
    )
    aliases: dict[str, ModelRef] = Field(default_factory=dict)
    default_models: dict[str, str] = Field(default_factory=dict)
    prices: dict[str, PriceEntry] = Field(default_factory=dict)
    fallbacks: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Model alias or provider/model -> aliases or provider/models to try next.",
    )
    local_model_path: Path | None = Field(
        default=None, description="A .gguf to run instead of the packaged SmolLM2."
    )
    local_context_tokens: int = Field(default=2048, ge=256)
    local_max_tokens: int = Field(default=512, ge=1)
    allowed_base_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="URL prefixes an agent's config.base_url may lie under (comma-separated).",
    )
    allowed_key_envs: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Environment variables an agent's config.api_key_env may name.",
    )
    allowed_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="provider:model or provider:* agents may use (comma-separated; empty: any).",
    )
    provider_pool_size: int = Field(
        default=64, ge=1, description="Distinct providers kept built at once (least recent go)."
    )
    _agent_keys: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    @field_validator("allowed_base_urls", "allowed_key_envs", "allowed_models", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_base_urls")
    @classmethod
    def _base_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            try:
                BaseUrl.parse(url)
            except AddressRefused as exc:
                raise ValueError(f"{url!r}: {exc}") from None
        return value

    @field_validator("allowed_key_envs")
    @classmethod
    def _key_envs(cls, value: list[str]) -> list[str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return value

    @field_validator("allowed_models")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        for entry in value:
            provider, _, model = entry.partition(":")
            if not provider or not model:
                raise ValueError(f"{entry!r}: expected provider:model or provider:*")
        return value

    def model_post_init(self, context: Any, /) -> None:
        """Read the allowed key variables once, with the rest of the environment."""
        self._agent_keys = {
            name: SecretStr(os.environ[name])
            for name in self.allowed_key_envs
            if os.environ.get(name)
        }

    def agent_key(self, name: str) -> str | None:
        """The value of the allowed key variable ``name``; None when unset or not allowed."""
        secret = self._agent_keys.get(name)
        return secret.get_secret_value() if secret is not None else None

    @property
    def model_aliases(self) -> dict[str, ModelRef]:
        """The built-in aliases overridden and extended by ``aliases``."""
        return {**DEFAULT_ALIASES, **self.aliases}

    @property
    def provider_default_models(self) -> dict[str, str]:
        """The model each provider uses when none is named."""
        return {**DEFAULT_MODELS, **self.default_models}

    def price_table(self) -> PriceTable:
        """The built-in prices overridden and extended by ``prices``."""
        entries = {**DEFAULT_PRICES, **self.prices}
        return PriceTable(
            {
                key: Price(input=entry.input, output=entry.output, cached_input=entry.cached_input)
                for key, entry in entries.items()
            }
        )

    def has_hosted_key(self) -> bool:
        """Whether any hosted provider's key is set."""
        return any((self.openai_api_key, self.anthropic_api_key, self.groq_api_key))
