"""Registrar bindings, pure: expiry, several contacts, unregistering."""

from __future__ import annotations

from telephony.registrar import MAX_EXPIRES, MIN_EXPIRES, Registrar, granted_expiry


def test_bindings_expire_and_the_newest_contact_comes_first() -> None:
    registrar = Registrar()
    registrar.register("1001", "sip:1001@10.0.0.5:5060", ("10.0.0.5", 5060), 60, now=0)
    registrar.register("1001", "sip:1001@10.0.0.6:5062", ("10.0.0.6", 5062), 120, now=10)
    assert [b.contact for b in registrar.bindings("1001", now=20)] == [
        "sip:1001@10.0.0.6:5062",
        "sip:1001@10.0.0.5:5060",
    ]
    assert [b.contact for b in registrar.bindings("1001", now=61)] == ["sip:1001@10.0.0.6:5062"]
    assert registrar.bindings("1001", now=131) == []
    assert registrar.registered_agents(now=131) == []


def test_refresh_replaces_a_contact_and_zero_expiry_removes_it() -> None:
    registrar = Registrar()
    registrar.register("1001", "sip:1001@h", ("127.0.0.1", 5060), 60, now=0)
    registrar.register("1001", "sip:1001@h", ("127.0.0.1", 5060), 60, now=50)
    assert registrar.bindings("1001", now=100)[0].expires_at == 110
    registrar.register("1001", "sip:1001@h", ("127.0.0.1", 5060), 0, now=101)
    assert registrar.bindings("1001", now=101) == []


def test_granted_expiry_is_clamped() -> None:
    assert granted_expiry(None) == 3600
    assert granted_expiry(0) == 0
    assert granted_expiry(5) == MIN_EXPIRES
    assert granted_expiry(86400) == MAX_EXPIRES
    assert granted_expiry(600) == 600


def test_registered_from_knows_live_bindings_by_source_address_only() -> None:
    registrar = Registrar()
    registrar.register("1001", "sip:1001@h", ("10.0.0.5", 5062), 60, now=0)
    registrar.register("1002", "sip:1002@h", ("10.0.0.6", 5060), 120, now=0)
    assert registrar.registered_from("10.0.0.5", now=30)
    assert not registrar.registered_from("10.0.0.7", now=30)
    assert not registrar.registered_from("10.0.0.5", now=61)  # expired
    assert registrar.registered_from("10.0.0.6", now=61)
