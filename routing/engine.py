"""The routing engine: queues per hotline and skill, the agent each queue's strategy picks,
wrap-up per queue honoured across queues, escalation, overflow and callbacks.

Pure and synchronous: every method takes `now` and returns the events it caused.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from routing.events import (
    AgentState,
    AgentStateChanged,
    CallAssigned,
    CallbackOffered,
    CallbackQueued,
    CallEscalated,
    CallLeftQueue,
    CallOverflowed,
    CallQueued,
    RoutingEvent,
    VisitOffered,
)
from routing.queues import QueueSettings
from routing.strategies import choose

# States an agent may ask for (or a shift lead may set) through the console.
REQUESTABLE = frozenset({AgentState.READY, AgentState.PAUSED, AgentState.LOGGED_OUT})
# While an agent is busy with a call, a request is remembered and applied when the call ends.
BUSY = frozenset({AgentState.OFFERED, AgentState.TALKING})


class RoutingError(ValueError):
    """A request the engine refuses; `error_id` is stable for API clients."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(order=True, frozen=True)
class QueuedCall:
    """A waiting call; calls sort by priority (higher first), then by arrival."""

    rank: int  # minus the priority, so that sorting ascending serves higher priorities first
    enqueued_at: datetime
    call_id: str
    queue: str = field(compare=False)
    queued_since: datetime | None = field(default=None, compare=False)  # in this queue
    callback_number: str | None = field(default=None, compare=False)
    escalated: bool = field(default=False, compare=False)
    visit_ticket: str | None = field(default=None, compare=False)  # a 回访 work item

    @property
    def priority(self) -> int:
        return -self.rank


@dataclass
class AgentStatus:
    agent_id: str
    state: AgentState
    since: datetime
    # When the agent last became free; the longest-idle agent is the one with the oldest value.
    idle_since: datetime
    queues: frozenset[str] | None = None  # None: every queue
    call_id: str | None = None
    wrap_up_until: datetime | None = None
    after_call: AgentState | None = None  # requested while busy, applied when the call ends
    reason: str = ""
    missed_offers: int = 0  # unanswered offers in a row
    calls_taken: int = 0
    skills: dict[str, int] = field(default_factory=dict)  # queue → proficiency (higher better)
    # Dialect seats (方言席): calls of a queue so named go to these agents first.
    dialects: frozenset[str] = frozenset()

    def serves(self, queue: str) -> bool:
        return self.queues is None or queue in self.queues


@dataclass
class _Offer:
    call: QueuedCall
    agent_id: str
    answered: bool = False


