"""The README's configuration table names every section and key the config accepts."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from hotline.config import HotlineConfig

README = Path(__file__).resolve().parents[2] / "README.md"


def _table_rows() -> dict[str, str]:
    return dict(re.findall(r"^\| `\[(\w+)\]` \|(.*)\|$", README.read_text(), re.M))


def test_every_config_key_is_in_the_readme_table() -> None:
    rows = _table_rows()
    missing: list[str] = []
    for section in dataclasses.fields(HotlineConfig):
        if section.name not in rows:
            missing.append(f"[{section.name}]")
            continue
        value = getattr(HotlineConfig(), section.name)
        if not dataclasses.is_dataclass(value):
            continue  # a mapping such as [hotlines]: its keys are the operator's own
        missing.extend(
            f"[{section.name}] {key.name}"
            for key in dataclasses.fields(value)
            if f"`{key.name}`" not in rows[section.name]
        )
    assert not missing, f"README.md's config table lacks: {', '.join(missing)}"
