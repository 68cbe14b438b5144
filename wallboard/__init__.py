"""The shift lead's wallboard and alerts: pure functions of routing state and call rows."""

from wallboard.alerts import (
    Alert,
    AlertBook,
    AlertError,
    AlertKind,
    AlertRules,
    CaseDue,
    Condition,
    OutboxFacts,
    Watch,
    conditions,
    next_check,
)
from wallboard.board import (
    AgentBoard,
    AgentSeat,
    Board,
    CallBoard,
    PeriodFigures,
    QueueBoard,
    WaitingCall,
    build_board,
    waiting_calls,
)

__all__ = [
    "AgentBoard",
    "AgentSeat",
    "Alert",
    "AlertBook",
    "AlertError",
    "AlertKind",
    "AlertRules",
    "Board",
    "CallBoard",
    "CaseDue",
    "Condition",
    "OutboxFacts",
    "PeriodFigures",
    "QueueBoard",
    "WaitingCall",
    "Watch",
    "build_board",
    "conditions",
    "next_check",
    "waiting_calls",
]
