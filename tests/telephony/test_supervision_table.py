"""Who hears whom when a shift lead is on a call (监听 / 密语 / 强插), and the mixer doing it."""

from __future__ import annotations

import array

import pytest

from telephony.conference import mix_for_parties
from telephony.supervision import MODES, MonitorError, check_mode, who_hears_whom

# Each party's frame is a distinct power of ten, so a mixed sample says who is in it.
SENT = {"caller": 1, "agent": 10, "lead": 100}


def pcm(value: int) -> bytes:
    return array.array("h", [value, value]).tobytes()


def heard_sum(mode: str) -> dict[str, int]:
    frames = {party: pcm(value) for party, value in SENT.items()}
    heard = mix_for_parties(frames, 2, who_hears_whom(mode))
    return {party: array.array("h", data)[0] for party, data in heard.items()}


@pytest.mark.parametrize(
    ("mode", "table"),
    [
        (
            "listen",
            {"caller": {"agent"}, "agent": {"caller"}, "lead": {"caller", "agent"}},
        ),
        (
            "whisper",
            {"caller": {"agent"}, "agent": {"caller", "lead"}, "lead": {"caller", "agent"}},
        ),
        (
            "barge",
            {
                "caller": {"agent", "lead"},
                "agent": {"caller", "lead"},
                "lead": {"caller", "agent"},
            },
        ),
    ],
)
def test_the_table_per_mode(mode: str, table: dict[str, set[str]]) -> None:
    assert {party: set(hears) for party, hears in who_hears_whom(mode).items()} == table


def test_no_one_hears_themselves_and_the_lead_always_hears_both() -> None:
    for mode in MODES:
        hears = who_hears_whom(mode)
        assert all(party not in heard for party, heard in hears.items())
        assert hears["lead"] == {"caller", "agent"}
        assert "agent" in hears["caller"] and "caller" in hears["agent"]


def test_the_caller_hears_the_lead_only_in_barge() -> None:
    assert [m for m in MODES if "lead" in who_hears_whom(m)["caller"]] == ["barge"]
    assert [m for m in MODES if "lead" in who_hears_whom(m)["agent"]] == ["whisper", "barge"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("listen", {"caller": 10, "agent": 1, "lead": 11}),
        ("whisper", {"caller": 10, "agent": 101, "lead": 11}),
        ("barge", {"caller": 110, "agent": 101, "lead": 11}),
    ],
)
def test_the_mixer_follows_the_table(mode: str, expected: dict[str, int]) -> None:
    assert heard_sum(mode) == expected


def test_a_party_the_table_does_not_name_hears_silence() -> None:
    heard = mix_for_parties({"a": pcm(5), "b": pcm(7)}, 2, {"a": frozenset({"b"})})
    assert list(array.array("h", heard["b"])) == [0, 0]
    assert list(array.array("h", heard["a"])) == [7, 7]


@pytest.mark.parametrize("bad", ["", "LISTEN", "spy", None, 1, ["listen"]])
def test_unknown_modes_are_refused_with_a_stable_id(bad: object) -> None:
    with pytest.raises(MonitorError) as raised:
        check_mode(bad)
    assert raised.value.error_id == "invalid-mode"
