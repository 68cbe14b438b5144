"""Masking of citizens' personal data for logs and lists."""

from __future__ import annotations

import re


def mask_phone(number: str) -> str:
    """Keep the first 3 and last 4 digits of a phone number: 138****5678."""
    digits = number.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) <= 7:
        return "*" * (len(digits) - 4) + digits[-4:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_address(address: str) -> str:
    """Keep the place names, hide house, building and room numbers: 幸福小区*号楼*单元***."""
    return re.sub(r"[0-9０-９]", "*", address)


# A mobile (1[3-9] and 9 more), a landline with its area code (0xx-xxxxxxxx), or a bare local
# number of 7-8 digits; optionally with +86. Not part of a longer token: a ticket number's
# date, a UUID, an IP address or a version string stay as they are.
PHONE_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z_\-])(?<![0-9]\.)(?:\+?86[\- ]?)?"
    r"(?:1[3-9][0-9]{9}|0[0-9]{2,3}[\- ]?[0-9]{7,8}|[2-9][0-9]{6,7})"
    r"(?![0-9A-Za-z_\-])(?!\.[0-9])"
)
# House, building, unit and room numbers in an address written out in text.
HOUSE_NUMBER = re.compile(r"[0-9０-９]+(?=\s*(?:号|栋|幢|单元|室|楼|层|弄|巷|户|组|座|排))")


def _mask_found(number: str) -> str:
    # A local number without its area code would show 7 of its 8 digits as 138****5678 does.
    if len(number) >= 11:
        return mask_phone(number)
    return "*" * (len(number) - 4) + number[-4:]


def mask_text(text: str) -> str:
    """Free text (a complaint, a log line, a SIP message) with phone numbers and house numbers
    masked: 13812345678 → 138****5678, 解放路12号3栋 → 解放路**号*栋."""
    text = PHONE_IN_TEXT.sub(lambda match: _mask_found(match.group(0)), text)
    return HOUSE_NUMBER.sub(lambda match: "*" * len(match.group(0)), text)
