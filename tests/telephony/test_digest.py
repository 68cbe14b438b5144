"""Digest authentication: the RFC 2617 example, header parsing, nonces, verification."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from telephony.digest import (
    DigestCredentials,
    NonceIssuer,
    challenge_header,
    expected_response,
    ha1,
    verify,
)

# RFC 2617 §3.5.
RFC_2617 = (
    'Digest username="Mufasa", realm="testrealm@host.com", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
    'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
    'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
SECRET = ha1("Mufasa", "testrealm@host.com", "Circle Of Life")


def test_rfc_2617_example() -> None:
    creds = DigestCredentials.parse(RFC_2617)
    assert creds == DigestCredentials(
        username="Mufasa",
        realm="testrealm@host.com",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        uri="/dir/index.html",
        response="6629fae49393a05397450978507c4ef1",
        algorithm="MD5",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
        opaque="5ccc069c403ebaf9f0171e9517f40e41",
    )
    assert SECRET == "939e7578ed9e3c518a452acee763bce9"
    assert expected_response(creds, "GET", SECRET) == "6629fae49393a05397450978507c4ef1"
    assert verify(creds, "GET", SECRET)


def test_wrong_password_method_or_response_fails() -> None:
    creds = DigestCredentials.parse(RFC_2617)
    assert not verify(creds, "GET", ha1("Mufasa", "testrealm@host.com", "wrong"))
    assert not verify(creds, "POST", SECRET)
    assert not verify(dataclasses.replace(creds, response="0" * 32), "GET", SECRET)
    assert verify(dataclasses.replace(creds, response=creds.response.upper()), "GET", SECRET)


def test_what_was_never_offered_is_never_accepted() -> None:
    creds = DigestCredentials.parse(RFC_2617)
    for changed in [
        dataclasses.replace(creds, algorithm="MD5-sess"),
        dataclasses.replace(creds, algorithm="SHA-256"),
        dataclasses.replace(creds, qop="auth-int"),
        dataclasses.replace(creds, nc=None),
        dataclasses.replace(creds, cnonce=None),
    ]:
        assert not verify(
            dataclasses.replace(changed, response=expected_response(changed, "GET", SECRET)),
            "GET",
            SECRET,
        )


def test_without_qop_the_rfc_2069_response_is_used() -> None:
    creds = DigestCredentials(
        "1001", "hotline", "n1", "sip:hotline.example.cn", response="", algorithm="md5"
    )
    secret = ha1("1001", "hotline", "pw")
    response = expected_response(creds, "REGISTER", secret)
    ha2 = hashlib.md5(b"REGISTER:sip:hotline.example.cn").hexdigest()
    assert response == hashlib.md5(f"{secret}:n1:{ha2}".encode()).hexdigest()
    assert verify(dataclasses.replace(creds, response=response), "REGISTER", secret)


def test_a_phones_authorization_header() -> None:
    value = (
        'Digest  username="1001",realm="hotline" ,nonce="abc=", uri="sip:10.0.0.1",'
        'response="0123456789abcdef0123456789abcdef", algorithm=MD5, cnonce="a, \\"b\\"",'
        " qop=auth, nc=0000000a"
    )
    creds = DigestCredentials.parse(value)
    assert (creds.username, creds.realm, creds.nonce, creds.uri) == (
        "1001",
        "hotline",
        "abc=",
        "sip:10.0.0.1",
    )
    assert (creds.cnonce, creds.qop, creds.nc, creds.opaque) == ('a, "b"', "auth", "0000000a", None)


@pytest.mark.parametrize(
    "value",
    [
        "Basic dXNlcjpwYXNz",
        "NoOneKnowsThisScheme opaque-data=here",
        "Digest",
        'Digest realm="r", nonce="n", uri="u", response="x"',  # no username
        'Digest username="a", realm="r", nonce="n", uri="u"',  # no response
        'Digest username="a" realm="r", nonce="n", uri="u", response="x"',  # no comma
        'Digest username="a, realm="r", nonce="n", uri="u", response="x"',  # open quote
        'Digest username=, realm="r", nonce="n", uri="u", response="x"',
    ],
)
def test_unusable_authorization_headers_raise_value_error(value: str) -> None:
    with pytest.raises(ValueError):
        DigestCredentials.parse(value)


def test_challenge_header() -> None:
    assert challenge_header("hotline", "n1") == (
        'Digest realm="hotline", nonce="n1", algorithm=MD5, qop="auth"'
    )
    assert challenge_header('a "b"', "n1", stale=True) == (
        'Digest realm="a \\"b\\"", nonce="n1", algorithm=MD5, qop="auth", stale=TRUE'
    )


def test_nonces_are_valid_for_their_lifetime_then_stale() -> None:
    issuer = NonceIssuer(b"secret", lifetime_seconds=300)
    nonce = issuer.issue(now=1000.0)
    assert issuer.check(nonce, now=1000.0) == "ok"
    assert issuer.check(nonce, now=1300.0) == "ok"
    assert issuer.check(nonce, now=1300.5) == "stale"
    assert issuer.check(nonce, now=990.0) == "stale"  # from the future: a clock jumped back
    assert NonceIssuer(b"secret").check(nonce, now=1001.0) == "ok"  # no table: any instance


def test_nonces_cannot_be_forged_or_altered() -> None:
    issuer = NonceIssuer(b"secret")
    nonce = issuer.issue(now=1000.0)
    assert NonceIssuer(b"other").check(nonce, now=1000.0) == "invalid"
    altered = ("A" if nonce[0] != "A" else "B") + nonce[1:]
    assert issuer.check(altered, now=1000.0) == "invalid"
    for junk in ["", "not-a-nonce", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "é" * 32, nonce + "AAAA"]:
        assert issuer.check(junk, now=1000.0) == "invalid"


def test_nonces_fit_in_a_quoted_string() -> None:
    nonce = NonceIssuer(b"secret").issue(now=1.5)
    assert nonce.isascii() and '"' not in nonce and "\\" not in nonce and " " not in nonce
