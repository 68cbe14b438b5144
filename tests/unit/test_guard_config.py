"""[guard] config: typed keys with environment overrides, the policy built from them, and who
is exempt from the rate limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import ConfigError, GuardConfig, load_config
from hotline.guard_setup import sip_guard
from telephony.guard import DropReason, GuardPolicy
from telephony.registrar import Registrar

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
FLOOD = b"OPTIONS sip:x SIP/2.0\r\nUser-Agent: test\r\n\r\n"


def test_guard_defaults_are_the_policy_defaults_and_the_demo_keeps_them() -> None:
    defaults = GuardConfig()
    policy = GuardPolicy()
    for name in ("requests_per_window", "window_seconds", "block_seconds", "max_message_bytes"):
        assert getattr(defaults, name) == getattr(policy, name), name
    assert defaults.scanner_user_agents == policy.scanner_user_agents
    assert defaults.max_sources == policy.max_sources
    assert load_config(DEMO, environ={}).guard == defaults


def test_every_guard_key_can_be_set_from_the_environment() -> None:
    config = load_config(
        DEMO,
        environ={
            "HOTLINE_GUARD_REQUESTS_PER_WINDOW": "100",
            "HOTLINE_GUARD_WINDOW_SECONDS": "1.5",
            "HOTLINE_GUARD_BLOCK_SECONDS": "300",
            "HOTLINE_GUARD_MAX_MESSAGE_BYTES": "4096",
            "HOTLINE_GUARD_SCANNER_USER_AGENTS": "friendly-scanner, evil-dialer",
            "HOTLINE_GUARD_EXEMPT_SOURCES": "10.20.0.0/16,192.0.2.8",
            "HOTLINE_GUARD_EXEMPT_REGISTERED_PHONES": "false",
            "HOTLINE_GUARD_MAX_SOURCES": "50000",
        },
    )
    assert config.guard == GuardConfig(
        requests_per_window=100,
        window_seconds=1.5,
        block_seconds=300.0,
        max_message_bytes=4096,
        scanner_user_agents=("friendly-scanner", "evil-dialer"),
        exempt_sources=("10.20.0.0/16", "192.0.2.8"),
        exempt_registered_phones=False,
        max_sources=50000,
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"HOTLINE_GUARD_REQUESTS_PER_WINDOW": "-1"}, "[guard] requests_per_window"),
        ({"HOTLINE_GUARD_WINDOW_SECONDS": "0"}, "[guard] window_seconds"),
        ({"HOTLINE_GUARD_MAX_SOURCES": "0"}, "[guard] max_sources"),
        ({"HOTLINE_GUARD_EXEMPT_SOURCES": "office"}, "[guard] exempt_sources"),
        ({"HOTLINE_SIP_TRUNK_PEERS": "carrier-sbc"}, "[sip] trunk_peers"),
    ],
)
def test_impossible_guard_settings_stop_the_start(environ: dict[str, str], message: str) -> None:
    config = load_config(None, environ=environ)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        sip_guard(config, Registrar())


def flood(config_environ: dict[str, str], registrar: Registrar, address: str) -> DropReason | None:
    """What the 11th datagram in a moment from `address` gets, at 10 per window."""
    config = load_config(
        None, environ={"HOTLINE_GUARD_REQUESTS_PER_WINDOW": "10", **config_environ}
    )
    guard = sip_guard(config, registrar)
    verdicts = [guard.inspect(FLOOD, address, 100.0) for _ in range(11)]
    return verdicts[-1].dropped


def test_trunk_peers_and_exempt_sources_are_never_blocked_for_their_rate() -> None:
    environ = {
        "HOTLINE_SIP_TRUNK_PEERS": "198.51.100.0/24",
        "HOTLINE_GUARD_EXEMPT_SOURCES": "10.9.9.9",
    }
    assert flood(environ, Registrar(), "198.51.100.7") is None
    assert flood(environ, Registrar(), "10.9.9.9") is None
    assert flood(environ, Registrar(), "203.0.113.5") is DropReason.RATE


def test_an_address_a_phone_is_registered_from_is_exempt_unless_turned_off() -> None:
    registrar = Registrar()
    registrar.register("1001", "sip:1001@10.0.0.5", ("10.0.0.5", 5062), 3600, now=50.0)
    assert flood({}, registrar, "10.0.0.5") is None
    off = {"HOTLINE_GUARD_EXEMPT_REGISTERED_PHONES": "false"}
    assert flood(off, registrar, "10.0.0.5") is DropReason.RATE
    expired = Registrar()
    expired.register("1001", "sip:1001@10.0.0.5", ("10.0.0.5", 5062), 60, now=0.0)
    assert flood({}, expired, "10.0.0.5") is DropReason.RATE
