"""HostGrantPolicy: who may save private http_request grants, and how approvals carry over."""

from __future__ import annotations

import pytest

from baton.domain.errors import InvalidInput
from baton.domain.tools import ToolGrant
from baton.tools.host_grants import HostGrantPolicy

PRIVATE = ToolGrant("http_request", {"hosts": [{"host": "10.0.0.12:2375", "allow_private": True}]})
PUBLIC = ToolGrant("http_request", {"hosts": ["api.example.com"]})


def approved(grant: ToolGrant) -> ToolGrant:
    return ToolGrant(grant.name, {**grant.grants, "private_approved": True})


def test_a_superadmin_approval_carries_over_while_the_hosts_stay_the_same() -> None:
    policy = HostGrantPolicy()
    (saved,) = policy.vetted([PRIVATE], superadmin=True)
    assert saved == approved(PRIVATE)
    # A tenant admin re-saving the same hosts (another field changed) keeps the approval.
    assert policy.vetted([saved], [saved], superadmin=False) == (saved,)
    assert policy.vetted([PRIVATE], [saved], superadmin=False) == (saved,)
    # Changing the hosts needs a new approval.
    more = ToolGrant("http_request", {"hosts": [*PRIVATE.grants["hosts"], "a.example"]})
    with pytest.raises(InvalidInput) as info:
        policy.vetted([more], [saved], superadmin=False)
    assert [d["field"] for d in info.value.details or []] == ["tools[0].grants.hosts[0]"]


def test_public_grants_never_keep_an_approval_claim() -> None:
    (saved,) = HostGrantPolicy().vetted([approved(PUBLIC)], superadmin=True)
    assert saved == PUBLIC


def test_the_operator_setting_accepts_without_recording_an_approval() -> None:
    assert HostGrantPolicy(allow_private=True).vetted([PRIVATE], superadmin=False) == (PRIVATE,)
    with pytest.raises(InvalidInput):
        HostGrantPolicy(allow_private=False).vetted([PRIVATE], superadmin=False)
