"""The gateway's answers to an upstream digest challenge check out with the server side."""

from __future__ import annotations

import pytest

from telephony.digest import DigestCredentials, challenge_header, ha1, verify
from telephony.digest_client import authorization, parse_challenge


@pytest.mark.parametrize("qop", [True, False])
def test_answer_verifies_against_the_password(qop: bool) -> None:
    challenge = challenge_header("carrier", "abc123")
    if not qop:
        challenge = 'Digest realm="carrier", nonce="abc123", opaque="xyz"'
    value = authorization(challenge, "INVITE", "sip:80010@sbc", "hotline", "s3cret")
    creds = DigestCredentials.parse(value)
    assert creds.username == "hotline" and creds.uri == "sip:80010@sbc"
    assert verify(creds, "INVITE", ha1("hotline", "carrier", "s3cret"))
    assert not verify(creds, "INVITE", ha1("hotline", "carrier", "wrong"))
    assert (creds.opaque == "xyz") is (not qop)


def test_rfc2617_example_response() -> None:
    # RFC 2617 §3.5 (its HTTP example, method GET), with its fixed cnonce.
    challenge = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    value = authorization(
        challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", cnonce="0a4f113b"
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in value


@pytest.mark.parametrize(
    "challenge",
    ["Basic realm=x", 'Digest realm="x"', 'Digest realm="x", nonce="n", algorithm=SHA-256'],
)
def test_unusable_challenges_are_refused(challenge: str) -> None:
    with pytest.raises(ValueError):
        parse_challenge(challenge)


def test_a_reused_nonce_is_answered_with_the_next_nonce_count() -> None:
    challenge = challenge_header("carrier", "abc123")
    value = authorization(challenge, "REGISTER", "sip:carrier", "12319", "s3cret", nc=2)
    creds = DigestCredentials.parse(value)
    assert creds.nc == "00000002" and "nc=00000002" in value
    assert verify(creds, "REGISTER", ha1("12319", "carrier", "s3cret"))
