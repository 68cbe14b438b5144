"""Transfer settings: the outbound proxy and the directory, from TOML and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import ConfigError, SipConfig, load_config
from hotline.transfers import check_holder, check_mode, resolve_target
from telephony.refer import status_of
from telephony.transfer import TransferError

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def test_demo_config_names_a_proxy_and_departments() -> None:
    sip = load_config(DEMO, environ={}).sip
    assert sip.outbound_address == ("127.0.0.1", 5070)
    assert sip.transfer_directory["城管执法"] == "80010"
    assert "12345" in sip.transfer_directory.values()


def test_environment_overrides_proxy_and_directory() -> None:
    sip = load_config(
        DEMO,
        environ={
            "HOTLINE_SIP_OUTBOUND_PROXY": "sbc.example.net",
            "HOTLINE_SIP_TRANSFER_TARGETS": "环卫=80030, 12345=12345",
        },
    ).sip
    assert sip.outbound_address == ("sbc.example.net", 5060)
    assert sip.transfer_directory == {"环卫": "80030", "12345": "12345"}


@pytest.mark.parametrize("proxy", ["sbc:", ":5060", "sbc:port", "sbc:70000"])
def test_a_bad_proxy_is_a_config_error(proxy: str) -> None:
    with pytest.raises(ConfigError, match="outbound_proxy"):
        _ = SipConfig(outbound_proxy=proxy).outbound_address


@pytest.mark.parametrize("entry", ["80010", "=80010", "城管=", "城管=80-10"])
def test_a_bad_directory_entry_is_a_config_error(entry: str) -> None:
    with pytest.raises(ConfigError, match="transfer_targets"):
        _ = SipConfig(transfer_targets=(entry,)).transfer_directory


def test_no_proxy_means_no_outbound_calls() -> None:
    assert SipConfig().outbound_address is None


def test_targets_resolve_by_name_or_number_only_from_the_directory() -> None:
    directory = {"城管执法": "80010"}
    assert resolve_target(directory, "城管执法") == "80010"
    assert resolve_target(directory, " 80010 ") == "80010"
    for bad in ("110", "", None, 80010):
        with pytest.raises(TransferError) as error:
            resolve_target(directory, bad)
        assert error.value.error_id == "unknown-target"


def test_mode_and_holder_checks() -> None:
    assert check_mode("three_way") == "three_way"
    with pytest.raises(TransferError):
        check_mode("warm")
    check_holder("1001", "1001", lead=False)
    check_holder("1001", "9001", lead=True)
    with pytest.raises(TransferError) as error:
        check_holder("1001", "1002", lead=False)
    assert error.value.error_id == "forbidden"


def test_a_failed_transfer_reports_the_targets_status_to_the_phone() -> None:
    assert status_of("rejected-486") == 486
    assert status_of("no-answer") == 408
    assert status_of("no-media-port") == 503
