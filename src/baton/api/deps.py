"""Dependencies shared by the routers: the caller, the services and list parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from baton.api.policy import authorize
from baton.domain.tenancy import Principal
from baton.services.container import Services


async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Caller = Annotated[Principal, Depends(authorize)]
Svc = Annotated[Services, Depends(_services)]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="from the previous page")]
