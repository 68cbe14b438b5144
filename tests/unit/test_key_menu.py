"""The optional key menu's config entries."""

from __future__ import annotations

import pytest

from hotline.caller_setup import key_menu


def test_entries_map_keys_to_queues() -> None:
    assert key_menu(("1=12319", " 2 = 12319-query ")) == {"1": "12319", "2": "12319-query"}
    assert key_menu(()) == {}


@pytest.mark.parametrize("entry", ["1", "12=x", "a=12319", "1=", "=12319"])
def test_a_bad_entry_is_named(entry: str) -> None:
    with pytest.raises(ValueError, match="1=12319"):
        key_menu((entry,))
