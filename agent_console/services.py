"""What the console's handlers call; built by the composition root."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hotline.accounts import Accounts
from hotline.statistics import Statistics
from hotline.switchboard import Switchboard
from hotline.tickets import TicketService
from nlp import Classifier
from telephony.trunk_binding import TrunkStatus


def no_trunk() -> Sequence[TrunkStatus]:
    return ()


def phone_unknown(agent_id: str) -> dict[str, object] | None:
    return None


@dataclass(frozen=True)
class ConsoleServices:
    accounts: Accounts
    tickets: TicketService
    classifier: Classifier
    switchboard: Switchboard
    statistics: Statistics
    # Tells the forwarding sender a new case is waiting, so it goes out at once.
    case_saved: Callable[[], None]
    # How each trunk number's registration at the upstream registrar stands.
    trunk_status: Callable[[], Sequence[TrunkStatus]] = no_trunk
    # Whether the agent's phone is registered now ({"registered", "expires"}), for the desk.
    phone_status: Callable[[str], dict[str, object] | None] = phone_unknown
