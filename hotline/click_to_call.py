"""Click-to-call (回拨) for a 回访 or a missed call: one dial at a time per agent and per task,
its progress pushed to the agent's console, its row (outcome, recording) in outbound_calls.

The gateway places the call (telephony/outbound.py); this service decides who may have one in
flight, keeps the record, and when the citizen cannot be reached records 未接通 for the task
(a 回访's retry rules live in the case machine).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.notifier import Notifier
from hotline.models import OutboundCall
from hotline.privacy import mask_phone
from hotline.tasks import BackgroundTasks
from telephony.events import OutboundEnded, OutboundEvent, OutboundProgress, OutboundRecorded
from telephony.outbound import Origination, OutboundError

log = logging.getLogger(__name__)

Job = Callable[[AsyncSession], Awaitable[None]]
# What the console shows for each stage and outcome.
STATES = {
    "calling-agent": "calling-agent",
    "calling-citizen": "calling-citizen",
    "connected": "connected",
    "talked": "ended",
    "citizen-unreached": "unreached",
    "agent-unreached": "agent-unreached",
    "cancelled": "cancelled",
}


class DialError(Exception):
    """A dial refused; `error_id` is stable for the console."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class DialTask:
    """What is being called back: a 回访 (ref: ticket number) or a missed call (ref: its call
    id); `item_id` is the routing work item the agent holds."""

    kind: str  # visit | callback
    ref: str
    item_id: str
    number: str  # the citizen's
    caller_id: str  # the hotline number the citizen sees
    queue: str = ""  # a missed call's queue (its wrap-up rules)


@dataclass
class Dial:
    id: str
    task: DialTask
    agent_id: str
    started_at: datetime
    stage: str = "calling-agent"

    def message(self, state: str, reason: str = "") -> dict[str, Any]:
        return {
            "type": "dial.state",
            "dial_id": self.id,
            "task": self.task.kind,
            "ref": self.task.ref,
            "number": mask_phone(self.task.number),
            "state": state,
            "reason": reason,
        }


class DialHooks(Protocol):
    """What a dial means for its task and its agent (hotline/dial_outcomes.py)."""

    def started(self, task: DialTask, agent_id: str) -> None:
        """Before the agent's phone rings; raises DialError to refuse the dial."""

    def ended(
        self, task: DialTask, agent_id: str, outcome: str, reason: str
    ) -> Coroutine[Any, Any, None] | None:
        """The dial is over (outcome as in OutboundEnded, or "not-started"); any coroutine
        returned is run in the background (recording 未接通 on a case)."""


class ClickToCall:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        clock: Callable[[], datetime],
        originate: Callable[[Origination], None],
        hooks: DialHooks,
        cancel: Callable[[str], bool] = lambda dial_id: False,
    ) -> None:
        self._sessions = sessions
        self._notifier = notifier
        self._clock = clock
        self._originate = originate
        self._hooks = hooks
        self._cancel = cancel
        self._dials: dict[str, Dial] = {}
        self._lock = asyncio.Lock()  # writes in the order they were asked for
        self._tasks = BackgroundTasks()
        self._pending: set[asyncio.Task[None]] = set()

    def in_progress(self, agent_id: str) -> Dial | None:
        return next((d for d in self._dials.values() if d.agent_id == agent_id), None)

    async def start(self, task: DialTask, agent_id: str) -> Dial:
        """Ring the agent's phone for `task`; DialError if it cannot start."""
        if self.in_progress(agent_id) is not None:
            raise DialError("dial-in-progress", "已有一通回拨正在进行")
        if any(d.task.kind == task.kind and d.task.ref == task.ref for d in self._dials.values()):
            raise DialError("dial-in-progress", "这项回拨正在进行")
        dial = Dial(str(uuid.uuid4()), task, agent_id, self._clock())
        self._hooks.started(task, agent_id)
        try:
            self._originate(Origination(dial.id, agent_id, task.number, task.caller_id))
        except OutboundError as error:
            self._hooks.ended(task, agent_id, "not-started", error.error_id)
            raise DialError(error.error_id, str(error)) from None
        self._dials[dial.id] = dial
        # Queued before any event of the call can arrive: the row exists before its updates.
        await self._write(self._insert(dial))
        log.info(
            "click-to-call started",
            extra={
                "dial": dial.id,
                "task": task.kind,
                "ref": task.ref,
                "agent": agent_id,
                "number": mask_phone(task.number),
            },
        )
        return dial

    def get(self, dial_id: str) -> Dial | None:
        return self._dials.get(dial_id)

    def cancel(self, dial_id: str) -> bool:
        """Stop a dial: CANCEL the INVITE still ringing, BYE a leg already answered; its
        end follows as usual (cancelled, or talked if the citizen had answered)."""
        return dial_id in self._dials and self._cancel(dial_id)

    def on_event(self, event: OutboundEvent) -> None:
        """The gateway's progress for a dial (called synchronously)."""
        if isinstance(event, OutboundRecorded):
            self._write(self._recorded(event))
            return
        dial = self._dials.get(event.dial_id)
        if dial is None:
            return
        if isinstance(event, OutboundProgress):
            dial.stage = event.stage
            self._notifier.to_agent(dial.agent_id, dial.message(STATES[event.stage]))
            if event.stage == "connected":
                self._write(self._update(dial.id, connected_at=event.at))
            return
        self._ended(dial, event)

    def _ended(self, dial: Dial, event: OutboundEnded) -> None:
        del self._dials[dial.id]
        self._notifier.to_agent(dial.agent_id, dial.message(STATES[event.outcome], event.reason))
        self._write(
            self._update(dial.id, ended_at=event.at, outcome=event.outcome, reason=event.reason)
        )
        try:
            follow_up = self._hooks.ended(dial.task, dial.agent_id, event.outcome, event.reason)
        except Exception:
            log.exception("the end of a dial was not applied to its task", extra={"dial": dial.id})
            return
        if follow_up is not None:
            self._tasks.spawn(follow_up, name="dial-outcome")

    async def synced(self) -> None:
        """Wait for every write asked for so far (tests, shutdown)."""
        while self._pending or len(self._tasks):
            await asyncio.gather(*self._pending, return_exceptions=True)
            await asyncio.sleep(0)

    # --- rows ---------------------------------------------------------------------------

    def _write(self, job: Job) -> asyncio.Task[None]:
        async def run() -> None:
            async with self._lock:
                try:
                    async with self._sessions.begin() as db:
                        await job(db)
                except Exception:
                    log.exception("outbound call row not written")

        task = asyncio.get_running_loop().create_task(run(), name="dial-write")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    @staticmethod
    def _insert(dial: Dial) -> Job:
        async def job(db: AsyncSession) -> None:
            db.add(
                OutboundCall(
                    id=dial.id,
                    task=dial.task.kind,
                    task_ref=dial.task.ref,
                    agent_id=dial.agent_id,
                    number=dial.task.number,
                    started_at=dial.started_at,
                )
            )

        return job

    @staticmethod
    def _update(dial_id: str, **values: Any) -> Job:
        async def job(db: AsyncSession) -> None:
            row = await db.get(OutboundCall, dial_id)
            if row is not None:
                for name, value in values.items():
                    setattr(row, name, value)

        return job

    def _recorded(self, event: OutboundRecorded) -> Job:
        return self._update(
            event.dial_id, recording_path=event.path, recording_seconds=event.duration_seconds
        )
