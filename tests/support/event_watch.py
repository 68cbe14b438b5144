"""Watch the gateway's typed events from a test, in the order they were emitted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from telephony.events import TelephonyEvent
from tests.conftest import RunningHotline


class EventWatch:
    """Sees every event the gateway emits (after the switchboard has had it)."""

    def __init__(self, hotline: RunningHotline) -> None:
        self.events: list[TelephonyEvent] = []
        self._changed = asyncio.Event()
        gateway = hotline.system.gateway
        emit: Callable[[TelephonyEvent], None] = gateway._emit

        def watch(event: TelephonyEvent) -> None:
            emit(event)
            self.events.append(event)
            self._changed.set()

        gateway._emit = watch

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    async def first(self, kind: type, timeout: float = 40.0) -> Any:
        """The first event of `kind`, waiting for it (bounded) if none has come yet."""

        async def found() -> Any:
            while not self.of(kind):
                self._changed.clear()
                await self._changed.wait()
            return self.of(kind)[0]

        return await asyncio.wait_for(found(), timeout)
