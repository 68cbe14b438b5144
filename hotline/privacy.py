"""Masking of citizens' personal data for logs and lists."""

from __future__ import annotations


def mask_phone(number: str) -> str:
    """Keep the first 3 and last 4 digits of a phone number: 138****5678."""
    digits = number.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) <= 7:
        return "*" * (len(digits) - 4) + digits[-4:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_address(address: str) -> str:
    """Keep the first few characters (district, road) and hide house numbers and the rest."""
    text = address.strip()
    if len(text) <= 4:
        return "*" * len(text)
    keep = min(6, len(text) // 2)
    return text[:keep] + "*" * (len(text) - keep)


def mask_sip_user(uri_or_number: str) -> str:
    """Mask the user part of a caller id for logs."""
    return mask_phone(uri_or_number) if uri_or_number else uri_or_number
