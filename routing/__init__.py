"""Routing: which ready agent answers which waiting call (pure, takes `now`)."""

from routing.engine import AgentStatus, QueuedCall, RoutingEngine, RoutingError
from routing.events import (
    AgentState,
    AgentStateChanged,
    CallAssigned,
    CallLeftQueue,
    CallQueued,
    RoutingEvent,
)

__all__ = [
    "AgentState",
    "AgentStateChanged",
    "AgentStatus",
    "CallAssigned",
    "CallLeftQueue",
    "CallQueued",
    "QueuedCall",
    "RoutingEngine",
    "RoutingError",
    "RoutingEvent",
]
