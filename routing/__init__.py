"""Routing: which ready agent answers which waiting call (pure, takes `now`)."""

from routing.engine import AgentStatus, QueuedCall, RoutingEngine, RoutingError
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
from routing.queues import QueueSettings, Strategy, caller_priority

__all__ = [
    "AgentState",
    "AgentStateChanged",
    "AgentStatus",
    "CallAssigned",
    "CallEscalated",
    "CallLeftQueue",
    "CallOverflowed",
    "CallQueued",
    "CallbackOffered",
    "CallbackQueued",
    "QueueSettings",
    "QueuedCall",
    "RoutingEngine",
    "RoutingError",
    "RoutingEvent",
    "Strategy",
    "VisitOffered",
    "caller_priority",
]
