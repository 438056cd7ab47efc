"""The Python client for Baton's HTTP API, blocking and asyncio.

It imports nothing of the server, so it is all a user needs to talk to a running Baton::

    from baton.client import BatonClient

    with BatonClient("http://127.0.0.1:8000", api_key="bk_...") as baton:
        task = baton.submit("math", prompt="What is 2+3?")
        print(baton.wait(task.id, timeout=60).output)
"""

from baton.client._async import AsyncBatonClient
from baton.client._common import DEFAULT_URL, resolve_api_key
from baton.client._errors import (
    AuthenticationError,
    BatonAPIError,
    BatonClientError,
    BatonConnectionError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from baton.client._models import TERMINAL_STATUSES, Event, Page, Task
from baton.client._sse import SSEDecoder
from baton.client._sync import BatonClient

__all__ = [
    "DEFAULT_URL",
    "TERMINAL_STATUSES",
    "AsyncBatonClient",
    "AuthenticationError",
    "BatonAPIError",
    "BatonClient",
    "BatonClientError",
    "BatonConnectionError",
    "ConflictError",
    "Event",
    "InvalidInputError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "SSEDecoder",
    "ServerError",
    "Task",
    "resolve_api_key",
]
