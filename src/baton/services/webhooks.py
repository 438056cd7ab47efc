"""Sending webhooks: claim due deliveries, sign them, POST them, record how it went.

The URL is checked again at send time (its DNS may have changed since submission) and the
request goes to the checked, pinned IP through the ``http_request`` tool's sender, so a
second DNS answer cannot point it somewhere else. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection

from baton.domain.tasks import RetryPolicy
from baton.domain.webhooks import Delivery, sign, tenant_secret
from baton.store.database import Database
from baton.store.webhooks import AttemptResult, DeliveryRecord, WebhookRepository
from baton.tools.addresses import (
    AddressRefused,
    ResolvedTarget,
    Resolver,
    check_url,
    system_resolver,
)
from baton.tools.builtin import HttpLimits
from baton.tools.builtin.http_request import HttpRequestTool
from baton.tools.registry import ToolError

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2000
_ERROR_BODY_BYTES = 512


def loggable_url(url: str) -> str:
    """``scheme://host/path`` of ``url``: its credentials, query and fragment can hold tokens."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


async def check_webhook_url(
    url: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> ResolvedTarget:
    """Check a webhook URL: http(s), at most 2000 characters, to an address it may reach.

    Private, loopback and link-local addresses need ``allow_private``; cloud metadata and
    other special addresses are refused always.

    Raises:
        AddressRefused: When the URL may not be called.
    """
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused("invalid_url", f"URL is longer than {MAX_URL_LENGTH} characters")
    try:
        netloc = urlsplit(url).netloc.rpartition("@")[2]
    except ValueError as exc:
        raise AddressRefused("invalid_url", f"invalid URL: {exc}") from None
    if not netloc:
        raise AddressRefused("invalid_url", "the URL has no host")
    try:
        return await check_url(
            url, [{"host": netloc, "allow_private": allow_private}], resolver=resolver
        )
    except ValueError as exc:  # the host part cannot even be parsed as a grant
        raise AddressRefused("invalid_url", f"invalid URL host: {exc}") from None


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """How deliveries are sent and retried.

    Attributes:
        max_attempts: Attempts before a delivery is marked failed.
        retry: Backoff between attempts (full jitter).
        timeout_s: Seconds for one POST.
        lease: How long a claimed delivery stays claimed (longer than one send).
        allow_private: Whether URLs may reach private and loopback addresses.
        batch: Deliveries claimed at once.
    """

    max_attempts: int = 8
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(1.0, 600.0))
    timeout_s: float = 10.0
    lease: timedelta = timedelta(seconds=60)
    allow_private: bool = False
    batch: int = 50


class WebhookSender:
    """Sends the outbox's due deliveries, signed with each tenant's secret.

    Args:
        db: The database holding the outbox.
        master_secret: The server secret the tenants' secrets derive from.
        settings: Attempts, backoff, timeouts.
        resolver: Name resolution (tests pass a fake).
        transport: An httpx transport (tests pass a mock); None for the network.
    """

    def __init__(
        self,
        db: Database,
        master_secret: bytes,
        settings: WebhookSettings | None = None,
        *,
        resolver: Resolver = system_resolver,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._db = db
        self._master = master_secret
        self.settings = settings or WebhookSettings()
        self._resolver = resolver
        self._http = HttpRequestTool(
            http=HttpLimits(
                timeout_s=self.settings.timeout_s,
                max_response_bytes=_ERROR_BODY_BYTES,
                max_redirects=0,
            ),
            resolver=resolver,
            transport=transport,
        )
        self._lock = asyncio.Lock()
        self._woken: asyncio.Task[None] | None = None
        self._again = False

    def secret_for(self, tenant_id: str) -> bytes:
        """The tenant's signing secret."""
        return tenant_secret(self._master, tenant_id)

    async def deliveries(self, tenant_id: str, task_id: str) -> list[DeliveryRecord]:
        """A task's deliveries, oldest first."""
        return await self._db.run(
            lambda c: WebhookRepository(c).for_task(tenant_id, task_id), write=False
        )

    async def deliver_due(self) -> int:
        """Send every due delivery (batch by batch); return how many were attempted."""
        sent = 0
        async with self._lock:
            while True:
                due = await self._db.run(self._claim)
                if not due:
                    return sent
                results = await asyncio.gather(*(self._attempt(d) for d in due))
                await self._db.run(functools.partial(_record, results=results))
                sent += len(due)

    def _claim(self, conn: Connection) -> list[Delivery]:
        return WebhookRepository(conn).claim_due(self.settings.batch, self.settings.lease)

    def wake(self) -> None:
        """Send due deliveries soon, in the background (coalescing repeated wake-ups)."""
        if self._woken is not None and not self._woken.done():
            self._again = True
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the poll will send it
            self._woken = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            try:
                await self.deliver_due()
            except Exception:
                log.exception("sending webhooks failed; the next poll retries")
                return

    async def aclose(self) -> None:
        """Stop a background send started by ``wake``."""
        task, self._woken = self._woken, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _attempt(self, delivery: Delivery) -> AttemptResult:
        attempts = delivery.attempts + 1
        error = await self._send(delivery)
        if error is None:
            return AttemptResult(delivery.id, attempts)
        log.info(
            "webhook %s to %s failed (attempt %d): %s",
            delivery.id,
            loggable_url(delivery.url),
            attempts,
            error,
        )
        if attempts >= self.settings.max_attempts:
            return AttemptResult(delivery.id, attempts, error)
        return AttemptResult(delivery.id, attempts, error, self.settings.retry.delay(attempts))

    async def _send(self, delivery: Delivery) -> str | None:
        """POST one delivery; None when the receiver took it (2xx), else why not."""
        try:
            target = await check_webhook_url(
                delivery.url, allow_private=self.settings.allow_private, resolver=self._resolver
            )
        except AddressRefused as exc:
            return f"refused: {exc}"
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Baton-Webhooks",
            "X-Baton-Event": delivery.event,
            "X-Baton-Delivery": delivery.id,
            "X-Baton-Timestamp": str(timestamp),
            "X-Baton-Signature": sign(
                self.secret_for(delivery.tenant_id), timestamp, body.encode("utf-8")
            ),
        }
        try:
            response = await self._http._send(target, "POST", headers, body)
        except ToolError as exc:
            return str(exc)
        if 200 <= response.status < 300:
            return None
        snippet = response.body.decode("utf-8", errors="replace")[:200]
        return f"HTTP {response.status}: {snippet}".rstrip(": ")


def _record(conn: Connection, results: list[AttemptResult]) -> None:
    WebhookRepository(conn).record(results)
