"""HTTP digest authentication for SIP REGISTER (RFC 2617, RFC 7616, RFC 3261 §22), MD5 only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from typing import Literal

# One `name=value` or `name="quoted value"` pair, and the comma after it.
_PAIR = re.compile(r'[ \t]*([A-Za-z0-9_\-]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^",\s]+)[ \t]*(,|$)')
_REQUIRED = ("username", "realm", "nonce", "uri", "response")
_STAMP = struct.Struct("!d")
_MAC_BYTES = 16
_CLOCK_SKEW = 5.0  # seconds a nonce may seem to come from the future (clock steps)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def ha1(username: str, realm: str, password: str) -> str:
    """MD5(username:realm:password) in hex: what the credential store keeps."""
    return _md5(f"{username}:{realm}:{password}")


@dataclass(frozen=True)
class DigestCredentials:
    """The parameters of an `Authorization: Digest ...` header."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    @classmethod
    def parse(cls, header_value: str) -> DigestCredentials:
        """Parse a header value; ValueError if it is not Digest or lacks a required field."""
        scheme, _, rest = header_value.strip().partition(" ")
        if scheme.lower() != "digest":
            raise ValueError(f"not Digest credentials: {scheme[:20]!r}")
        values: dict[str, str] = {}
        position, rest = 0, rest.strip()
        while position < len(rest):
            match = _PAIR.match(rest, position)
            if match is None:
                raise ValueError(
                    f"malformed digest parameter at {rest[position : position + 30]!r}"
                )
            value = match[2]
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            values.setdefault(match[1].lower(), value)
            position = match.end()
            if match[3] == "" and position < len(rest):
                raise ValueError("digest parameters must be separated by commas")
        missing = [name for name in _REQUIRED if name not in values]
        if missing:
            raise ValueError(f"digest credentials lack {', '.join(missing)}")
        return cls(
            values["username"],
            values["realm"],
            values["nonce"],
            values["uri"],
            values["response"],
            values.get("algorithm", "MD5"),
            values.get("qop"),
            values.get("nc"),
            values.get("cnonce"),
            values.get("opaque"),
        )


class NonceIssuer:
    """Stateless nonces: a timestamp signed with a secret, so none are stored and all expire."""

    def __init__(self, secret: bytes, lifetime_seconds: float = 300.0) -> None:
        self._secret = secret
        self._lifetime = lifetime_seconds

    def _mac(self, stamp: bytes) -> bytes:
        return hmac.new(self._secret, stamp, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, now: float) -> str:
        """A nonce for a challenge sent at `now`."""
        stamp = _STAMP.pack(now)
        return base64.urlsafe_b64encode(stamp + self._mac(stamp)).decode("ascii")

    def check(self, nonce: str, now: float) -> Literal["ok", "stale", "invalid"]:
        """ "ok" if we issued it within the lifetime, "stale" if we issued it earlier."""
        try:
            raw = base64.urlsafe_b64decode(nonce.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            return "invalid"
        if len(raw) != _STAMP.size + _MAC_BYTES:
            return "invalid"
        stamp, mac = raw[: _STAMP.size], raw[_STAMP.size :]
        if not hmac.compare_digest(mac, self._mac(stamp)):
            return "invalid"
        issued = _STAMP.unpack(stamp)[0]
        # A stale nonce gets a fresh challenge with stale=TRUE, so the phone retries silently.
        if not issued - _CLOCK_SKEW <= now <= issued + self._lifetime:
            return "stale"
        return "ok"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge_header(realm: str, nonce: str, stale: bool = False) -> str:
    """The WWW-Authenticate value for a 401."""
    header = f'Digest realm={_quote(realm)}, nonce={_quote(nonce)}, algorithm=MD5, qop="auth"'
    return header + (", stale=TRUE" if stale else "")


def expected_response(creds: DigestCredentials, method: str, ha1_hex: str) -> str:
    """The response a client knowing the password computes (RFC 2617 §3.2.2.1)."""
    ha2 = _md5(f"{method}:{creds.uri}")
    if creds.qop is None:
        return _md5(f"{ha1_hex}:{creds.nonce}:{ha2}")  # RFC 2069 compatibility
    return _md5(f"{ha1_hex}:{creds.nonce}:{creds.nc}:{creds.cnonce}:{creds.qop}:{ha2}")


def verify(creds: DigestCredentials, method: str, ha1_hex: str) -> bool:
    """Whether the credentials prove knowledge of the password behind ha1_hex."""
    if creds.algorithm.upper() != "MD5":
        return False
    if creds.qop is not None and (creds.qop != "auth" or not creds.nc or not creds.cnonce):
        return False  # auth-int and friends are not offered, so never accepted
    return hmac.compare_digest(
        expected_response(creds, method, ha1_hex).encode("ascii"),
        creds.response.lower().encode("utf-8"),
    )
