"""The SIP port's flood and scanner guard, built from the [guard] and [sip] config, and the
REGISTER lockout from [register_lockout]."""

from __future__ import annotations

import ipaddress

from hotline.config import ConfigError, HotlineConfig
from telephony.guard import GuardPolicy, SipGuard
from telephony.lockout import LockoutPolicy, RegisterLockout
from telephony.registrar import Registrar

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: tuple[str, ...], where: str) -> tuple[Network, ...]:
    """Addresses or CIDR networks; a malformed one is a ConfigError at start-up."""
    parsed = []
    for entry in entries:
        try:
            parsed.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{where}: expected an address or network, got {entry!r}") from None
    return tuple(parsed)


def sip_guard(config: HotlineConfig, registrar: Registrar) -> SipGuard:
    """The guard; trunk peers, [guard] exempt_sources and (if so set) the addresses agent
    phones registered from are never blocked for their rate."""
    settings = config.guard
    try:
        policy = GuardPolicy(
            requests_per_window=settings.requests_per_window,
            window_seconds=settings.window_seconds,
            block_seconds=settings.block_seconds,
            max_message_bytes=settings.max_message_bytes,
            scanner_user_agents=settings.scanner_user_agents,
            max_sources=settings.max_sources,
        )
    except ValueError as error:
        raise ConfigError(f"[guard] {error}") from None
    exempt_networks = networks(config.sip.trunk_peers, "[sip] trunk_peers") + networks(
        settings.exempt_sources, "[guard] exempt_sources"
    )

    def exempt(address: str, now: float) -> bool:
        try:
            source = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if any(source in network for network in exempt_networks):
            return True
        return settings.exempt_registered_phones and registrar.registered_from(address, now)

    return SipGuard(policy, exempt)


def register_lockout(config: HotlineConfig) -> RegisterLockout:
    """The REGISTER brute-force lockout."""
    settings = config.register_lockout
    try:
        policy = LockoutPolicy(
            account_failures=settings.account_failures,
            source_failures=settings.source_failures,
            window_seconds=settings.window_seconds,
            account_long_failures=settings.account_long_failures,
            source_long_failures=settings.source_long_failures,
            long_window_seconds=settings.long_window_seconds,
            lockout_seconds=settings.lockout_seconds,
            max_tracked=settings.max_tracked,
        )
    except ValueError as error:
        raise ConfigError(f"[register_lockout] {error}") from None
    return RegisterLockout(policy)
