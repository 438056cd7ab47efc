"""Failed sign-ins counted per address in fixed windows."""

from __future__ import annotations

from baton.domain.failure_window import FailureWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_after_its_failures_until_the_window_ends() -> None:
    clock = Clock()
    window = FailureWindow(3, 60, clock=clock)
    for _ in range(2):
        window.failed("1.2.3.4")
    assert window.blocked_for("1.2.3.4") == 0
    window.failed("1.2.3.4")
    clock.now += 10
    assert window.blocked_for("1.2.3.4") == 50
    assert window.blocked_for("5.6.7.8") == 0
    clock.now += 50
    assert window.blocked_for("1.2.3.4") == 0
    window.failed("1.2.3.4")
    assert window.blocked_for("1.2.3.4") == 0  # a new window counts afresh


def test_zero_disables_it() -> None:
    window = FailureWindow(0)
    for _ in range(100):
        window.failed("a")
    assert window.blocked_for("a") == 0


def test_memory_is_bounded_oldest_first() -> None:
    window = FailureWindow(1, 60, max_addresses=2, clock=Clock())
    for address in ("a", "b", "c"):
        window.failed(address)
    assert window.blocked_for("a") == 0
    assert window.blocked_for("b") > 0 and window.blocked_for("c") > 0
