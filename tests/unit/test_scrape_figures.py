"""GET /metrics keeps its 24-hour figures for `[metrics] scrape_reuse_seconds`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from agent_console.metrics import ScrapeFigures
from hotline.statistics import Window


def counting() -> tuple[list[int], Callable[[], Awaitable[Window]]]:
    computed: list[int] = []

    async def compute() -> Window:
        computed.append(1)
        await asyncio.sleep(0)  # a real computation awaits the database
        return Window({}, {}, {}, {})

    return computed, compute


def test_scrapes_within_the_window_share_one_computation_even_at_the_same_moment() -> None:
    computed, compute = counting()
    kept = ScrapeFigures(reuse_seconds=3600)

    async def scrapes() -> None:
        await asyncio.gather(kept.get(compute), kept.get(compute))
        await kept.get(compute)

    asyncio.run(scrapes())
    assert len(computed) == 1


def test_zero_computes_at_every_scrape() -> None:
    computed, compute = counting()
    kept = ScrapeFigures(reuse_seconds=0)

    async def scrapes() -> None:
        for _ in range(3):
            await kept.get(compute)

    asyncio.run(scrapes())
    assert len(computed) == 3
