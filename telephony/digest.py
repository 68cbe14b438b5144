"""HTTP digest authentication for SIP REGISTER (RFC 2617 / RFC 3261 §22), MD5."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from typing import Literal

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def ha1(username: str, realm: str, password: str) -> str:
    return _md5(f"{username}:{realm}:{password}")


@dataclass(frozen=True)
class DigestCredentials:
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
        scheme, _, rest = header_value.strip().partition(" ")
        if scheme.lower() != "digest":
            raise ValueError("not Digest credentials")
        values: dict[str, str] = {}
        for match in _PARAM.finditer(rest):
            value = match.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            values[match.group(1).lower()] = value
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in values]
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

    def issue(self, now: float) -> str:
        stamp = struct.pack("!d", now)
        mac = hmac.new(self._secret, stamp, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(stamp + mac).decode().rstrip("=")

    def check(self, nonce: str, now: float) -> Literal["ok", "stale", "invalid"]:
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (ValueError, TypeError):
            return "invalid"
        if len(raw) != 24:
            return "invalid"
        stamp, mac = raw[:8], raw[8:]
        if not hmac.compare_digest(
            mac, hmac.new(self._secret, stamp, hashlib.sha256).digest()[:16]
        ):
            return "invalid"
        issued = struct.unpack("!d", stamp)[0]
        if not issued - 5 <= now <= issued + self._lifetime:
            return "stale"
        return "ok"


def challenge_header(realm: str, nonce: str, stale: bool = False) -> str:
    header = f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5, qop="auth"'
    return header + (", stale=TRUE" if stale else "")


def expected_response(creds: DigestCredentials, method: str, ha1_hex: str) -> str:
    ha2 = _md5(f"{method}:{creds.uri}")
    if creds.qop and creds.qop.lower() == "auth":
        return _md5(f"{ha1_hex}:{creds.nonce}:{creds.nc}:{creds.cnonce}:auth:{ha2}")
    return _md5(f"{ha1_hex}:{creds.nonce}:{ha2}")


def verify(creds: DigestCredentials, method: str, ha1_hex: str) -> bool:
    if creds.algorithm.upper() != "MD5":
        return False
    return hmac.compare_digest(expected_response(creds, method, ha1_hex), creds.response.lower())
