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


RoutingEvent = AgentStateChanged | CallQueued | CallAssigned | CallLeftQueue
