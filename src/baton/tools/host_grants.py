"""Who may save which ``http_request`` host grants: private ones need the operator or a superadmin.

A tenant admin is trusted with its own tenant, not with the operator's network. A grant
that reaches private, loopback or link-local addresses (``allow_private: true``, or a
host that is such an IP literal) is accepted when the operator allows it for every
tenant (``BATON_HTTP_TOOL_ALLOW_PRIVATE``) or when a superadmin saves it. A superadmin's
save records ``private_approved: true`` in the tool's grants (set by the server, whatever
a document says); the approval carries over to later versions while the host list stays
the same, so a tenant admin may still change the rest of the agent. At call time the
``http_request`` tool honours ``allow_private`` only with the setting or that record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from baton.domain.agents import AgentSpec
from baton.domain.errors import InvalidInput
from baton.domain.tools import ToolGrant
from baton.tools.addresses import AddressRefused, parse_grant

__all__ = ["APPROVED_KEY", "HTTP_TOOL", "HostGrantPolicy", "private_approved"]

HTTP_TOOL = "http_request"
APPROVED_KEY = "private_approved"
_HOSTS = "hosts"


def private_approved(grants: Mapping[str, Any]) -> bool:
    """Whether a superadmin's save approved these ``http_request`` grants' private hosts."""
    return grants.get(APPROVED_KEY) is True


@dataclass(frozen=True, slots=True)
class HostGrantPolicy:
    """Checks the ``http_request`` grants of an agent version being saved.

    Attributes:
        allow_private: The operator lets every tenant grant private addresses.
    """

    allow_private: bool = False

    def vetted_spec(
        self, spec: AgentSpec, previous: AgentSpec | None, *, superadmin: bool
    ) -> AgentSpec:
        """``spec`` with its tool grants :meth:`vetted` against the version it replaces."""
        before = previous.tools if previous is not None else ()
        return replace(spec, tools=self.vetted(spec.tools, before, superadmin=superadmin))

    def vetted(
        self,
        tools: Sequence[ToolGrant],
        previous: Sequence[ToolGrant] = (),
        *,
        superadmin: bool,
    ) -> tuple[ToolGrant, ...]:
        """``tools`` with the ``http_request`` grant checked and its approval set.

        Args:
            tools: The version's tool grants, in the order they were given.
            previous: The tool grants of the version it replaces (none for a new agent).
            superadmin: Whether the caller saving it is a superadmin.

        Raises:
            InvalidInput: Naming each malformed or forbidden grant
                (``tools[2].grants.hosts[0]``).
        """
        before = next((g for g in previous if g.name == HTTP_TOOL), None)
        vetted: list[ToolGrant] = []
        problems: list[dict[str, str]] = []
        for index, grant in enumerate(tools):
            if grant.name != HTTP_TOOL:
                vetted.append(grant)
                continue
            where = f"tools[{index}].grants"
            found, private = _host_problems(grant.grants, where)
            problems += found
            hosts = grant.grants.get(_HOSTS)
            carried = (
                before is not None
                and private_approved(before.grants)
                and before.grants.get(_HOSTS) == hosts
            )
            approved = bool(private) and (superadmin or carried)
            if private and not approved and not self.allow_private:
                reason = (
                    "reaches private, loopback or link-local addresses: needs the operator "
                    "setting BATON_HTTP_TOOL_ALLOW_PRIVATE or a superadmin saving the agent"
                )
                problems += [{"field": field, "reason": reason} for field in private]
            values = {k: v for k, v in grant.grants.items() if k != APPROVED_KEY}
            if approved:
                values[APPROVED_KEY] = True
            vetted.append(ToolGrant(grant.name, values))
        if problems:
            summary = "; ".join(f"{p['field']}: {p['reason']}" for p in problems[:5])
            raise InvalidInput(f"invalid agent: {summary}", details=problems)
        return tuple(vetted)


def _host_problems(grants: Mapping[str, Any], where: str) -> tuple[list[dict[str, str]], list[str]]:
    """The problems of one ``http_request`` grant, and the fields of its private hosts."""
    unknown = set(grants) - {_HOSTS, APPROVED_KEY}
    if unknown:
        return [{"field": where, "reason": f"unknown keys {sorted(unknown)}: only 'hosts'"}], []
    hosts = grants.get(_HOSTS, [])
    if not isinstance(hosts, list):
        return [{"field": f"{where}.{_HOSTS}", "reason": "must be a list of host grants"}], []
    problems: list[dict[str, str]] = []
    private: list[str] = []
    for index, host in enumerate(hosts):
        field = f"{where}.{_HOSTS}[{index}]"
        if not isinstance(host, str | Mapping):
            problems.append({"field": field, "reason": "must be a host or {host, allow_private}"})
            continue
        try:
            if parse_grant(host).reaches_private():
                private.append(field)
        except AddressRefused as exc:
            problems.append({"field": field, "reason": f"never reachable: {exc}"})
        except ValueError as exc:
            problems.append({"field": field, "reason": str(exc)})
    return problems, private
