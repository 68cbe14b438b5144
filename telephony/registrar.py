"""The agent-phone registrar: bindings with expiry (pure, takes `now`)."""

from __future__ import annotations

from dataclasses import dataclass

MIN_EXPIRES = 60
MAX_EXPIRES = 3600
DEFAULT_EXPIRES = 3600


@dataclass(frozen=True)
class Binding:
    agent_id: str
    contact: str  # the Contact URI as the phone sent it
    source: tuple[str, int]  # where the REGISTER came from (the phone's NAT mapping)
    expires_at: float
    registered_at: float


def granted_expiry(requested: int | None) -> int:
    """How long a registration is kept: the phone's wish, clamped to our bounds."""
    if requested is None:
        return DEFAULT_EXPIRES
    if requested == 0:
        return 0
    return max(MIN_EXPIRES, min(MAX_EXPIRES, requested))


class Registrar:
    """Where each agent's phones can be reached; several contacts per agent."""

    def __init__(self) -> None:
        self._bindings: dict[str, dict[str, Binding]] = {}

    def register(
        self,
        agent_id: str,
        contact: str,
        source: tuple[str, int],
        expires: float,
        now: float,
        registered_at: float | None = None,
    ) -> None:
        """Bind (or with `expires` 0 remove) a contact; `registered_at` (default `now`) is
        given when a binding kept from before a restart is put back."""
        contacts = self._bindings.setdefault(agent_id, {})
        if expires <= 0:
            contacts.pop(contact, None)
        else:
            since = now if registered_at is None else registered_at
            contacts[contact] = Binding(agent_id, contact, source, now + expires, since)
        if not contacts:
            del self._bindings[agent_id]

    def unregister_all(self, agent_id: str) -> None:
        self._bindings.pop(agent_id, None)

    def bindings(self, agent_id: str, now: float) -> list[Binding]:
        """Live contacts of an agent, most recently registered first."""
        contacts = self._bindings.get(agent_id, {})
        for key in [k for k, b in contacts.items() if b.expires_at <= now]:
            del contacts[key]
        return sorted(contacts.values(), key=lambda b: b.registered_at, reverse=True)

    def registered_from(self, address: str, now: float) -> bool:
        """Whether a live binding was registered from this source address (any port)."""
        return any(
            binding.source[0] == address and binding.expires_at > now
            for contacts in self._bindings.values()
            for binding in contacts.values()
        )

    def registered_agents(self, now: float) -> list[str]:
        return [agent for agent in list(self._bindings) if self.bindings(agent, now)]
