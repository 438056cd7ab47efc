"""Settings: the one configuration object, built once in the composition root."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from baton.llm.settings import LLMSettings

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """Everything Baton reads from its environment (prefix ``BATON_``).

    Build it once (``Settings()``) at start-up and pass it down; nothing else reads
    environment variables.
    """

    model_config = SettingsConfigDict(env_prefix="BATON_", extra="ignore")

    data_dir: Path = Field(default=Path(".baton"), description="Where SQLite, keys and state live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to SQLite at $BATON_DATA_DIR/baton.db.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    admin_key: SecretStr | None = Field(
        default=None, description="Key of the first superadmin; generated when unset."
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Signs sessions; generated into the data dir when unset."
    )
    log_level: LogLevel = "INFO"
    log_json: bool = True
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    auto_migrate: bool = Field(
        default=True, description="`baton serve` upgrades the schema to head before serving."
    )
    db_pool_size: int = Field(default=10, ge=1)
    read_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="Seconds API keys and agents read on the request path are reused; a key "
        "revoked or an agent changed through another process counts within this time "
        "(this process drops its copies at once; 0: never cached).",
    )
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="Base64 Ed25519 seed for checkpoints; else $BATON_DATA_DIR/audit.key.",
    )
    audit_checkpoint_every: int = Field(default=1000, ge=1, description="Entries per checkpoint.")
    audit_checkpoint_interval_s: float = Field(
        default=60.0, gt=0, description="Longest time a grown log waits for a checkpoint."
    )
    audit_retention_interval_s: float = Field(
        default=3600.0, gt=0, description="How often retention policies are enforced."
    )
    stream_retention_s: float = Field(
        default=7 * 24 * 3600.0,
        ge=60,
        description="How long task stream events, finished tasks' tool journals and settled "
        "webhook calls are kept (the audit log keeps everything for good).",
    )
    llm: LLMSettings = Field(
        default_factory=LLMSettings,
        description="Providers, keys, aliases and prices (OPENAI_API_KEY, BATON_LLM_*...).",
    )
    worker_concurrency: int = Field(default=500, ge=1, description="Tasks one worker runs at once.")
    worker_lease_s: float = Field(default=30.0, ge=1, description="How long a claim holds.")
    worker_heartbeat_s: float = Field(default=5.0, gt=0, description="Lease renewal period.")
    worker_poll_s: float = Field(default=1.0, gt=0, description="Idle poll when no signal comes.")
    worker_max_crashes: int = Field(default=3, ge=1, description="Lost leases before failing.")
    worker_shutdown_grace_s: float = Field(default=10.0, ge=0)
    tenant_max_running: int = Field(
        default=1000,
        ge=0,
        description="Running tasks per tenant at once, across all workers (0: no cap).",
    )
    stream_keepalive_s: float = Field(
        default=15.0, gt=0, description="SSE keep-alive period; the key is re-checked at each."
    )
    stream_max_lifetime_s: float = Field(
        default=3600.0, gt=0, description="An SSE stream ends after this; clients reconnect."
    )
    stream_max_per_key: int = Field(
        default=8, ge=1, description="SSE streams one API key holds at once in one process."
    )
    auth_max_failures: int = Field(
        default=30, ge=0, description="Failed sign-ins per client address per minute (0: any)."
    )
    public_metrics: bool = Field(
        default=True, description="/metrics, /docs and /openapi.json need no key."
    )
    max_tool_calls_per_response: int = Field(
        default=16, ge=1, description="Tool calls run per model response; the rest refused."
    )
    sandbox_max_concurrent: int = Field(
        default=8, ge=1, description="python tool: sandbox runs at once in one process."
    )
    task_retry_base_s: float = Field(default=1.0, ge=0, description="First retry backoff cap.")
    task_retry_cap_s: float = Field(default=300.0, ge=0)
    webhook_allow_private: bool = Field(
        default=False, description="Webhook URLs may reach private and loopback addresses."
    )
    webhook_max_attempts: int = Field(default=8, ge=1, description="Attempts before giving up.")
    webhook_poll_s: float = Field(default=1.0, gt=0, description="How often due webhooks go.")
    webhook_retry_base_s: float = Field(default=1.0, ge=0, description="First retry backoff cap.")
    webhook_retry_cap_s: float = Field(default=600.0, ge=0, description="Longest retry backoff.")
    enable_test_providers: bool = Field(
        default=False, description="Agents may use the `scripted` test provider (tests only)."
    )
    demo_agents: bool = Field(
        default=True, description="First start creates the demo agents (local model)."
    )
    plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Modules whose setup(services) registers Python tools and task handlers "
        "(comma-separated in BATON_PLUGINS).",
    )
    run_workers: bool = Field(default=True, description="Run task workers inside `baton serve`.")
    sandbox_wall_timeout_s: float = Field(default=10.0, gt=0, description="python tool: wall time.")
    sandbox_cpu_time_s: int = Field(default=5, ge=1, description="python tool: CPU seconds.")
    sandbox_memory_mb: int = Field(default=256, ge=16, description="python tool: address space.")
    sandbox_output_bytes: int = Field(
        default=64 * 1024, ge=1024, description="python tool: bytes kept of stdout and stderr each."
    )
    http_tool_timeout_s: float = Field(default=15.0, gt=0, description="http_request: whole call.")
    http_tool_max_response_bytes: int = Field(
        default=256 * 1024, ge=1024, description="http_request: body bytes kept (then truncated)."
    )
    http_tool_max_redirects: int = Field(default=5, ge=0, le=20)
    http_tool_allow_private: bool = Field(
        default=False,
        description="http_request grants saved by tenant admins may reach private and "
        "loopback addresses (else only a superadmin may save such grants).",
    )
    mcp_start_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest wait for an MCP server to start and list tools."
    )
    mcp_call_timeout_s: float = Field(default=60.0, gt=0, description="Timeout of MCP tool calls.")
    mcp_restart_backoff_s: float = Field(
        default=1.0, gt=0, description="First wait before restarting a failed MCP server."
    )
    mcp_stdio_requires_superadmin: bool = Field(
        default=True, description="Only a superadmin may register stdio (host command) servers."
    )
    mcp_allow_private: bool = Field(
        default=False,
        description="HTTP MCP servers registered by tenant admins may be at private and "
        "loopback addresses (else only a superadmin may register those).",
    )
    mcp_trust_env: bool = Field(
        default=False, description="HTTP MCP connections use HTTP(S)_PROXY and the like."
    )
    mcp_max_response_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Largest HTTP MCP response read."
    )

    @field_validator("plugins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: the configured one or SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'baton.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite."""
        return self.effective_database_url.startswith("sqlite")