class RoutingEngine:
    """Queues, agents and the rules that pair them."""

    def __init__(
        self,
        queues: Iterable[str],
        wrap_up: timedelta,
        missed_offers_before_pause: int = 1,
        settings: Iterable[QueueSettings] = (),
    ) -> None:
        if missed_offers_before_pause < 1:
            raise ValueError("missed_offers_before_pause must be at least 1")
        self._queues: dict[str, list[QueuedCall]] = {name: [] for name in queues}
        self._settings = {q.name: q for q in settings}
        for name in self._settings:
            self._queues.setdefault(name, [])
        for rules in self._settings.values():
            if rules.overflow_to is not None and rules.overflow_to not in self._queues:
                raise ValueError(f"queue {rules.name} overflows to unknown {rules.overflow_to}")
        self._last_served: dict[str, str] = {}  # queue → agent id (round robin)
        self._wrap_up = wrap_up
        self._missed_limit = missed_offers_before_pause
        self._agents: dict[str, AgentStatus] = {}
        self._offers: dict[str, _Offer] = {}  # call id → offer (ringing or talking)

    # --- agents -------------------------------------------------------------------------

    def agent(self, agent_id: str) -> AgentStatus:
        status = self._agents.get(agent_id)
        if status is None:
            raise RoutingError("unknown-agent", f"agent {agent_id} is not known to routing")
        return status

    def find_agent(self, agent_id: str) -> AgentStatus | None:
        """The agent's status, or None if routing has not met the agent (logged out)."""
        return self._agents.get(agent_id)

    def agents(self) -> list[AgentStatus]:
        return list(self._agents.values())

    def add_agent(
        self,
        agent_id: str,
        now: datetime,
        queues: Iterable[str] | None = None,
        skills: dict[str, int] | None = None,
    ) -> AgentStatus:
        """Make an agent known (logged out) if it is not already."""
        if agent_id not in self._agents:
            self._agents[agent_id] = AgentStatus(
                agent_id=agent_id,
                state=AgentState.LOGGED_OUT,
                since=now,
                idle_since=now,
                queues=None if queues is None else frozenset(queues),
                skills=dict(skills or {}),
            )
        return self._agents[agent_id]

    def set_skills(
        self,
        agent_id: str,
        skills: dict[str, int],
        now: datetime,
        dialects: Iterable[str] | None = None,
    ) -> None:
        """Replace an agent's skills (queue → proficiency) and, when given, dialect seats,
        e.g. the seats of their shift."""
        status = self.add_agent(agent_id, now)
        status.skills = dict(skills)
        if dialects is not None:
            status.dialects = frozenset(dialects)

    def settings(self, queue: str) -> QueueSettings:
        return self._settings.get(queue) or QueueSettings(queue)

    def request_state(
        self, agent_id: str, state: AgentState, now: datetime, reason: str = ""
    ) -> list[RoutingEvent]:
        """An agent (or a lead for them) asks to be ready, paused or logged out."""
        if state not in REQUESTABLE:
            raise RoutingError("invalid-state", f"{state} cannot be requested")
        status = self.add_agent(agent_id, now)
        if status.state in BUSY:
            status.after_call = state
            status.reason = reason
            return []
        if state is AgentState.READY and status.state is not AgentState.READY:
            status.idle_since = now
        status.wrap_up_until = None
        return self._change(status, state, now, reason)

    def _change(
        self, status: AgentStatus, state: AgentState, now: datetime, reason: str = ""
    ) -> list[RoutingEvent]:
        if status.state is state:
            return []
        previous = status.state
        status.state = state
        status.since = now
        status.reason = reason
        return [AgentStateChanged(now, status.agent_id, state, previous, reason)]

    # --- calls --------------------------------------------------------------------------

    def enqueue(
        self, call_id: str, queue: str, now: datetime, priority: int = 0
    ) -> list[RoutingEvent]:
        """A call joins its queue: behind every call of its priority or higher, FIFO within."""
        if queue not in self._queues:
            raise RoutingError("unknown-queue", f"queue {queue} is not configured")
        call = QueuedCall(-priority, now, call_id, queue, now)
        waiting = self._queues[queue]
        bisect.insort(waiting, call)
        return [CallQueued(now, call_id, queue, waiting.index(call) + 1)]

    def queues(self) -> list[str]:
        return list(self._queues)

    def waiting(self, queue: str) -> list[QueuedCall]:
        return list(self._queues[queue])

    def position(self, call_id: str) -> int | None:
        for waiting in self._queues.values():
            for index, call in enumerate(waiting):
                if call.call_id == call_id:
                    return index + 1
        return None

    def assign(self, now: datetime) -> list[RoutingEvent]:
        """Offer waiting calls, oldest first across queues, each to the longest-idle agent."""
        events: list[RoutingEvent] = []
        while True:
            heads = sorted(
                (waiting[0] for waiting in self._queues.values() if waiting),
            )
            made = False
            for call in heads:
                agent = self._choose(call.queue)
                if agent is None:
                    continue
                self._queues[call.queue].pop(0)
                self._offers[call.call_id] = _Offer(call, agent.agent_id)
                self._last_served[call.queue] = agent.agent_id
                agent.call_id = call.call_id
                events += self._change(agent, AgentState.OFFERED, now)
                waited = (now - call.enqueued_at).total_seconds()
                if call.visit_ticket is not None:
                    events.append(
                        VisitOffered(
                            now, call.call_id, call.queue, agent.agent_id, call.visit_ticket
                        )
                    )
                elif call.callback_number is not None:
                    events.append(
                        CallbackOffered(
                            now, call.call_id, call.queue, agent.agent_id, call.callback_number
                        )
                    )
                else:
                    events.append(
                        CallAssigned(now, call.call_id, call.queue, agent.agent_id, waited)
                    )
                made = True
                break
            if not made:
                return events

    def _choose(self, queue: str) -> AgentStatus | None:
        ready = [
            a for a in self._agents.values() if a.state is AgentState.READY and a.serves(queue)
        ]
        # A dialect queue's calls go first to agents seated for that dialect, under every
        # strategy; the others serve them only when no such agent is ready.
        seated = [a for a in ready if queue in a.dialects]
        strategy = self.settings(queue).strategy
        return choose(seated or ready, queue, strategy, self._last_served.get(queue))

    def answered(self, call_id: str, now: datetime) -> list[RoutingEvent]:
        offer = self._offer(call_id)
        offer.answered = True
        agent = self.agent(offer.agent_id)
        agent.missed_offers = 0
        agent.calls_taken += 1
        return self._change(agent, AgentState.TALKING, now)

    def offer_failed(self, call_id: str, now: datetime, reason: str) -> list[RoutingEvent]:
        """The agent's phone did not answer: the call keeps its place; after too many misses
        in a row the agent is paused, otherwise goes to the back of the ready line."""
        offer = self._offers.pop(call_id)
        agent = self.agent(offer.agent_id)
        agent.call_id = None
        agent.missed_offers += 1
        bisect.insort(self._queues[offer.call.queue], offer.call)
        position = self._queues[offer.call.queue].index(offer.call) + 1
        after = agent.after_call
        agent.after_call = None
        if after is not None and after is not AgentState.READY:
            events = self._change(agent, after, now, reason)
        elif agent.missed_offers >= self._missed_limit:
            events = self._change(agent, AgentState.PAUSED, now, reason)
        else:
            agent.idle_since = now
            events = self._change(agent, AgentState.READY, now)
        events.append(CallQueued(now, call_id, offer.call.queue, position))
        return events

    def ended(self, call_id: str, now: datetime) -> list[RoutingEvent]:
        """The call is over: a waiting call leaves its queue, an agent starts wrap-up.
        A waiting callback request keeps its place: the caller hung up expecting a call back."""
        for waiting in self._queues.values():
            for index, call in enumerate(waiting):
                if call.call_id == call_id:
                    if call.callback_number is not None or call.visit_ticket is not None:
                        return []
                    del waiting[index]
                    return [CallLeftQueue(now, call_id, call.queue, None)]
        offer = self._offers.pop(call_id, None)
        if offer is None:
            return []
        agent = self.agent(offer.agent_id)
        agent.call_id = None
        events: list[RoutingEvent] = []
        if not offer.answered:
            events.append(CallLeftQueue(now, call_id, offer.call.queue, agent.agent_id))
        after = agent.after_call
        agent.after_call = None
        if after is not None and after is not AgentState.READY:
            return events + self._change(agent, after, now, agent.reason)
        wrap_up = self.settings(offer.call.queue).wrap_up
        wrap_up = self._wrap_up if wrap_up is None else wrap_up
        if offer.answered and wrap_up > timedelta(0):
            agent.wrap_up_until = now + wrap_up
            return events + self._change(agent, AgentState.WRAP_UP, now)
        agent.idle_since = now
        return events + self._change(agent, AgentState.READY, now)

    def expire_wrap_ups(self, now: datetime) -> list[RoutingEvent]:
        """Agents whose wrap-up time has passed become ready."""
        events: list[RoutingEvent] = []
        for agent in self._agents.values():
            if (
                agent.state is AgentState.WRAP_UP
                and agent.wrap_up_until is not None
                and agent.wrap_up_until <= now
            ):
                agent.wrap_up_until = None
                agent.idle_since = now
                events += self._change(agent, AgentState.READY, now)
        return events

    def extend_wrap_up(
        self, agent_id: str, now: datetime, by: timedelta, longest: timedelta
    ) -> datetime:
        """An agent asks for more wrap-up (延长): `by` more, but never past `longest` after the
        call ended. The new end, or RoutingError when not wrapping up or at the cap."""
        agent = self.agent(agent_id)
        if agent.state is not AgentState.WRAP_UP or agent.wrap_up_until is None:
            raise RoutingError("not-in-wrap-up", f"{agent_id} is not in wrap-up")
        cap = agent.since + longest
        extended = min(max(agent.wrap_up_until, now) + by, cap)
        if extended <= agent.wrap_up_until:
            raise RoutingError("wrap-up-at-limit", f"wrap-up may last at most {longest}")
        agent.wrap_up_until = extended
        return extended

    def next_wrap_up_end(self) -> datetime | None:
        ends = [
            a.wrap_up_until
            for a in self._agents.values()
            if a.state is AgentState.WRAP_UP and a.wrap_up_until is not None
        ]
        return min(ends, default=None)

    # --- callbacks, escalation and overflow --------------------------------------------

    def request_callback(self, call_id: str, number: str, now: datetime) -> list[RoutingEvent]:
        """A waiting caller asks to be called back: the request keeps the call's place in line
        and, at the front, is offered to an agent as an outbound task (CallbackOffered)."""
        for waiting in self._queues.values():
            for index, call in enumerate(waiting):
                if call.call_id == call_id:
                    waiting[index] = replace(call, callback_number=number)
                    return [CallbackQueued(now, call_id, call.queue, index + 1, number)]
        raise RoutingError("not-waiting", f"call {call_id} is not waiting in a queue")

    def dial_started(
        self, agent_id: str, item_id: str, queue: str, now: datetime
    ) -> list[RoutingEvent]:
        """The agent dials out for a call-back: talking (offered nothing) until `dial_ended`.
        A task the queue offered them counts as answered; one taken from the list makes a
        free agent busy, and a paused one returns to the pause afterwards."""
        offer = self._offers.get(item_id)
        if offer is not None:
            if offer.agent_id != agent_id:
                raise RoutingError("not-yours", f"{item_id} is offered to another agent")
            return self.answered(item_id, now)
        status = self.add_agent(agent_id, now)
        if status.state in BUSY:
            raise RoutingError("agent-busy", "finish the current call before dialling")
        self.cancel(item_id, now)  # taken from the list while still waiting in line
        if status.state in (AgentState.PAUSED, AgentState.LOGGED_OUT):
            status.after_call = status.state
        status.wrap_up_until = None
        status.call_id = item_id
        call = QueuedCall(0, now, item_id, queue if queue in self._queues else "", now)
        self._offers[item_id] = _Offer(call, agent_id, answered=True)
        return self._change(status, AgentState.TALKING, now, status.reason)

    def dial_ended(self, item_id: str, now: datetime, worked: bool) -> list[RoutingEvent]:
        """The dial is over: wrap-up after a conversation or a refusal (`worked`), otherwise
        straight back to ready (or to the pause the agent dialled from)."""
        offer = self._offers.get(item_id)
        if offer is None:
            return []
        if not worked:
            self.agent(offer.agent_id).wrap_up_until = None
            offer.answered = False
            return [e for e in self.ended(item_id, now) if not isinstance(e, CallLeftQueue)]
        return self.ended(item_id, now)

    def enqueue_visit(
        self, item_id: str, queue: str, ticket: str, now: datetime, priority: int = -1
    ) -> list[RoutingEvent]:
        """A 回访 joins the queue as a work item: behind every call of a higher priority, so
        an agent holds either a call or a call-back, never both; it ends like a callback."""
        if queue not in self._queues:
            raise RoutingError("unknown-queue", f"queue {queue} is not configured")
        if self.holds(item_id):
            return []
        item = QueuedCall(-priority, now, item_id, queue, now, visit_ticket=ticket)
        waiting = self._queues[queue]
        bisect.insort(waiting, item)
        return [CallQueued(now, item_id, queue, waiting.index(item) + 1)]

    def holds(self, item_id: str) -> bool:
        """Whether a call or work item is waiting or offered."""
        return item_id in self._offers or self.position(item_id) is not None

    def cancel(self, call_id: str, now: datetime) -> list[RoutingEvent]:
        """Drop a waiting call or callback request (a lead closes it, or the caller got through)."""
        for waiting in self._queues.values():
            for index, call in enumerate(waiting):
                if call.call_id == call_id:
                    del waiting[index]
                    return [CallLeftQueue(now, call_id, call.queue, None)]
        return []

    def tick(self, now: datetime) -> list[RoutingEvent]:
        """Escalate and overflow calls that have waited too long in their queue."""
        events: list[RoutingEvent] = []
        for name in list(self._queues):
            rules = self.settings(name)
            if rules.escalate_after is None and rules.overflow_after is None:
                continue
            for call in list(self._queues[name]):
                since = call.queued_since or call.enqueued_at
                if rules.overflow_after is not None and rules.overflow_to is not None:
                    if now - since >= rules.overflow_after:
                        self._queues[name].remove(call)
                        moved = replace(call, queue=rules.overflow_to, queued_since=now)
                        target = self._queues[rules.overflow_to]
                        bisect.insort(target, moved)
                        position = target.index(moved) + 1
                        events.append(
                            CallOverflowed(now, call.call_id, name, rules.overflow_to, position)
                        )
                        continue
                if rules.escalate_after is not None and not call.escalated:
                    if now - since >= rules.escalate_after:
                        self._queues[name].remove(call)
                        raised = replace(call, rank=call.rank - 1, escalated=True)
                        bisect.insort(self._queues[name], raised)
                        events.append(CallEscalated(now, call.call_id, name, raised.priority))
        return events

    def next_deadline(self) -> datetime | None:
        """The next moment `expire_wrap_ups` or `tick` has something to do."""
        due = [self.next_wrap_up_end()]
        for name, waiting in self._queues.items():
            rules = self.settings(name)
            for call in waiting:
                since = call.queued_since or call.enqueued_at
                if rules.overflow_after is not None:
                    due.append(since + rules.overflow_after)
                if rules.escalate_after is not None and not call.escalated:
                    due.append(since + rules.escalate_after)
        return min((d for d in due if d is not None), default=None)

    def agent_for_call(self, call_id: str) -> str | None:
        offer = self._offers.get(call_id)
        return None if offer is None else offer.agent_id

    def _offer(self, call_id: str) -> _Offer:
        offer = self._offers.get(call_id)
        if offer is None:
            raise RoutingError("unknown-call", f"call {call_id} is not offered to anyone")
        return offer
