"""Water-filling shares of a claim's slots between tenants."""

from __future__ import annotations

from baton.domain.fair_share import fair_shares


def test_idle_tenants_share_slots_evenly() -> None:
    assert fair_shares(["a", "b"], {}, 4) == {"a": 2, "b": 2}


def test_the_tenant_running_least_is_served_first() -> None:
    assert fair_shares(["a", "b"], {"a": 10}, 4) == {"b": 4}
    assert fair_shares(["a", "b"], {"a": 3, "b": 1}, 4) == {"a": 1, "b": 3}


def test_ties_follow_the_given_order() -> None:
    assert fair_shares(["b", "a"], {}, 1) == {"b": 1}
    assert fair_shares(["a", "b"], {}, 1) == {"a": 1}


def test_the_cap_bounds_every_tenant() -> None:
    assert fair_shares(["a", "b"], {"a": 2}, 10, cap=3) == {"a": 1, "b": 3}
    assert fair_shares(["a"], {"a": 3}, 10, cap=3) == {}


def test_no_slots_or_no_tenants_give_nothing() -> None:
    assert fair_shares(["a"], {}, 0) == {}
    assert fair_shares([], {}, 5) == {}
