"""Typed events the routing engine emits; the wiring publishes them to the console and the log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    OFFERED = "offered"
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


@dataclass(frozen=True)
class AgentStateChanged:
    at: datetime
    agent_id: str
    state: AgentState
    previous: AgentState
    reason: str = ""


@dataclass(frozen=True)
class CallQueued:
    at: datetime
    call_id: str
    queue: str
    position: int


@dataclass(frozen=True)
class CallAssigned:
    at: datetime
    call_id: str
    queue: str
    agent_id: str
    waited_seconds: float


@dataclass(frozen=True)
class CallLeftQueue:
    """A waiting or offered call went away before an agent answered (caller hung up)."""

    at: datetime
    call_id: str
    queue: str
    agent_id: str | None


@dataclass(frozen=True)
class CallbackQueued:
    """A waiting caller asked to be called back; the request keeps the call's place."""

    at: datetime
    call_id: str
    queue: str
    position: int
    number: str


@dataclass(frozen=True)
class CallbackOffered:
    """A callback request reached the front: the agent is given an outbound task."""

    at: datetime
    call_id: str
    queue: str
    agent_id: str
    number: str


@dataclass(frozen=True)
class CallOverflowed:
    """A call waited too long in one queue and moved to another, keeping its arrival time."""

    at: datetime
    call_id: str
    from_queue: str
    to_queue: str
    position: int


@dataclass(frozen=True)
class CallEscalated:
    """A call waited long enough to be served one priority level higher."""

    at: datetime
    call_id: str
    queue: str
    priority: int


@dataclass(frozen=True)
class VisitOffered:
    """A 回访 (call-back for satisfaction) reached the front: the agent is given the task."""

    at: datetime
    item_id: str
    queue: str
    agent_id: str
    ticket: str


RoutingEvent = (
    AgentStateChanged
    | CallQueued
    | CallAssigned
    | CallLeftQueue
    | CallbackQueued
    | CallbackOffered
    | CallOverflowed
    | CallEscalated
    | VisitOffered
)
