"""Event wake-ups are never lost between reading events and waiting for more."""

from __future__ import annotations

import asyncio

from baton.queue.signals import EVENTS, Signals, tenants_value


async def test_a_signal_between_reading_and_waiting_is_not_missed() -> None:
    signals = Signals()
    other = asyncio.create_task(signals.wait_events(5.0))  # another stream, waiting
    await asyncio.sleep(0)
    seen = signals.events_count  # this stream: read the count, then its events...
    signals.dispatch(EVENTS)  # ...a new event lands meanwhile...
    await other  # ...and the other stream wakes first (and re-arms the wake-up)
    # This stream must not sleep through the event it has not read yet.
    await asyncio.wait_for(signals.wait_events(5.0, since=seen), 1.0)


async def test_without_new_signals_the_wait_lasts_its_time() -> None:
    signals = Signals()
    seen = signals.events_count
    waiting = asyncio.create_task(signals.wait_events(5.0, since=seen))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    signals.dispatch(EVENTS)
    await asyncio.wait_for(waiting, 1.0)


async def test_a_tenants_streams_sleep_through_other_tenants_events() -> None:
    signals = Signals()
    seen = signals.events_count_for("a")
    waiting = asyncio.create_task(signals.wait_events(5.0, since=seen, tenant="a"))
    await asyncio.sleep(0)
    signals.dispatch(EVENTS, tenants_value(["b", "c"]))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert signals.events_count_for("a") == seen
    signals.dispatch(EVENTS, tenants_value(["c", "a"]))
    await asyncio.wait_for(waiting, 1.0)


async def test_an_event_for_everyone_wakes_every_tenant() -> None:
    signals = Signals()
    seen = signals.events_count_for("a")
    waiting = asyncio.create_task(signals.wait_events(5.0, since=seen, tenant="a"))
    await asyncio.sleep(0)
    signals.dispatch(EVENTS)
    await asyncio.wait_for(waiting, 1.0)
    # A stream that read its count before the broadcast returns at once.
    await asyncio.wait_for(signals.wait_events(5.0, since=seen, tenant="a"), 1.0)


def test_too_many_tenants_for_one_notification_wake_everyone() -> None:
    assert tenants_value(["b", "a", "b"]) == "a,b"
    assert tenants_value(f"tenant-{i:040d}" for i in range(300)) == ""
