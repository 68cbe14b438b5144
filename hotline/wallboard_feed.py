"""The wallboard feed: keeps the shift leads' websockets up to date (no polling by the page).

The live parts (queues, agents, calls in progress) come from the switchboard and routing in
memory and are pushed as soon as something changes; today's and the last hour's figures come
from the call log, re-read at most every `figures_seconds` (only the calls that can differ
from what the feed keeps, wallboard/day_calls.py); the outbox and the cases' deadlines are
read every `check_seconds`. Alert rules run on every change and at the moment the next one
can fall due. Each alert raised is a structured log line and a counter.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.notifier import Notifier
from hotline.access import Role
from hotline.accounts import Accounts
from hotline.case_scheduler import REMINDER_STATES
from hotline.models import CALL_ROW_COLUMNS, Call, OutboxMessage, Ticket
from hotline.monitoring import Monitoring
from hotline.privacy import mask_phone
from hotline.switchboard import Switchboard
from hotline.tasks import stop_task
from reports.calls import CallOptions, CallOutcome, CallRow, outcome
from routing import AgentState
from wallboard import (
    AgentSeat,
    Alert,
    AlertBook,
    AlertKind,
    AlertRules,
    Board,
    CallBoard,
    CaseDue,
    OutboxFacts,
    Watch,
    build_board,
    conditions,
    next_check,
    waiting_calls,
)
from wallboard.alerts import Abandon
from wallboard.board import agent_json, call_json, queue_json
from wallboard.day_calls import DayCalls

log = logging.getLogger(__name__)

# At most this many dead letters and cases are watched (the most recent, the nearest due).
WATCH_LIMIT = 20


class WallboardFeed:
    """Builds the wallboard, pushes what changed to leads, raises and clears alerts."""

    def __init__(
        self,
        switchboard: Switchboard,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        accounts: Accounts,
        clock: Callable[[], datetime],
        rules: AlertRules,
        options: CallOptions,
        timezone: str,
        figures_seconds: float = 2.0,
        check_seconds: float = 30.0,
        monitoring: Mapping[str, Monitoring] | None = None,
    ) -> None:
        self._switchboard = switchboard
        self._sessions = sessions
        self._notifier = notifier
        self._accounts = accounts
        self._clock = clock
        self.rules = rules
        self._options = options
        self._zone = ZoneInfo(timezone)
        self._figures_seconds = figures_seconds
        self._check_seconds = check_seconds
        self._monitoring: Mapping[str, Monitoring] = monitoring if monitoring is not None else {}
        self._changed = asyncio.Event()
        self._figures_stale = True
        self._day_calls = DayCalls(timedelta(hours=1), options)
        self._names: dict[str, str] = {}
        self._outbox = OutboxFacts()
        self._cases: list[CaseDue] = []
        self._book = AlertBook()
        self._sent_queues: list[dict[str, Any]] = []
        self._sent_agents: dict[str, dict[str, Any]] = {}
        self._sent_calls: dict[str, dict[str, Any]] = {}
        self._next_alert_check: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        # Alerts raised since start, by kind (Prometheus counts them).
        self.raised: Counter[AlertKind] = Counter()

    # --- lifetime -------------------------------------------------------------------------

    async def start(self) -> None:
        await self._read_checks()
        await self._read_figures()
        self._publish(self._clock())
        self._switchboard.watch(self.changed)
        self._task = asyncio.create_task(self._run(), name="wallboard")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    def changed(self) -> None:
        """Calls or agents may have changed (called by the switchboard, synchronously)."""
        self._figures_stale = True
        self._changed.set()

    # --- what leads get -------------------------------------------------------------------

    async def snapshot(self) -> dict[str, Any]:
        """The whole wallboard, as a lead's websocket gets it on connect (agents added since
        the last check included)."""
        await self._read_names()
        now = self._clock()
        board = self._board(now)
        return {
            "type": "wallboard",
            "at": now.isoformat(),
            "queues": [queue_json(q) for q in board.queues],
            "agents": [agent_json(a) for a in board.agents],
            "calls": [call_json(c) for c in board.calls],
            "alerts": [a.as_json() for a in self._book.open()],
            "rules": {
                "wait_seconds": self.rules.wait_seconds,
                "pause_seconds": self.rules.pause_seconds,
            },
        }

    def acknowledge(self, alert_id: int, by: str) -> Alert:
        """A lead acknowledges an alert (AlertError if unknown or done); leads are told."""
        alert = self._book.ack(alert_id, by, self._clock())
        log.info(
            "alert acknowledged",
            extra={"alert_id": alert.id, "kind": alert.kind.value, "by": by},
        )
        self._notifier.to_leads({"type": "wallboard.alert", "alert": alert.as_json()})
        return alert

    def open_alerts(self) -> list[Alert]:
        return self._book.open()

    # --- building -------------------------------------------------------------------------

    def _day_start(self, now: datetime) -> datetime:
        local = now.astimezone(self._zone)
        return datetime.combine(local.date(), time(0), self._zone).astimezone(now.tzinfo)

    def _seats(self) -> list[AgentSeat]:
        routing = self._switchboard.routing
        seats = {}
        for status in routing.agents():
            seats[status.agent_id] = AgentSeat(
                status.agent_id,
                self._names.get(status.agent_id, status.agent_id),
                status.state,
                status.since,
                status.reason,
                status.queues,
                status.call_id,
            )
        for agent_id, name in self._names.items():
            seats.setdefault(agent_id, AgentSeat(agent_id, name, AgentState.LOGGED_OUT, None))
        return list(seats.values())

    def _calls(self) -> list[CallBoard]:
        boards = []
        for live in self._switchboard.calls.values():
            lead = self._monitoring.get(live.call_id)
            boards.append(
                CallBoard(
                    live.call_id,
                    live.queue,
                    live.dialled,
                    live.state,
                    live.arrived_at,
                    mask_phone(live.caller),
                    live.agent_id,
                    live.connected_at,
                    lead.lead_id if lead else "",
                    lead.mode if lead else "",
                    lead.state if lead else "",
                )
            )
        return boards

    def _board(self, now: datetime) -> Board:
        routing = self._switchboard.routing
        return build_board(
            routing.queues(),
            waiting_calls(routing),
            self._seats(),
            self._calls(),
            self._day_calls.rows,
            now,
            self._day_start(now),
            self._options,
            self._day_calls.earlier,
        )

    def _watch(self) -> Watch:
        short = timedelta(seconds=self._options.short_abandon_seconds)
        abandons = [
            Abandon(row.queue, row.ended_at)
            for row in self._day_calls.rows
            if outcome(row) is CallOutcome.ABANDONED
            and row.ended_at is not None
            and row.ended_at - row.arrived_at >= short
        ]
        routing = self._switchboard.routing
        return Watch(
            routing.queues(),
            waiting_calls(routing),
            self._seats(),
            abandons,
            self._outbox,
            self._cases,
        )

    def _publish(self, now: datetime) -> None:
        """Push the sections that changed since the last push, then the alerts that did."""
        board = self._board(now)
        at = now.isoformat()
        queues = [queue_json(q) for q in board.queues]
        if queues != self._sent_queues:
            self._sent_queues = queues
            self._notifier.to_leads({"type": "wallboard.queues", "at": at, "queues": queues})
        agents = {a.agent_id: agent_json(a) for a in board.agents}
        moved = [a for agent_id, a in agents.items() if self._sent_agents.get(agent_id) != a]
        if moved:
            self._sent_agents = agents
            self._notifier.to_leads({"type": "wallboard.agents", "at": at, "agents": moved})
        # Calls as changes: a new call costs one entry, not the whole list (the snapshot on
        # connect is whole; applying an entry twice is harmless, so the order of the two is not).
        calls = {c.call_id: call_json(c) for c in board.calls}
        changed = [c for call_id, c in calls.items() if self._sent_calls.get(call_id) != c]
        removed = [call_id for call_id in self._sent_calls if call_id not in calls]
        if changed or removed:
            self._sent_calls = calls
            self._notifier.to_leads(
                {"type": "wallboard.call", "at": at, "calls": changed, "removed": removed}
            )
        self._check_alerts(now)

    def _check_alerts(self, now: datetime) -> None:
        watch = self._watch()
        before = {a.id for a in self._book.open()}
        for alert in self._book.update(conditions(watch, self.rules, now), now):
            if alert.cleared_at is not None:
                log.info("alert cleared", extra={"alert_id": alert.id, "kind": alert.kind.value})
            elif alert.id not in before:
                self.raised[alert.kind] += 1
                log.warning(
                    "alert raised",
                    extra={
                        "alert_id": alert.id,
                        "kind": alert.kind.value,
                        "subject": alert.subject,
                        "text": alert.text,
                    },
                )
            self._notifier.to_leads({"type": "wallboard.alert", "alert": alert.as_json()})
        self._next_alert_check = next_check(watch, self.rules, now)

    # --- reading the database -------------------------------------------------------------

    async def _read_figures(self) -> None:
        """Read the calls that can differ from what is kept (wallboard/day_calls.py): the
        whole day once, then the open, the recent and the just ended ones."""
        now = self._clock()
        day = self._day_start(now)
        self._day_calls.window = max(
            timedelta(hours=1), timedelta(seconds=self.rules.abandon_window_seconds)
        )
        wanted = self._day_calls.query(now, day)
        statement = select(*CALL_ROW_COLUMNS)
        if wanted.ended_since is None:
            statement = statement.where(Call.arrived_at >= wanted.arrived_since)
        else:
            statement = statement.where(
                or_(
                    Call.ended_at.is_(None),
                    Call.ended_at >= wanted.ended_since,
                    Call.arrived_at >= wanted.recent_since,
                )
            )
        async with self._sessions() as db:
            read = (await db.execute(statement)).all()
        self._day_calls.merge((CallRow(*row) for row in read), now, day)
        self._figures_stale = False

    async def _read_checks(self) -> None:
        now = self._clock()
        warning = timedelta(hours=self.rules.case_warning_hours)
        async with self._sessions() as db:
            pending = (
                await db.scalars(
                    select(OutboxMessage.created_at)
                    .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.dead_at.is_(None))
                    .order_by(OutboxMessage.created_at)
                    .limit(1000)
                )
            ).all()
            dead = (
                await db.execute(
                    select(OutboxMessage.idempotency_key, OutboxMessage.dead_at)
                    .where(OutboxMessage.dead_at.is_not(None))
                    .order_by(OutboxMessage.dead_at.desc())
                    .limit(WATCH_LIMIT)
                )
            ).all()
            due = (
                await db.execute(
                    select(Ticket.number, Ticket.deadline)
                    .where(
                        Ticket.status.in_([s.value for s in REMINDER_STATES]),
                        Ticket.deadline <= now + warning,
                    )
                    .order_by(Ticket.deadline)
                    .limit(WATCH_LIMIT)
                )
            ).all()
        self._outbox = OutboxFacts(list(pending), [(key, at) for key, at in dead if at is not None])
        self._cases = [CaseDue(number, deadline) for number, deadline in due if deadline]
        await self._read_names()

    async def _read_names(self) -> None:
        self._names = {
            a.id: a.name
            for a in await self._accounts.list_agents()
            if a.active and a.role != Role.ADMIN
        }

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        figures_at = checks_at = loop.time()
        while True:
            waits = [self._check_seconds - (loop.time() - checks_at)]
            if self._figures_stale:
                waits.append(self._figures_seconds - (loop.time() - figures_at))
            if self._next_alert_check is not None:
                waits.append((self._next_alert_check - self._clock()).total_seconds())
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=max(0.0, min(waits)))
            except TimeoutError:
                pass
            self._changed.clear()
            try:
                self._publish(self._clock())
                if self._figures_stale and loop.time() - figures_at >= self._figures_seconds:
                    await self._switchboard.synced()
                    await self._read_figures()
                    figures_at = loop.time()
                    self._publish(self._clock())
                if loop.time() - checks_at >= self._check_seconds:
                    await self._read_checks()
                    checks_at = loop.time()
                    self._publish(self._clock())
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly away; the next round tries again
                log.exception("wallboard update failed")
                figures_at = checks_at = loop.time()
