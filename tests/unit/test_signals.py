"""Event wake-ups are never lost between reading events and waiting for more."""

from __future__ import annotations

import asyncio

from baton.queue.signals import EVENTS, Signals


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
