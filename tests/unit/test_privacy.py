"""Citizens' numbers are masked before they reach a log."""

from __future__ import annotations

import pytest

from hotline.privacy import mask_phone


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
