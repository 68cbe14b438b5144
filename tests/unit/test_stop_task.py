"""Stopping a long-running task: cancelled and awaited; an earlier failure logged, not raised."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotline.tasks import stop_task


async def test_a_running_task_is_cancelled_and_awaited() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(forever())
    await started.wait()
    await stop_task(task)
    assert task.cancelled()


async def test_a_task_that_had_failed_is_logged_and_stopping_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise RuntimeError("database gone")

    task = asyncio.create_task(fails(), name="outbox-sender")
    await asyncio.wait([task])
    with caplog.at_level(logging.ERROR):
        await stop_task(task)
    assert "outbox-sender had failed" in caplog.text and "database gone" in caplog.text


async def test_nothing_to_stop() -> None:
    await stop_task(None)
