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
