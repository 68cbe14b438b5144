"""The switchboard's share of callbacks, overflow and escalation notices, and rebuilding
routing state after a restart (a mixin, so the switchboard module stays one concept)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.notifier import Notifier
from hotline import call_backs
from hotline.missed_calls import Announce
from hotline.models import Call
from hotline.recent_callers import RecentCallers
from routing import (
    CallbackOffered,
    CallEscalated,
    CallOverflowed,
    RoutingEngine,
    RoutingError,
    RoutingEvent,
    VisitOffered,
)

if TYPE_CHECKING:
    from hotline.duty import DutyRoster

Job = Callable[[AsyncSession], Awaitable[None]]


class CallbackDesk:
    """Mixed into the Switchboard, which provides these attributes and methods."""

    routing: RoutingEngine
    duty: DutyRoster | None
    recent: RecentCallers
    _sessions: async_sessionmaker[AsyncSession]
    _notifier: Notifier
    _clock: Callable[[], datetime]
    # Told of every change to the missed-call list once written (consoles update live).
    announce_missed: Announce | None
    # A caller hanging up in the queue becomes a call-back task in their place.
    call_back_abandoned: bool

    def _apply(self, events: list[RoutingEvent]) -> None:
        raise NotImplementedError

    def _write(self, job: Job) -> None:
        raise NotImplementedError

    def _log_event(
        self, call_id: str, at: datetime, kind: str, agent_id: str | None, detail: dict[str, Any]
    ) -> Job:
        raise NotImplementedError

    def _apply_more(self, event: RoutingEvent) -> None:
        if isinstance(event, CallbackOffered):
            message = {"type": "callback.offered", "call_id": event.call_id}
            self._notifier.to_agent(
                event.agent_id, {**message, "number": event.number, "queue": event.queue}
            )
            self._write(
                call_backs.mark(
                    event.call_id, "offered", event.agent_id, event.at, self.announce_missed
                )
            )
        elif isinstance(event, VisitOffered):
            self._notifier.to_agent(
                event.agent_id,
                {
                    "type": "visit.offered",
                    "item_id": event.item_id,
                    "ticket": event.ticket,
                    "queue": event.queue,
                },
            )
            self._notifier.to_leads(
                {"type": "visit.offered", "ticket": event.ticket, "agent_id": event.agent_id}
            )
        elif isinstance(event, CallOverflowed | CallEscalated):
            detail = {k: str(v) for k, v in vars(event).items() if k not in ("at", "call_id")}
            kind = "overflowed" if isinstance(event, CallOverflowed) else "escalated"
            self._write(self._log_event(event.call_id, event.at, kind, None, detail))
            self._notifier.to_leads({"type": f"queue.{kind}", "call_id": event.call_id, **detail})

    # --- callbacks and restore ----------------------------------------------------------

    def finish_callback(self, call_id: str, agent_id: str, reached: bool) -> None:
        """The agent made the outbound call back: the task ends and wrap-up starts."""
        if self.routing.agent_for_call(call_id) != agent_id:
            raise RoutingError("not-your-callback", f"callback {call_id} is not offered to you")
        now = self._clock()
        self._apply(self.routing.answered(call_id, now))
        self._apply(self.routing.ended(call_id, now))
        status = "done" if reached else "unreached"
        self._write(call_backs.mark(call_id, status, agent_id, now, self.announce_missed))
        self._apply(self.routing.assign(now))

    def _abandoned_to_callback(self, call_id: str, number: str, queue: str, now: datetime) -> bool:
        """A caller who hangs up while waiting (not while ringing an agent) stays in line as
        a call-back task, when the centre calls abandoned callers back; still an abandon in
        the statistics."""
        if not self.call_back_abandoned or not number.isdigit():
            return False
        if self.routing.agent_for_call(call_id) is not None or not self.routing.position(call_id):
            return False
        self._apply(self.routing.request_callback(call_id, number, now))
        self._write(self._log_event(call_id, now, "abandoned", None, {"queue": queue}))
        self._write(call_backs.record(call_id, "abandoned", now, announce=self.announce_missed))
        return True

    def take_callback(self, call_id: str, agent_id: str) -> None:
        """An agent takes a call-back from the list: it leaves the line (nobody else is
        offered it); RoutingError if the queue has offered it to another agent."""
        holder = self.routing.agent_for_call(call_id)
        if holder is None:
            self.routing.cancel(call_id, self._clock())  # withdrawn, not abandoned: no events
        elif holder != agent_id:
            raise RoutingError("already-taken", "这条漏话已由其他坐席认领")

    def callback_dial_started(self, call_id: str, agent_id: str, queue: str) -> None:
        """The agent dials the call-back: talking for routing (RoutingError if busy)."""
        self._apply(self.routing.dial_started(agent_id, call_id, queue, self._clock()))

    def callback_dial_ended(self, call_id: str, agent_id: str, outcome: str) -> None:
        """The dial is over: a conversation closes the entry, a refusal records 未接通 and
        leaves it for a retry (wrap-up either way); when nobody was called (the agent's phone
        did not answer, the dial was cancelled) the agent keeps the entry."""
        now = self._clock()
        worked = outcome in ("talked", "citizen-unreached")
        self._apply(self.routing.dial_ended(call_id, now, worked))
        if worked:
            status = "done" if outcome == "talked" else "unreached"
            self._write(call_backs.mark(call_id, status, agent_id, now, self.announce_missed))
        self._apply(self.routing.assign(now))

    # --- 回访 work items ---------------------------------------------------------------

    def offer_visit(self, item_id: str, queue: str, ticket: str, priority: int) -> bool:
        """Queue a 回访 for agents of `queue`; False if it is already waiting or offered."""
        if self.routing.holds(item_id):
            return False
        now = self._clock()
        self._apply(self.routing.enqueue_visit(item_id, queue, ticket, now, priority))
        self._apply(self.routing.assign(now))
        return True

    def visit_held_by(self, item_id: str) -> str | None:
        return self.routing.agent_for_call(item_id)

    def finish_visit(self, item_id: str) -> None:
        """The 回访 is done (an outcome was recorded): its agent goes to wrap-up, and a
        waiting one is withdrawn (a lead recorded it for them)."""
        now = self._clock()
        if self.routing.agent_for_call(item_id) is not None:
            self._apply(self.routing.answered(item_id, now))
            self._apply(self.routing.ended(item_id, now))
        else:
            self._apply(self.routing.cancel(item_id, now))
        self._apply(self.routing.assign(now))

    async def _restore_routing(self, now: datetime, waiting: list[Call]) -> None:
        """Callers still waiting when the process stopped go on the missed-call list; open
        callbacks rejoin their queue at their original place; repeat callers are known again."""
        for call in waiting:
            self._write(call_backs.record(call.id, "restart", now))
        if self.duty is not None:
            await self.duty.reload(now)
        async with self._sessions() as db:
            kinds = ("callback", "abandoned") if self.call_back_abandoned else ("callback",)
            callbacks = await call_backs.open_callbacks(db, kinds)
            recent = await db.execute(
                select(Call.caller, Call.arrived_at).where(
                    Call.arrived_at >= now - self.recent.window
                )
            )
            for number, at in recent:
                self.recent.seen(number, at)
        for call_id, queue, arrived_at, number in callbacks:
            if queue in self.routing.queues() and self.routing.position(call_id) is None:
                self.routing.enqueue(call_id, queue, arrived_at)
                self.routing.request_callback(call_id, number, now)
        self._apply(self.routing.assign(now))
