"""What an agent config may ask of the LLM layer under the operator's allowlists.

Checked when an agent is saved (a 422 naming the field) and again when a task builds its
provider (a stored version may predate a setting), so both read the same rules:

* ``BATON_LLM_ALLOWED_MODELS``: ``provider:model`` or ``provider:*`` pairs; empty allows
  any model. Aliases are resolved first.
* provider ``local`` answers only to the names of the one model file it loads.
* ``config.base_url``: under a ``BATON_LLM_ALLOWED_BASE_URLS`` prefix, or approved (saved
  by a superadmin).
* ``config.api_key_env``: listed in ``BATON_LLM_ALLOWED_KEY_ENVS``.
"""

from __future__ import annotations

from baton.domain.agents import AgentConfig, Problem
from baton.llm.endpoints import allowed_base_url, check_base_url_address
from baton.llm.errors import ProviderConfigurationError
from baton.llm.registry import local_model_names, resolve_model
from baton.llm.settings import LLMSettings
from baton.tools.addresses import AddressRefused

BASE_URL_NOT_ALLOWED = (
    "not allowed: the operator must allow it in BATON_LLM_ALLOWED_BASE_URLS "
    "(or a superadmin save the agent)"
)


class LLMAccess:
    """The operator's rules for models, base URLs and key variables.

    Args:
        settings: The LLM settings holding the allowlists.
    """

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        self._models = frozenset(settings.allowed_models)

    def model_problem(self, provider: str, model: str) -> str | None:
        """Why ``provider``/``model`` may not be used (None when it may)."""
        try:
            resolved = resolve_model(provider, model, self._settings)
        except ProviderConfigurationError as exc:
            return exc.message
        if resolved.provider == "local":
            known = local_model_names(self._settings)
            if resolved.model not in known:
                return f"unknown local model; the local provider runs {', '.join(sorted(known))}"
        wanted = {f"{resolved.provider}:{resolved.model}", f"{resolved.provider}:*"}
        if self._models and not wanted & self._models:
            return f"{resolved.provider}:{resolved.model} is not in BATON_LLM_ALLOWED_MODELS"
        return None

    def base_url_problem(self, base_url: str, *, approved: bool) -> str | None:
        """Why an agent may not use ``base_url``; ``approved``: a superadmin saved it."""
        try:
            allowed = allowed_base_url(base_url, self._settings.allowed_base_urls)
        except AddressRefused as exc:
            return str(exc)
        return None if allowed or approved else BASE_URL_NOT_ALLOWED

    def key_env_problem(self, name: str) -> str | None:
        """Why an agent may not name the key variable ``name``."""
        if name in self._settings.allowed_key_envs:
            return None
        return "not allowed: the operator must list it in BATON_LLM_ALLOWED_KEY_ENVS"

    def problems(self, config: AgentConfig, *, approved: bool) -> list[Problem]:
        """Every rule ``config`` breaks, each naming its field under ``config``."""
        found: list[Problem] = []

        def add(field: str, reason: str | None) -> None:
            if reason:
                found.append({"field": f"config.{field}", "reason": reason})

        add("model", self.model_problem(config.provider, config.model))
        for index, ref in enumerate(config.fallbacks):
            add(f"fallbacks[{index}].model", self.model_problem(ref.provider, ref.model))
        if config.base_url is not None:
            add("base_url", self.base_url_problem(config.base_url, approved=approved))
        if config.api_key_env is not None:
            add("api_key_env", self.key_env_problem(config.api_key_env))
        return found

    @staticmethod
    async def address_problems(config: AgentConfig) -> list[Problem]:
        """The problem of a base URL whose literal IP is always refused (cloud metadata)."""
        if config.base_url is None:
            return []
        try:
            await check_base_url_address(config.base_url, resolver=None)
        except AddressRefused as exc:
            return [{"field": "config.base_url", "reason": str(exc)}]
        return []
