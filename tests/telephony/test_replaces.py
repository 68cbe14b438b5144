"""The Replaces header (RFC 3891): parsing, Refer-To with Replaces, and the refusals."""

from __future__ import annotations

import pytest

from telephony.replaces import DialogState, Replaces, refer_target, refusal


def test_a_replaces_value_round_trips() -> None:
    value = "98asjd8@test.com;to-tag=12345;from-tag=54321;early-only"
    parsed = Replaces.parse(value)
    assert parsed == Replaces("98asjd8@test.com", "12345", "54321", early_only=True)
    assert Replaces.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    "value",
    ["", ";to-tag=1;from-tag=2", "abc;to-tag=1", "abc;from-tag=2", "abc;to-tag=;from-tag=2"],
)
def test_a_replaces_without_its_dialog_id_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        Replaces.parse(value)


def test_refer_to_carries_an_escaped_replaces() -> None:
    target = refer_target(
        "<sip:80010@10.0.0.5:5060?Replaces=abc%40host%3Bto-tag%3Dgw1%3Bfrom-tag%3Dph2>"
    )
    assert target.uri.user == "80010"
    assert target.replaces == Replaces("abc@host", "gw1", "ph2")
    assert refer_target("<sip:80010@10.0.0.5>").replaces is None


def test_a_refer_to_with_a_broken_replaces_does_not_parse() -> None:
    with pytest.raises(ValueError):
        refer_target("<sip:80010@10.0.0.5?Replaces=abc%3Bto-tag%3Dgw1>")


@pytest.mark.parametrize(
    ("state", "early_only", "status"),
    [
        (DialogState.UNKNOWN, False, 481),
        (DialogState.EARLY_THEIRS, False, 481),  # an early dialog we did not start
        (DialogState.TERMINATED, False, 603),
        (DialogState.CONFIRMED, True, 486),
        (DialogState.CONFIRMED, False, None),
        (DialogState.EARLY_OURS, True, None),
        (DialogState.EARLY_OURS, False, None),
    ],
)
def test_rfc_3891_refusals(state: DialogState, early_only: bool, status: int | None) -> None:
    assert refusal(Replaces("c", "t", "f", early_only), state) == status
