"""The switchboard: gateway events in, routing decisions out, everything logged to the database.

Routing runs synchronously in the event callback, so an assignment rings the phone at once;
the database writes follow in order on a single writer task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.notifier import Notifier
from hotline import call_backs
from hotline.callback_desk import CallbackDesk
from hotline.hold_time import HoldClock, HoldFigures
from hotline.models import AgentEvent, Call, CallEvent
from hotline.phone_bindings import record_binding
from hotline.privacy import mask_phone
from hotline.queue_status import WaitEstimator
from hotline.recent_callers import RecentCallers
from hotline.recordings import record_call
from hotline.refused_calls import record_refused
from hotline.surveys import record_survey
from hotline.transfers import check_holder, check_mode, resolve_target
from hotline.voicemail import draft_from_voicemail
from routing import (
    AgentState,
    AgentStateChanged,
    AgentStatus,
    CallAssigned,
    CallLeftQueue,
    CallQueued,
    RoutingEngine,
    RoutingError,
    RoutingEvent,
    caller_priority,
)
from telephony.announcements import QueueStatus
from telephony.events import (
    AgentAnswered,
    AgentLeftCall,
    AgentLegFailed,
    CallArrived,
    CallbackRequested,
    CallEnded,
    CallHeld,
    CallRefused,
    CallTransferred,
    PhoneRegistered,
    RecordingFinished,
    SurveyAnswered,
    TelephonyEvent,
    TransferConsulting,
    TransferFailed,
    VoicemailLeft,
)
from telephony.transfer import TransferError

if TYPE_CHECKING:
    from hotline.duty import DutyRoster

log = logging.getLogger(__name__)
# Call-log writes committed together at most (one transaction each batch).
WRITE_BATCH = 200


@dataclass
class LiveCall:
    """What the console needs to know of a call in progress."""

    call_id: str
    caller: str
    dialled: str
    queue: str
    arrived_at: datetime
    agent_id: str | None = None
    state: str = "queued"
    connected_at: datetime | None = None
    hold: HoldClock = field(default_factory=HoldClock)

    def as_message(self, kind: str) -> dict[str, Any]:
        """The call as the console sees it (the agent's own console gets the full number:
        they may need to call back)."""
        return {
            "type": kind,
            "call_id": self.call_id,
            "caller": self.caller,
            "hotline": self.dialled,
            "queue": self.queue,
            "state": self.state,
            "connected_at": self.connected_at.isoformat() if self.connected_at else None,
        }


class Switchboard(CallbackDesk):
    """Connects the gateway, the routing engine, the database and the console notifier."""

    def __init__(
        self,
        routing: RoutingEngine,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        clock: Callable[[], datetime],
        priority_numbers: Iterable[str] = (),
        timezone: str = "Asia/Shanghai",
        duty: DutyRoster | None = None,
        repeat_caller_days: float = 0.0,
        call_back_abandoned: bool = False,
    ) -> None:
        self.routing = routing
        self.call_back_abandoned = call_back_abandoned
        self.announce_missed = None
        self.duty = duty
        self.recent = RecentCallers(repeat_caller_days)
        self._priority_numbers = frozenset(priority_numbers)
        self._sessions = sessions
        self._notifier = notifier
        self._clock = clock
        self._ring: Callable[[str, str], None] = lambda call_id, agent_id: None
        self._transfer: Callable[[str, str, str], None] | None = None
        self._finish_transfer: Callable[[str, str], None] | None = None
        self.transfer_directory: Mapping[str, str] = {}
        self.emergency_numbers: dict[str, str] = {}
        self._emergency_mode = "three_way"
        self._writes: asyncio.Queue[Callable[[AsyncSession], Awaitable[None]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._wrap_up_changed = asyncio.Event()
        self.calls: dict[str, LiveCall] = {}
        self.wrap_up_extension = timedelta(seconds=30)
        self.wrap_up_longest = timedelta(seconds=120)
        self.waits = WaitEstimator()
        self._timezone = timezone
        self._watchers: list[Callable[[], None]] = []

    def watch(self, changed: Callable[[], None]) -> None:
        """Call `changed` (synchronously, cheaply) whenever calls or agents may have changed."""
        self._watchers.append(changed)

    def _changed(self) -> None:
        for changed in self._watchers:
            changed()

    def connect_gateway(self, ring: Callable[[str, str], None]) -> None:
        self._ring = ring

    def connect_transfers(
        self,
        transfer: Callable[[str, str, str], None],
        directory: Mapping[str, str],
        emergencies: Mapping[str, str] | None = None,
        emergency_mode: str = "three_way",
        finish: Callable[[str, str], None] | None = None,
    ) -> None:
        self._transfer, self.transfer_directory = transfer, dict(directory)
        self._finish_transfer = finish
        self.emergency_numbers, self._emergency_mode = dict(emergencies or {}), emergency_mode

    def hand_to_emergency(self, call_id: str, service: str, agent_id: str, lead: bool) -> str:
        """One-click hand-off of the caller to 110/119/120/122; logged on the call."""
        number = self.emergency_numbers.get(service)
        if number is None:
            raise TransferError("unknown-target", f"no emergency number for {service}")
        called = self.transfer(call_id, number, self._emergency_mode, agent_id, lead)
        self._write(
            self._log_event(
                call_id, self._clock(), "emergency-handoff", agent_id, {"service": service}
            )
        )
        return called

    def transfer(
        self, call_id: str, target: object, mode: object, agent_id: str, lead: bool
    ) -> str:
        """Start a blind or three-way transfer; the number called, or TransferError."""
        live = self.calls.get(call_id)
        if live is None:
            raise TransferError("unknown-call", f"no call {call_id}")
        check_holder(live.agent_id, agent_id, lead)
        if live.state != "connected":
            raise TransferError("not-connected", "the call is not connected to an agent")
        number, checked = resolve_target(self.transfer_directory, target), check_mode(mode)
        if self._transfer is None:
            raise TransferError("no-outbound-proxy", "transfers are not set up")
        self._transfer(call_id, number, checked)
        return number

    def finish_transfer(self, call_id: str, action: str, agent_id: str, lead: bool) -> str:
        """转接 (complete) or 取回 (cancel) a consulted transfer; the agent on the call, or
        TransferError."""
        live = self.calls.get(call_id)
        if live is None:
            raise TransferError("unknown-call", f"no call {call_id}")
        check_holder(live.agent_id, agent_id, lead)
        if live.state != "connected" or live.agent_id is None:
            raise TransferError("not-connected", "the call is not connected to an agent")
        if self._finish_transfer is None:
            raise TransferError("no-outbound-proxy", "transfers are not set up")
        on_call = live.agent_id
        self._finish_transfer(call_id, action)
        return on_call

    @property
    def running(self) -> bool:
        return bool(self._tasks) and all(not task.done() for task in self._tasks)

    async def restore(self) -> None:
        """After a restart: agents get back the state they chose; calls the last process had
        in hand are closed in the log (their SIP legs died with it), so no statistic is lost
        and no call is assigned twice."""
        now = self._clock()
        async with self._sessions.begin() as db:
            last = (
                select(AgentEvent.agent_id, func.max(AgentEvent.id).label("id"))
                .group_by(AgentEvent.agent_id)
                .subquery()
            )
            latest = (
                await db.scalars(select(AgentEvent).join(last, AgentEvent.id == last.c.id))
            ).all()
            unfinished = (await db.scalars(select(Call).where(Call.state != "ended"))).all()
            for call in unfinished:
                call.state, call.ended_at, call.end_reason = "ended", now, "restart"
                db.add(
                    CallEvent(
                        call_id=call.id,
                        kind="ended",
                        at=now,
                        agent_id=call.agent_id,
                        detail={"end_reason": "restart"},
                    )
                )
        for event in latest:
            if event.state in (AgentState.READY.value, AgentState.PAUSED.value):
                wanted, reason = AgentState(event.state), event.reason
            elif event.state == AgentState.LOGGED_OUT.value:
                continue
            else:
                # Busy when the process stopped: the agent decides when to take calls again.
                wanted, reason = AgentState.PAUSED, "restart"
            self._apply(self.routing.request_state(event.agent_id, wanted, now, reason))
        await self._restore_routing(now, [c for c in unfinished if c.connected_at is None])
        if unfinished or latest:
            log.info(
                "state restored", extra={"agents": len(latest), "calls_closed": len(unfinished)}
            )

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="switchboard-writer"),
            asyncio.create_task(self._wrap_up_loop(), name="wrap-up-timer"),
        ]

    async def stop(self) -> None:
        await self.synced()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []

    async def synced(self) -> None:
        """Wait until every call record written so far is in the database."""
        await self._writes.join()

    # --- from the gateway ---------------------------------------------------------------

    def on_telephony_event(self, event: TelephonyEvent) -> None:
        """Called by the gateway for each call-control event (synchronously)."""
        try:
            self._handle(event)
        except Exception:
            # The gateway must keep serving other calls whatever one event does here.
            log.exception("error handling a telephony event", extra={"event": type(event).__name__})
        self._changed()

    def _handle(self, event: TelephonyEvent) -> None:
        now = event.at
        if isinstance(event, CallArrived):
            self.calls[event.call_id] = LiveCall(
                event.call_id, event.caller, event.dialled, event.queue, now
            )
            self._write(self._insert_call(event))
            priority = caller_priority(
                urgent=event.urgent,
                transfer=event.dialled in self._priority_numbers,
                repeat=self.recent.is_repeat(event.caller, now),
            )
            self.recent.seen(event.caller, now)
            self._apply(self.routing.enqueue(event.call_id, event.queue, now, priority))
        elif isinstance(event, AgentAnswered):
            live = self.calls.get(event.call_id)
            if live is not None:
                live.state, live.connected_at = "connected", now
            self._apply(self.routing.answered(event.call_id, now))
            self._write(
                self._update_call(
                    event.call_id,
                    now,
                    "connected",
                    state="connected",
                    connected_at=now,
                    agent_id=event.agent_id,
                )
            )
            self._notifier.to_agent(
                event.agent_id, self._call_message("call.connected", event.call_id)
            )
        elif isinstance(event, AgentLegFailed):
            live = self.calls.get(event.call_id)
            if live is not None:
                live.state, live.agent_id = "queued", None
            self._write(
                self._log_event(
                    event.call_id, now, "agent-missed", event.agent_id, {"reason": event.reason}
                )
            )
            self._notifier.to_agent(
                event.agent_id,
                {
                    "type": "call.missed",
                    "call_id": event.call_id,
                    "reason": event.reason,
                },
            )
            if self.routing.agent_for_call(event.call_id) == event.agent_id:
                self._apply(
                    self.routing.offer_failed(event.call_id, now, f"missed: {event.reason}")
                )
        elif isinstance(event, CallEnded):
            live = self.calls.pop(event.call_id, None)
            if live is not None and live.connected_at is not None:
                self.waits.handled((now - live.connected_at).total_seconds())
            # A caller who asked for a callback hangs up: the request lives on in routing.
            callback = live is not None and live.state == "callback"
            agent_id = None if callback else self.routing.agent_for_call(event.call_id)
            hold = live.hold.figures(now) if live is not None else HoldFigures(0.0, 0)
            # The agent hears of the hang-up before of the wrap-up it starts.
            if agent_id is not None and live is not None:
                message = self._call_message("call.ended", event.call_id, live)
                message["reason"] = event.reason
                message["hold_seconds"], message["hold_count"] = hold.seconds, hold.count
                self._notifier.to_agent(agent_id, message)
            if not callback and not (
                live is not None
                and self._abandoned_to_callback(event.call_id, live.caller, live.queue, now)
            ):
                self._apply(self.routing.ended(event.call_id, now))
            self._write(
                self._update_call(
                    event.call_id,
                    now,
                    "ended",
                    state="ended",
                    ended_at=now,
                    end_reason="callback" if callback else event.reason,
                    rtp_from_caller=event.rtp_from_caller,
                    rtp_to_caller=event.rtp_to_caller,
                    hold_seconds=hold.seconds,
                    hold_count=hold.count,
                )
            )
        elif isinstance(event, CallRefused):
            self._write(record_refused(event))
        elif isinstance(event, RecordingFinished):
            self._write(record_call(event))
        elif isinstance(event, SurveyAnswered):
            self._write(record_survey(event))
        elif isinstance(event, VoicemailLeft):
            self._write(draft_from_voicemail(event, self._timezone))
        elif isinstance(event, CallbackRequested):
            self._apply(self.routing.request_callback(event.call_id, event.number, now))
            live = self.calls.get(event.call_id)
            if live is not None:
                live.state = "callback"
            self._write(
                call_backs.record(
                    event.call_id, "callback", now, event.number, self.announce_missed
                )
            )
            self._write(self._log_event(event.call_id, now, "callback-requested", None, {}))
        elif isinstance(event, (CallTransferred, TransferFailed, AgentLeftCall)):
            self._on_transfer(event)
        elif isinstance(event, TransferConsulting):
            detail = {"target": event.target}
            self._write(self._log_event(event.call_id, event.at, "consulting", None, detail))
            self._notifier.to_agent(
                event.agent_id,
                {"type": "call.consulting", "call_id": event.call_id, "target": event.target},
            )
        elif isinstance(event, CallHeld):
            kind = "held" if event.held else "resumed"
            self._write(self._log_event(event.call_id, event.at, kind, None, {"by": event.by}))
            live = self.calls.get(event.call_id)
            if live is not None:
                live.hold.change(event.by, event.held, event.at)
            if live is not None and live.agent_id:
                self._notifier.to_agent(
                    live.agent_id,
                    {
                        "type": "call.held",
                        "call_id": event.call_id,
                        "held": event.held,
                        "by": event.by,
                    },
                )
        elif isinstance(event, PhoneRegistered):
            self._write(record_binding(event))
            self._notifier.to_agent(
                event.agent_id,
                {
                    "type": "phone.registered",
                    "expires": event.expires,
                },
            )
        self._apply(self.routing.assign(self._clock()))

    def queue_status(self, call_id: str) -> QueueStatus | None:
        """Where a queued call stands and its estimated wait; None once it left the queue."""
        position = self.routing.position(call_id)
        if position is None:
            return None
        live = self.calls.get(call_id)
        return self.waits.status(position, self.agents_on_duty(live.queue if live else ""))

    def agents_on_duty(self, queue: str) -> int:
        """Agents logged in (ready, paused or busy) who serve the queue."""
        return sum(
            1
            for agent in self.routing.agents()
            if agent.state is not AgentState.LOGGED_OUT and agent.serves(queue)
        )

    def _on_transfer(self, event: CallTransferred | TransferFailed | AgentLeftCall) -> None:
        if isinstance(event, AgentLeftCall):
            self._write(self._log_event(event.call_id, event.at, "agent-left", event.agent_id, {}))
            self._release_agent(event.call_id, event.agent_id, event.at, "agent-left")
            return
        message: dict[str, Any] = {"call_id": event.call_id, "target": event.target}
        if isinstance(event, TransferFailed):
            detail = {"target": event.target, "reason": event.reason}
            self._write(self._log_event(event.call_id, event.at, "transfer-failed", None, detail))
            self._notifier.to_agent(
                event.agent_id, {"type": "call.transfer_failed", **message, "reason": event.reason}
            )
            return
        detail = {"target": event.target, "mode": event.mode}
        self._write(self._log_event(event.call_id, event.at, "transferred", event.agent_id, detail))
        self._notifier.to_agent(
            event.agent_id, {"type": "call.transferred", **message, "mode": event.mode}
        )
        if event.mode in ("blind", "attended"):  # the agent is off the call
            self._release_agent(event.call_id, event.agent_id, event.at, "transferred")

    def _release_agent(self, call_id: str, agent_id: str, at: datetime, reason: str) -> None:
        """The agent is off a call that goes on: their console closes it, wrap-up starts."""
        live = self.calls.get(call_id)
        if live is None or live.state == "transferred":
            return  # released already (the agent left while the target rang)
        ended = self._call_message("call.ended", call_id, live)
        ended["reason"] = reason
        self._notifier.to_agent(agent_id, ended)
        live.state, live.agent_id = "transferred", None
        self._apply(self.routing.ended(call_id, at))

    # --- from the console ---------------------------------------------------------------

    def request_state(self, agent_id: str, state: AgentState, reason: str = "") -> AgentStatus:
        """An agent (or a lead for them) asks to be ready, paused or logged out."""
        now = self._clock()
        if state is AgentState.READY and self.duty is not None:
            if not self.duty.may_go_ready(agent_id, now):
                raise RoutingError(
                    "not-on-duty", f"{agent_id} is not on the current shift; ask the shift lead"
                )
            if self.duty.enforced:
                # The seats the roster gives this shift are what the skills strategy weighs;
                # dialect seats put the agent first in line for that dialect's calls.
                roster = self.duty.roster
                self.routing.set_skills(
                    agent_id,
                    roster.seat_skills(agent_id, now),
                    now,
                    roster.seat_dialects(agent_id, now),
                )
        self._apply(self.routing.request_state(agent_id, state, now, reason))
        self._apply(self.routing.assign(now))
        return self.routing.agent(agent_id)

    def refresh_seats(self) -> None:
        """The roster changed: every known agent takes the seats of the current shift now."""
        if self.duty is None:
            return
        now, roster = self._clock(), self.duty.roster
        for status in self.routing.agents():
            agent_id = status.agent_id
            self.routing.set_skills(
                agent_id,
                roster.seat_skills(agent_id, now),
                now,
                roster.seat_dialects(agent_id, now),
            )
        self._apply(self.routing.assign(now))

    def extend_wrap_up(self, agent_id: str) -> datetime:
        """延长: more wrap-up for the agent, capped (RoutingError when not wrapping up)."""
        status = self.routing.agent(agent_id)
        until = self.routing.extend_wrap_up(
            agent_id, self._clock(), self.wrap_up_extension, self.wrap_up_longest
        )
        self._wrap_up_changed.set()
        self._notifier.to_agent(agent_id, self.state_message(status))
        return until

    @staticmethod
    def state_message(status: AgentStatus) -> dict[str, Any]:
        """The agent's state as the console sees it (with the end of a wrap-up)."""
        until = status.wrap_up_until if status.state is AgentState.WRAP_UP else None
        return {
            "type": "agent.state",
            "agent_id": status.agent_id,
            "state": status.state.value,
            "reason": status.reason,
            "wrap_up_until": until.isoformat() if until else None,
        }

    def log_call_event(
        self, call_id: str, kind: str, agent_id: str | None, detail: dict[str, Any] | None = None
    ) -> None:
        """Something done to a call from the console goes into the call's log."""
        self._write(self._log_event(call_id, self._clock(), kind, agent_id, detail or {}))

    def live_call_for(self, agent_id: str) -> LiveCall | None:
        for live in self.calls.values():
            if live.agent_id == agent_id:
                return live
        return None

    # --- applying routing decisions -----------------------------------------------------

    def _apply(self, events: list[RoutingEvent]) -> None:
        if events:
            self._changed()
        for event in events:
            if isinstance(event, CallAssigned):
                live = self.calls.get(event.call_id)
                if live is not None:
                    live.agent_id, live.state = event.agent_id, "offered"
                    self._notifier.to_agent(
                        event.agent_id, self._call_message("call.offered", event.call_id, live)
                    )
                self._write(
                    self._update_call(
                        event.call_id, event.at, "offered", state="offered", agent_id=event.agent_id
                    )
                )
                self._ring(event.call_id, event.agent_id)
            elif isinstance(event, AgentStateChanged):
                self._wrap_up_changed.set()
                self._write(self._log_agent_state(event))
                status = self.routing.agent(event.agent_id)
                message = {
                    "type": "agent.state",
                    "agent_id": event.agent_id,
                    "state": event.state.value,
                    "reason": event.reason,
                    "wrap_up_until": None,
                }
                if event.state is AgentState.WRAP_UP and status.wrap_up_until is not None:
                    message["wrap_up_until"] = status.wrap_up_until.isoformat()
                self._notifier.to_agent(event.agent_id, message)
                self._notifier.to_leads(message)
            elif isinstance(event, CallQueued):
                self._notifier.to_leads(
                    {
                        "type": "queue.call",
                        "call_id": event.call_id,
                        "queue": event.queue,
                        "position": event.position,
                    }
                )
            elif isinstance(event, CallLeftQueue):
                self._write(
                    self._log_event(
                        event.call_id, event.at, "abandoned", event.agent_id, {"queue": event.queue}
                    )
                )
                self._write(
                    call_backs.record(
                        event.call_id, "abandoned", event.at, announce=self.announce_missed
                    )
                )
            else:
                self._apply_more(event)

    def _call_message(
        self, kind: str, call_id: str, live: LiveCall | None = None
    ) -> dict[str, Any]:
        live = live or self.calls.get(call_id)
        return live.as_message(kind) if live is not None else {"type": kind, "call_id": call_id}

    # --- persistence --------------------------------------------------------------------

    def _write(self, job: Callable[[AsyncSession], Awaitable[None]]) -> None:
        self._writes.put_nowait(job)

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._writes.get()]
            # Whatever queued up meanwhile goes in the same transaction: one commit per
            # batch keeps the log in step with a busy gateway instead of falling behind.
            while len(batch) < WRITE_BATCH and not self._writes.empty():
                batch.append(self._writes.get_nowait())
            try:
                if not await self._commit(batch):
                    for job in batch:  # one bad job must not lose the others
                        await self._commit([job])
            finally:
                for _ in batch:
                    self._writes.task_done()

    async def _commit(self, jobs: list[Callable[[AsyncSession], Awaitable[None]]]) -> bool:
        """Run jobs in one transaction, retrying briefly (a locked database); False if failed."""
        failure: Exception | None = None
        for attempt in range(3):
            try:
                async with self._sessions.begin() as db:
                    for job in jobs:
                        await job(db)
                    hooks = call_backs.committed_hooks(db)
                for hook in hooks:
                    hook()
                return True
            except Exception as error:
                failure = error
                if attempt < 2:
                    await asyncio.sleep(0.2 * (attempt + 1))
        if len(jobs) == 1:
            log.error("could not record a call event", exc_info=failure)
        return False

    def _insert_call(self, event: CallArrived) -> Callable[[AsyncSession], Awaitable[None]]:
        async def job(db: AsyncSession) -> None:
            db.add(
                Call(
                    id=event.call_id,
                    sip_call_id=event.sip_call_id,
                    dialled=event.dialled,
                    queue=event.queue,
                    caller=event.caller,
                    state="queued",
                    codec=event.codec,
                    arrived_at=event.at,
                    rtp_from_caller=0,
                    rtp_to_caller=0,
                )
            )
            await db.flush()
            db.add(
                CallEvent(
                    call_id=event.call_id,
                    kind="arrived",
                    at=event.at,
                    detail={"caller": mask_phone(event.caller), "dialled": event.dialled},
                )
            )

        return job

    def _update_call(
        self, call_id: str, at: datetime, kind: str, **values: Any
    ) -> Callable[[AsyncSession], Awaitable[None]]:
        async def job(db: AsyncSession) -> None:
            call = await db.get(Call, call_id)
            if call is None:
                return
            for name, value in values.items():
                setattr(call, name, value)
            detail = {k: v for k, v in values.items() if k in ("end_reason",)}
            db.add(
                CallEvent(
                    call_id=call_id,
                    kind=kind,
                    at=at,
                    agent_id=values.get("agent_id", call.agent_id),
                    detail=detail,
                )
            )

        return job

    def _log_event(
        self, call_id: str, at: datetime, kind: str, agent_id: str | None, detail: dict[str, Any]
    ) -> Callable[[AsyncSession], Awaitable[None]]:
        async def job(db: AsyncSession) -> None:
            if await db.get(Call, call_id) is not None:
                db.add(
                    CallEvent(call_id=call_id, kind=kind, at=at, agent_id=agent_id, detail=detail)
                )

        return job

    def _log_agent_state(
        self, event: AgentStateChanged
    ) -> Callable[[AsyncSession], Awaitable[None]]:
        async def job(db: AsyncSession) -> None:
            db.add(
                AgentEvent(
                    agent_id=event.agent_id,
                    state=event.state.value,
                    previous=event.previous.value,
                    reason=event.reason[:100],
                    at=event.at,
                )
            )

        return job

    async def _wrap_up_loop(self) -> None:
        while True:
            self._wrap_up_changed.clear()
            due = self.routing.next_deadline()
            timeout = None if due is None else max(0.0, (due - self._clock()).total_seconds())
            try:
                await asyncio.wait_for(self._wrap_up_changed.wait(), timeout=timeout)
            except TimeoutError:
                pass
            now = self._clock()
            self._apply(self.routing.expire_wrap_ups(now))
            self._apply(self.routing.tick(now))
            self._apply(self.routing.assign(now))
