"""Invariants of the routing engine under any sequence of events (hypothesis state machine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from routing import (
    AgentState,
    CallAssigned,
    CallbackOffered,
    CallOverflowed,
    QueueSettings,
    RoutingEngine,
    Strategy,
)

T0 = datetime(2026, 11, 23, tzinfo=UTC)
QUEUES = ("12319", "96198")
AGENTS = ("1001", "1002", "1003")
WRAP_UP = {"12319": timedelta(seconds=30), "96198": timedelta(seconds=5)}  # per queue


class RoutingMachine(RuleBasedStateMachine):
    """Random arrivals, hang-ups, answers, misses, state requests and passing time."""

    STRATEGY = Strategy.LONGEST_IDLE
    OVERFLOW: timedelta | None = None  # calls of 12319 move to 96198 after waiting this long

    def __init__(self) -> None:
        super().__init__()
        overflow = {"overflow_after": self.OVERFLOW, "overflow_to": "96198"}
        self.engine = RoutingEngine(
            QUEUES,
            timedelta(seconds=30),
            settings=[
                QueueSettings(
                    q,
                    self.STRATEGY,
                    wrap_up=WRAP_UP[q],
                    **(overflow if q == "12319" and self.OVERFLOW else {}),  # type: ignore[arg-type]
                )
                for q in QUEUES
            ],
        )
        for n, agent in enumerate(AGENTS):
            self.engine.add_agent(agent, T0, skills={"12319": n + 1, "96198": 3 - n})
        self.callbacks: set[str] = set()
        self.overflowed: set[str] = set()
        self.live_queue: dict[str, str] = {}
        self.now = T0
        self.serial = 0
        self.live: dict[str, str] = {}  # call id → queue, for every call not yet ended
        self.enqueued_at: dict[str, datetime] = {}
        self.priority: dict[str, int] = {}
        self.assigned_order: dict[str, list[str]] = {q: [] for q in QUEUES}
        self.requeued: set[str] = set()
        self.wrap_up_until: dict[str, datetime] = {}

    def _record(self, events: list[object]) -> None:
        for event in events:
            if isinstance(event, CallOverflowed):
                assert self.OVERFLOW is not None and event.from_queue == "12319"
                self.live[event.call_id] = self.live_queue[event.call_id] = event.to_queue
                self.overflowed.add(event.call_id)
            if isinstance(event, CallAssigned | CallbackOffered):
                assert isinstance(event, CallbackOffered) == (event.call_id in self.callbacks)
                agent = self.engine.agent(event.agent_id)
                until = self.wrap_up_until.get(event.agent_id)
                # Wrap-up is honoured whichever queue the next call comes from.
                assert until is None or until <= self.now, (event, until)
                assert agent.state is AgentState.OFFERED
                self.assigned_order[event.queue].append(event.call_id)

    @rule(queue=st.sampled_from(QUEUES), priority=st.sampled_from([0, 0, 1]))
    def call_arrives(self, queue: str, priority: int) -> None:
        self.serial += 1
        call_id = f"c{self.serial}"
        self.engine.enqueue(call_id, queue, self.now, priority)
        self.priority[call_id] = priority
        self.live[call_id] = queue
        self.live_queue[call_id] = queue
        self.enqueued_at[call_id] = self.now
        self._record(self.engine.assign(self.now))

    @rule(
        agent=st.sampled_from(AGENTS),
        state=st.sampled_from([AgentState.READY, AgentState.PAUSED, AgentState.LOGGED_OUT]),
    )
    def agent_asks(self, agent: str, state: AgentState) -> None:
        self.engine.request_state(agent, state, self.now)
        if state is AgentState.READY:
            self.wrap_up_until.pop(agent, None)  # ending wrap-up early is the agent's choice
        self._record(self.engine.assign(self.now))

    @precondition(lambda self: any(a.state is AgentState.OFFERED for a in self.engine.agents()))
    @rule(data=st.data())
    def phone_answers_or_misses(self, data: st.DataObject) -> None:
        offered = [a for a in self.engine.agents() if a.state is AgentState.OFFERED]
        agent = data.draw(st.sampled_from(offered))
        assert agent.call_id is not None
        if data.draw(st.booleans()):
            self.engine.answered(agent.call_id, self.now)
        else:
            self.requeued.add(agent.call_id)
            self.engine.offer_failed(agent.call_id, self.now, "no-answer")
        self._record(self.engine.assign(self.now))

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data())
    def caller_asks_for_a_callback(self, data: st.DataObject) -> None:
        waiting = [c for q in QUEUES for c in self.engine.waiting(q)]
        if not waiting:
            return
        call = data.draw(st.sampled_from(waiting))
        before = [c.call_id for c in self.engine.waiting(call.queue)]
        self.engine.request_callback(call.call_id, "13800138000", self.now)
        self.callbacks.add(call.call_id)
        # A callback keeps its place: the line is exactly as it was.
        assert [c.call_id for c in self.engine.waiting(call.queue)] == before

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data())
    def call_ends(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.live)))
        agent_id = self.engine.agent_for_call(call_id)
        talking = agent_id is not None and self.engine.agent(agent_id).state is AgentState.TALKING
        before = self.engine.position(call_id)
        self.engine.ended(call_id, self.now)
        if call_id in self.callbacks and agent_id is None:
            # The caller's leg ended after asking for a callback: the request stays in line.
            assert self.engine.position(call_id) == before is not None
            return
        del self.live[call_id]
        if talking and agent_id is not None:
            self.wrap_up_until[agent_id] = self.now + WRAP_UP[self.live_queue[call_id]]
        self._record(self.engine.assign(self.now))

    @rule(seconds=st.integers(min_value=1, max_value=60))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)
        self._record(self.engine.expire_wrap_ups(self.now))
        self._record(self.engine.tick(self.now))
        self._record(self.engine.assign(self.now))

    @invariant()
    def an_agent_never_holds_two_calls(self) -> None:
        held = [a.call_id for a in self.engine.agents() if a.call_id is not None]
        assert len(held) == len(set(held))
        for agent in self.engine.agents():
            busy = agent.state in (AgentState.OFFERED, AgentState.TALKING)
            assert (agent.call_id is not None) == busy, agent

    @invariant()
    def a_waiting_call_is_never_lost(self) -> None:
        waiting = {c.call_id for q in QUEUES for c in self.engine.waiting(q)}
        with_agents = {a.call_id for a in self.engine.agents() if a.call_id is not None}
        assert waiting.isdisjoint(with_agents)
        assert waiting | with_agents == set(self.live)

    @invariant()
    def first_come_first_served_within_a_priority(self) -> None:
        for queue in QUEUES:
            waiting = self.engine.waiting(queue)
            keys = [(-self.priority[c.call_id], self.enqueued_at[c.call_id]) for c in waiting]
            assert keys == sorted(keys)  # a requeued call keeps its original place
            first_offers = list(dict.fromkeys(self.assigned_order[queue]))
            for level in (0, 1):
                fresh = [
                    c
                    for c in first_offers
                    if c not in self.requeued | self.overflowed and self.priority[c] == level
                ]
                times = [self.enqueued_at[c] for c in fresh]
                assert times == sorted(times)

    @invariant()
    def no_ready_agent_while_a_call_it_serves_waits(self) -> None:
        ready = [a for a in self.engine.agents() if a.state is AgentState.READY]
        if ready:
            assert all(not self.engine.waiting(q) for q in QUEUES)


class OverflowMachine(RoutingMachine):
    OVERFLOW = timedelta(seconds=45)


class RoundRobinMachine(RoutingMachine):
    STRATEGY = Strategy.ROUND_ROBIN


class FewestCallsMachine(RoutingMachine):
    STRATEGY = Strategy.FEWEST_CALLS


class SkillsMachine(RoutingMachine):
    STRATEGY = Strategy.SKILLS


RoutingMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
TestRoutingInvariants = RoutingMachine.TestCase
# The same invariants hold whichever agent a strategy picks.
for machine in (RoundRobinMachine, FewestCallsMachine, SkillsMachine, OverflowMachine):
    machine.TestCase.settings = settings(max_examples=60, stateful_step_count=60, deadline=None)
TestRoundRobinInvariants = RoundRobinMachine.TestCase
TestFewestCallsInvariants = FewestCallsMachine.TestCase
TestSkillsInvariants = SkillsMachine.TestCase
TestOverflowInvariants = OverflowMachine.TestCase
