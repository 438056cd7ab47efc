"""The services one process runs, built together around one database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from baton.config import Settings
from baton.domain.audit import CheckpointSigner
from baton.domain.failure_window import FailureWindow
from baton.domain.tasks import AGENT_KIND, RetryPolicy
from baton.engine.agent_loop import AgentRunner
from baton.engine.providers import ProviderPool
from baton.llm.access import LLMAccess
from baton.queue.signals import Signals
from baton.queue.task_queue import QueueLimits, TaskQueue
from baton.queue.worker import Handler, Worker, WorkerSettings
from baton.services.agents import AgentService
from baton.services.audit import AuditService
from baton.services.event_stream import EventStreams, StreamLimits
from baton.services.health import HealthService
from baton.services.housekeeping import Housekeeping
from baton.services.mcp_servers import McpServerService, config_loader
from baton.services.projects import ProjectService
from baton.services.rate_limits import DatabaseRateLimiter
from baton.services.tasks import SpecCache, TaskService
from baton.services.tenancy import TenancyService
from baton.services.webhooks import WebhookSender, WebhookSettings
from baton.store.database import Database
from baton.tools.builtin import HttpLimits, builtin_tools
from baton.tools.gateway import ToolGateway
from baton.tools.host_grants import HostGrantPolicy
from baton.tools.mcp import McpManager
from baton.tools.mcp_endpoint import McpNetwork
from baton.tools.registry import ToolRegistry
from baton.tools.sandbox import BubblewrapSandbox, SandboxLimits


@dataclass
class Services:
    """Every use-case service, sharing one Database."""

    settings: Settings
    db: Database
    tenancy: TenancyService
    projects: ProjectService
    health: HealthService
    audit: AuditService
    agents: AgentService
    tools: ToolRegistry
    gateway: ToolGateway
    mcp: McpManager
    mcp_servers: McpServerService
    signals: Signals
    queue: TaskQueue
    tasks: TaskService
    streams: EventStreams
    providers: ProviderPool
    rate_limiter: DatabaseRateLimiter
    handlers: dict[str, Handler]
    webhooks: WebhookSender
    housekeeping: Housekeeping

    def worker(self) -> Worker:
        """A worker for this process, with the configured pacing."""
        s = self.settings
        return Worker(
            self.queue,
            self.handlers,
            WorkerSettings(
                concurrency=s.worker_concurrency,
                heartbeat_s=s.worker_heartbeat_s,
                poll_s=s.worker_poll_s,
                reap_s=max(1.0, s.worker_lease_s / 3),
                shutdown_grace_s=s.worker_shutdown_grace_s,
            ),
        )

    @classmethod
    def build(
        cls,
        settings: Settings,
        db: Database,
        signer: CheckpointSigner,
        secret: bytes | None = None,
    ) -> Services:
        """Wire the services for ``settings`` over ``db``.

        ``secret`` is the server secret webhook signing keys derive from (see
        ``bootstrap.load_secret_key``); without one, ``settings.secret_key`` or else a
        random secret for this process only.
        """
        audit = AuditService(
            db,
            signer,
            checkpoint_every=settings.audit_checkpoint_every,
            checkpoint_interval=timedelta(seconds=settings.audit_checkpoint_interval_s),
        )
        mcp = McpManager(
            config_loader(db),
            start_timeout_s=settings.mcp_start_timeout_s,
            call_timeout_s=settings.mcp_call_timeout_s,
            backoff_base_s=settings.mcp_restart_backoff_s,
            network=McpNetwork(
                allow_private=settings.mcp_allow_private,
                trust_env=settings.mcp_trust_env,
                max_response_bytes=settings.mcp_max_response_bytes,
            ),
        )
        sandbox_limits = SandboxLimits(
            wall_timeout_s=settings.sandbox_wall_timeout_s,
            cpu_time_s=settings.sandbox_cpu_time_s,
            memory_bytes=settings.sandbox_memory_mb * 1024 * 1024,
            output_bytes=settings.sandbox_output_bytes,
        )
        http = HttpLimits(
            timeout_s=settings.http_tool_timeout_s,
            max_response_bytes=settings.http_tool_max_response_bytes,
            max_redirects=settings.http_tool_max_redirects,
        )
        tools = ToolRegistry(
            builtin_tools(
                sandbox=BubblewrapSandbox(max_concurrent=settings.sandbox_max_concurrent),
                sandbox_limits=sandbox_limits,
                http=http,
                http_allow_private=settings.http_tool_allow_private,
            ),
            source=mcp,
        )
        signals = Signals()
        queue = TaskQueue(
            db,
            audit,
            signals,
            QueueLimits(
                lease=timedelta(seconds=settings.worker_lease_s),
                max_crashes=settings.worker_max_crashes,
                tenant_max_running=settings.tenant_max_running or None,
                retry=RetryPolicy(settings.task_retry_base_s, settings.task_retry_cap_s),
            ),
        )
        agents = AgentService(
            db,
            audit,
            known_tools=tools.knows,
            access=LLMAccess(settings.llm),
            cache_s=settings.read_cache_s,
            test_providers=settings.enable_test_providers,
            host_grants=HostGrantPolicy(settings.http_tool_allow_private),
        )
        gateway = ToolGateway(tools, audit)
        rate_limiter = DatabaseRateLimiter(db)
        providers = ProviderPool(settings.llm, rate_limiter)
        runner = AgentRunner(
            SpecCache(db),
            providers,
            gateway,
            audit,
            max_tool_calls=settings.max_tool_calls_per_response,
        )
        webhooks = WebhookSender(db, secret or _fallback_secret(settings), _webhooks(settings))
        queue.on_webhooks = webhooks.wake
        tenancy = TenancyService(
            db,
            audit,
            cache_s=settings.read_cache_s,
            failures=FailureWindow(settings.auth_max_failures, 60.0),
        )
        tasks = TaskService(
            db, queue, agents, audit, webhook_allow_private=settings.webhook_allow_private
        )
        return cls(
            settings=settings,
            db=db,
            tenancy=tenancy,
            projects=ProjectService(db, audit),
            health=HealthService(db),
            audit=audit,
            agents=agents,
            tools=tools,
            gateway=gateway,
            mcp=mcp,
            mcp_servers=McpServerService(
                db,
                audit,
                mcp,
                stdio_requires_superadmin=settings.mcp_stdio_requires_superadmin,
                allow_private=settings.mcp_allow_private,
            ),
            signals=signals,
            queue=queue,
            tasks=tasks,
            streams=EventStreams(tasks, tenancy, _stream_limits(settings)),
            providers=providers,
            rate_limiter=rate_limiter,
            handlers={AGENT_KIND: runner},
            webhooks=webhooks,
            housekeeping=Housekeeping(db, timedelta(seconds=settings.stream_retention_s)),
        )


def _stream_limits(settings: Settings) -> StreamLimits:
    return StreamLimits(
        keepalive_s=settings.stream_keepalive_s,
        max_lifetime_s=settings.stream_max_lifetime_s,
        max_per_key=settings.stream_max_per_key,
    )


def _webhooks(settings: Settings) -> WebhookSettings:
    return WebhookSettings(
        max_attempts=settings.webhook_max_attempts,
        retry=RetryPolicy(settings.webhook_retry_base_s, settings.webhook_retry_cap_s),
        allow_private=settings.webhook_allow_private,
    )


def _fallback_secret(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode("utf-8")
    return os.urandom(32)
