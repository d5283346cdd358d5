"""The pacer: evenly spaced sends, one chat's interval, the most urgent first, 429 pauses."""

from __future__ import annotations

import asyncio

from bot.jobs.pacer import Pacer, Priority


async def _grants(pacer: Pacer, asks: list[tuple[str, Priority]], interval: float = 0.0) -> list[tuple[str, float]]:
    loop = asyncio.get_running_loop()
    order: list[tuple[str, float]] = []

    async def one(key: str, priority: Priority) -> None:
        await pacer.slot(key, interval=interval, priority=priority)
        order.append((key, loop.time()))

    await asyncio.gather(*(one(k, p) for k, p in asks))
    return order


async def test_sends_are_spaced_evenly_without_a_burst() -> None:
    pacer = Pacer(rate=200)
    grants = await _grants(pacer, [(f"c{i}", Priority.NOTICE) for i in range(20)])
    times = [t for _, t in grants]
    # In any 20 ms, at most what 200 a second allows (plus the one at the window's edge): a late
    # grant lets the next one keep the average, never a burst.
    window = 0.02
    assert max(sum(1 for u in times if t <= u < t + window) for t in times) <= window * 200 + 1
    assert times[-1] - times[0] >= 19 / 200 * 0.95  # and no faster than the rate on the whole
    assert len(grants) == 20


async def test_one_chat_waits_its_interval_while_others_go() -> None:
    pacer = Pacer(rate=1000)
    grants = await _grants(pacer, [("her", Priority.NOTICE), ("her", Priority.NOTICE), ("other", Priority.NOTICE)], 0.2)
    keys = [k for k, _ in grants]
    assert keys == ["her", "other", "her"]  # the second to her does not hold up the other chat
    hers = [t for k, t in grants if k == "her"]
    assert hers[1] - hers[0] >= 0.2 * 0.95


async def test_the_most_urgent_goes_first_then_the_oldest() -> None:
    pacer = Pacer(rate=1000)
    pacer.pause(0.05)  # all four arrive while sending is paused
    grants = await _grants(
        pacer,
        [
            ("b1", Priority.BROADCAST),
            ("n1", Priority.NOTICE),
            ("c1", Priority.CRISIS),
            ("n2", Priority.NOTICE),
        ],
    )
    assert [k for k, _ in grants] == ["c1", "n1", "n2", "b1"]


async def test_a_429_pauses_that_chat_or_everything() -> None:
    pacer = Pacer(rate=1000)
    loop = asyncio.get_running_loop()
    started = loop.time()
    pacer.pause(0.2, "her")
    grants = await _grants(pacer, [("her", Priority.CRISIS), ("other", Priority.BROADCAST)])
    assert [k for k, _ in grants] == ["other", "her"]  # her chat is paused, the rest goes on
    assert dict(grants)["her"] - started >= 0.2 * 0.95
    started = loop.time()
    pacer.pause(0.1)
    (only,) = await _grants(pacer, [("x", Priority.CRISIS)])
    assert only[1] - started >= 0.1 * 0.95


async def test_a_cancelled_wait_gives_its_place_up() -> None:
    pacer = Pacer(rate=1000)
    pacer.pause(0.05)
    waiting = asyncio.create_task(pacer.slot("a", priority=Priority.CRISIS))
    await asyncio.sleep(0)
    assert pacer.waiting == 1
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert pacer.waiting == 0
    grants = await _grants(pacer, [("b", Priority.NOTICE)])
    assert [k for k, _ in grants] == ["b"]
