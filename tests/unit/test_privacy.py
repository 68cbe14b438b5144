"""Citizens' numbers are masked before they reach a log."""

from __future__ import annotations

import pytest

from hotline.privacy import mask_phone, mask_text


@pytest.mark.parametrize(
    "number, masked",
    [
        ("13800138000", "138****8000"),
        ("028-88881234", "028*****1234"),
        ("1234567", "***4567"),
        ("110", "***"),
        ("", ""),
    ],
)
def test_mask_phone_keeps_only_the_ends(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    "text, masked",
    [
        ("电话13812345678，住解放路12号3栋", "电话138****5678，住解放路**号*栋"),
        ("From: <sip:02888881234@10.0.0.1>;tag=1", "From: <sip:028****1234@10.0.0.1>;tag=1"),
        ("sip:+8613900001111@gw", "sip:+86*******1111@gw"),
        ("本地号码88881234。", "本地号码****1234。"),
        ("028-88881234", "028*****1234"),
    ],
)
def test_mask_text_hides_numbers_and_house_numbers(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "12319-20261204-0007",  # a ticket number's date is not a phone number
        "call 1b2c3d4e-1234-5678-9abc-def012345678",
        "sip:1001@127.0.0.1:5060",
        "c=IN IP4 10.10.10.4095",
        "rss 391000000 bytes",
    ],
)
def test_mask_text_leaves_what_is_not_personal(text: str) -> None:
    assert mask_text(text) == text
