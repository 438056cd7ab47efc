"""Fixtures of the sandbox escape suite: a real bubblewrap sandbox on its own uids."""

from __future__ import annotations

import random

import pytest

from baton.tools.sandbox import BubblewrapSandbox


@pytest.fixture
def uid_range() -> range:
    """A uid range of this test alone, so leftover checks see no other run's processes."""
    base = random.randrange(200_000, 2_000_000, 50)
    return range(base, base + 50)


@pytest.fixture
def sandbox(uid_range: range) -> BubblewrapSandbox:
    return BubblewrapSandbox(uid_range=uid_range)
