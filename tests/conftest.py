"""Fixtures shared by every test: the network guard and the two databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.netguard import loopback_only


@pytest.fixture(autouse=True)
def _no_internet() -> Iterator[None]:
    """Any connection to a non-loopback address fails the test."""
    with loopback_only():
        yield
