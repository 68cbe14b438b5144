"""Config: one TOML file, every key overridable by HOTLINE_<SECTION>_<KEY>."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import ConfigError, load_config

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def test_demo_config_has_both_hotlines_and_the_required_keys() -> None:
    config = load_config(DEMO, environ={})
    assert dict(config.hotlines) == {"12319": "12319", "96198": "96198"}
    assert config.sip.port == 5060
    assert config.sip.trunk_peers == ("127.0.0.1",)
    assert config.console.port == 8080
    assert config.database.url.startswith("sqlite+aiosqlite:///")
    assert config.dispatch_url == "http://127.0.0.1:8080/demo/dispatch-core/cases"
    assert config.dispatch.secret


def test_demo_dispatch_core_follows_the_console_address() -> None:
    """The stand-in lives on the console: a moved console must not break forwarding."""
    moved = load_config(DEMO, environ={"HOTLINE_CONSOLE_PORT": "8090"})
    assert moved.dispatch_url == "http://127.0.0.1:8090/demo/dispatch-core/cases"
    everywhere = load_config(
        DEMO, environ={"HOTLINE_CONSOLE_HOST": "0.0.0.0", "HOTLINE_CONSOLE_PORT": "8091"}
    )
    assert everywhere.dispatch_url == "http://127.0.0.1:8091/demo/dispatch-core/cases"
    v6 = load_config(DEMO, environ={"HOTLINE_CONSOLE_HOST": "::1"})
    assert v6.dispatch_url == "http://[::1]:8080/demo/dispatch-core/cases"
    real = load_config(DEMO, environ={"HOTLINE_DISPATCH_URL": "https://core.city/cases"})
    assert real.dispatch_url == "https://core.city/cases"


def test_no_dispatch_core_is_a_config_error() -> None:
    config = load_config(DEMO, environ={"HOTLINE_DEMO_DISPATCH_SINK": "false"})
    with pytest.raises(ConfigError, match=r"\[dispatch\] url"):
        _ = config.dispatch_url


def test_environment_overrides_every_section() -> None:
    config = load_config(
        DEMO,
        environ={
            "HOTLINE_SIP_PORT": "5070",
            "HOTLINE_SIP_TRUNK_PEERS": "10.1.2.3, 192.0.2.0/24",
            "HOTLINE_DATABASE_URL": "postgresql+asyncpg://hotline@db/hotline",
            "HOTLINE_CONSOLE_HOST": "0.0.0.0",
            "HOTLINE_DISPATCH_SECRET": "s3cret",
            "HOTLINE_HOTLINES_12345001": "12319",
            "HOTLINE_DEMO_DISPATCH_SINK": "false",
            "UNRELATED": "x",
        },
    )
    assert config.sip.port == 5070
    assert config.sip.trunk_peers == ("10.1.2.3", "192.0.2.0/24")
    assert config.database.url == "postgresql+asyncpg://hotline@db/hotline"
    assert config.console.host == "0.0.0.0"
    assert config.dispatch.secret == "s3cret"
    assert config.hotlines["12345001"] == "12319" and config.hotlines["96198"] == "96198"
    assert config.demo.dispatch_sink is False


def test_trunk_peer_check_accepts_addresses_and_networks() -> None:
    config = load_config(None, environ={"HOTLINE_SIP_TRUNK_PEERS": "10.1.2.3,192.0.2.0/24"})
    assert config.sip.is_trunk_peer("10.1.2.3")
    assert config.sip.is_trunk_peer("192.0.2.77")
    assert not config.sip.is_trunk_peer("10.1.2.4")
    assert not config.sip.is_trunk_peer("not-an-ip")


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"HOTLINE_SIP_PORT": "five"}, "[sip] port"),
        ({"HOTLINE_SIP_COLOUR": "red"}, "unknown key"),
        ({"HOTLINE_DEMO_DISPATCH_SINK": "maybe"}, "true or false"),
    ],
)
def test_bad_values_are_named_in_the_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(None, environ=environ)


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[telephone]\nport = 1\n")
    with pytest.raises(ConfigError, match="unknown section"):
        load_config(path, environ={})


def test_emergency_numbers_parse_and_bad_ones_are_named() -> None:
    from hotline.config import ConfigError, EmergencyConfig

    assert EmergencyConfig().directory == {"110": "110", "119": "119", "120": "120", "122": "122"}
    assert EmergencyConfig(numbers=("119=0119",)).directory == {"119": "0119"}
    with pytest.raises(ConfigError, match="SERVICE=NUMBER"):
        _ = EmergencyConfig(numbers=("119",)).directory
    with pytest.raises(ConfigError, match="mode"):
        _ = EmergencyConfig(mode="loud").directory


def test_cases_settings_are_checked_when_the_policy_is_built() -> None:
    from hotline.case_policy import deadline_policy
    from hotline.config import ConfigError, HotlineConfig

    config = HotlineConfig()
    assert deadline_policy(config).general_working_days == 5
    with pytest.raises(ConfigError, match="category_limits"):
        deadline_policy(config.replace(cases={"category_limits": ("01",)}))
    with pytest.raises(ConfigError, match="remind_share"):
        deadline_policy(config.replace(cases={"remind_share": 1.5}))


def test_the_event_loop_is_asyncio_or_uvloop() -> None:
    from hotline.cli import event_loop_factory

    assert load_config(DEMO, environ={}).media.event_loop == "asyncio"
    assert event_loop_factory("asyncio") is None
    chosen = load_config(DEMO, environ={"HOTLINE_MEDIA_EVENT_LOOP": "uvloop"})
    assert chosen.media.event_loop == "uvloop"
    with pytest.raises(ConfigError, match=r"\[media\] event_loop"):
        load_config(DEMO, environ={"HOTLINE_MEDIA_EVENT_LOOP": "trio"})


def test_the_relay_is_native_unless_told_python() -> None:
    assert load_config(DEMO, environ={}).media.relay == "native"
    chosen = load_config(DEMO, environ={"HOTLINE_MEDIA_RELAY": "python"})
    assert chosen.media.relay == "python"
    with pytest.raises(ConfigError, match=r"\[media\] relay"):
        load_config(DEMO, environ={"HOTLINE_MEDIA_RELAY": "kernel"})
