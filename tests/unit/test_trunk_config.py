"""Trunk registration settings: off in the demo, from TOML and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import ConfigError, TrunkConfig, load_config
from hotline.wiring import upstream_trunk
from telephony.trunk_binding import TrunkAccount

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def test_the_demo_registers_nowhere() -> None:
    config = load_config(DEMO, environ={})
    assert config.trunk.register_to == "" and config.trunk.registrar_address is None
    assert upstream_trunk(config) is None


def test_environment_turns_registration_on_for_every_hotline_number() -> None:
    config = load_config(
        DEMO,
        environ={
            "HOTLINE_TRUNK_REGISTER_TO": "10.20.0.5:5080",
            "HOTLINE_TRUNK_PASSWORD": "s3cret",
            "HOTLINE_TRUNK_EXPIRES": "600",
        },
    )
    upstream = upstream_trunk(config)
    assert upstream is not None and upstream.registrar == ("10.20.0.5", 5080)
    assert upstream.accounts == (
        TrunkAccount("12319", "10.20.0.5", "12319", "s3cret", 600, 5080),
        TrunkAccount("96198", "10.20.0.5", "96198", "s3cret", 600, 5080),
    )
    assert upstream.accounts[0].aor == "sip:12319@10.20.0.5"
    # The Request-URI names the registrar with its port (RFC 3261 §10.2, a registrar on 5080).
    assert upstream.accounts[0].registrar_uri == "sip:10.20.0.5:5080"


def test_chosen_numbers_share_one_username_and_a_domain() -> None:
    config = load_config(
        None,
        environ={
            "HOTLINE_TRUNK_REGISTER_TO": "sbc.example.net",
            "HOTLINE_TRUNK_NUMBERS": "02512319",
            "HOTLINE_TRUNK_USERNAME": "hotline",
            "HOTLINE_TRUNK_DOMAIN": "ims.example.net",
        },
    )
    upstream = upstream_trunk(config)
    assert upstream is not None and upstream.registrar == ("sbc.example.net", 5060)
    assert upstream.accounts == (TrunkAccount("02512319", "ims.example.net", "hotline", "", 300),)
    assert upstream.accounts[0].registrar_uri == "sip:ims.example.net"


@pytest.mark.parametrize(
    "trunk, message",
    [
        (TrunkConfig(register_to="sbc:port"), "register_to"),
        (TrunkConfig(register_to=":5060"), "register_to"),
        (TrunkConfig(register_to="sbc:5060", expires=0), "expires"),
    ],
)
def test_bad_trunk_settings_are_config_errors(trunk: TrunkConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _ = trunk.registrar_address


def test_a_non_numeric_lifetime_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"\[trunk\] expires"):
        load_config(None, environ={"HOTLINE_TRUNK_EXPIRES": "long"})
