"""RFC 4733 telephone-events: payload round trip and one digit per key press."""

from __future__ import annotations

import pytest

from telephony.dtmf import DtmfDecoder, TelephoneEvent, press_payloads


def test_an_event_payload_round_trips() -> None:
    event = TelephoneEvent(event=11, end=True, volume=10, duration=800)
    assert bytes(event) == b"\x0b\x8a\x03\x20"
    assert TelephoneEvent.parse(bytes(event)) == event
    assert event.digit == "#"


def test_a_short_payload_is_refused() -> None:
    with pytest.raises(ValueError):
        TelephoneEvent.parse(b"\x01\x80")


def _feed(decoder: DtmfDecoder, presses: list[tuple[list[bytes], int]]) -> list[str]:
    digits: list[str] = []
    for payloads, timestamp in presses:
        for payload in payloads:
            digits += decoder.feed(payload, timestamp)
    return digits


def test_the_three_end_packets_of_a_press_count_once() -> None:
    decoder = DtmfDecoder()
    presses = [
        (press_payloads("1"), 1000),
        (press_payloads("1"), 3000),
        (press_payloads("#"), 5000),
    ]
    assert _feed(decoder, presses) == ["1", "1", "#"]
    assert decoder.flush() == []


def test_a_press_whose_end_packets_were_all_lost_still_counts() -> None:
    decoder = DtmfDecoder()
    lost_end = press_payloads("5", end_repeats=0)
    presses = [(lost_end, 1000), (press_payloads("2"), 3000), (lost_end, 5000)]
    assert _feed(decoder, presses) == ["5", "2"]
    assert decoder.flush() == ["5"]


def test_only_the_end_packets_arriving_still_give_the_digit() -> None:
    decoder = DtmfDecoder()
    end_only = press_payloads("9")[-3:]
    assert _feed(decoder, [(end_only, 42)]) == ["9"]


def test_hook_flash_and_garbage_give_no_digit() -> None:
    decoder = DtmfDecoder()
    flash = bytes(TelephoneEvent(16, True, 10, 800))
    assert decoder.feed(flash, 10) == []
    assert decoder.feed(b"\x00", 20) == []
    assert decoder.flush() == []
