"""Console presence: an agent whose consoles have all been gone for a grace period is to be
logged out, so calls stop ringing an empty seat. A reconnect within the grace keeps the
agent's state (a network blip). Pure: every call takes `now`."""

from __future__ import annotations

from datetime import datetime, timedelta


class ConsolePresence:
    """Open consoles per agent, and since when an agent has had none."""

    def __init__(self, grace: timedelta) -> None:
        self.grace = grace
        self._open: dict[str, int] = {}
        self._gone_since: dict[str, datetime] = {}

    def connected(self, agent_id: str, now: datetime) -> None:
        """A console of the agent is open: any pending logout is called off."""
        self._open[agent_id] = self._open.get(agent_id, 0) + 1
        self._gone_since.pop(agent_id, None)

    def disconnected(self, agent_id: str, now: datetime) -> None:
        """A console closed; with none left, the grace starts (0 grace: nobody is logged out)."""
        left = max(0, self._open.get(agent_id, 0) - 1)
        if left:
            self._open[agent_id] = left
            return
        self._open.pop(agent_id, None)
        if self.grace > timedelta(0):
            self._gone_since[agent_id] = now

    def gone(self, now: datetime) -> list[str]:
        """Agents whose grace has run out, each reported once (to be logged out)."""
        due = [a for a, since in self._gone_since.items() if since + self.grace <= now]
        for agent_id in due:
            del self._gone_since[agent_id]
        return sorted(due)

    def pending(self) -> dict[str, datetime]:
        """Agents without a console and when they will be logged out."""
        return {a: since + self.grace for a, since in self._gone_since.items()}

    def next_deadline(self) -> datetime | None:
        return min(self.pending().values(), default=None)

    def online(self, agent_id: str) -> bool:
        return self._open.get(agent_id, 0) > 0
