"""Digest answers to a challenge from upstream (RFC 2617 / RFC 3261 §22), MD5, qop auth.

The gateway is the client here: the carrier SBC or PBX behind the outbound proxy answers an
outgoing INVITE with 401/407 and the gateway retries once with credentials.
"""

from __future__ import annotations

import re
import secrets

from telephony.digest import DigestCredentials, expected_response, ha1

_PAIR = re.compile(r'\s*([A-Za-z0-9_\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^",\s]+)\s*,?')


def parse_challenge(value: str) -> dict[str, str]:
    """The parameters of a `Digest ...` challenge; ValueError if unusable."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"not a Digest challenge: {scheme[:20]!r}")
    params: dict[str, str] = {}
    for match in _PAIR.finditer(rest):
        text = match[2]
        if text.startswith('"'):
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        params.setdefault(match[1].lower(), text)
    if "realm" not in params or "nonce" not in params:
        raise ValueError("a Digest challenge needs realm and nonce")
    if params.get("algorithm", "MD5").upper() != "MD5":
        raise ValueError("only MD5 digest is supported")
    return params


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def authorization(
    challenge: str,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str = "",
    nc: int = 1,
) -> str:
    """The Authorization / Proxy-Authorization value answering `challenge`; `nc` counts the
    requests sent with its nonce (a registration refresh reuses the last one)."""
    params = parse_challenge(challenge)
    offered = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered else None
    if offered and qop is None:
        raise ValueError("only qop=auth is supported")
    cnonce = cnonce or secrets.token_hex(8)
    count = f"{nc:08x}"
    creds = DigestCredentials(
        username,
        params["realm"],
        params["nonce"],
        uri,
        "",
        qop=qop,
        nc=count if qop else None,
        cnonce=cnonce if qop else None,
    )
    response = expected_response(creds, method, ha1(username, params["realm"], password))
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(params['realm'])}",
        f"nonce={_quote(params['nonce'])}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        "algorithm=MD5",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={count}", f"cnonce={_quote(cnonce)}"]
    if "opaque" in params:
        parts.append(f"opaque={_quote(params['opaque'])}")
    return "Digest " + ", ".join(parts)
