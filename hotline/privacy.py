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
