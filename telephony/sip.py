"""SIP messages (RFC 3261): parse from bytes, serialise with bytes(); bad input → SipParseError."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyVoIP.VoIP  # noqa: F401 - pyVoIP.SIP can only be imported after its VoIP module
from pyVoIP.SIP import SIPStatus

MAX_MESSAGE = 65535
COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
}
CANONICAL = {
    name.lower(): name
    for name in (
        "Call-ID",
        "CSeq",
        "Via",
        "From",
        "To",
        "Contact",
        "Max-Forwards",
        "Content-Length",
        "Content-Type",
        "Expires",
        "Authorization",
        "WWW-Authenticate",
        "Require",
        "Supported",
        "Route",
        "Record-Route",
        "Allow",
        "User-Agent",
        "Server",
        "Subject",
        "Unsupported",
        "Content-Encoding",
        "P-Asserted-Identity",
        "Retry-After",
        "Warning",
        "Accept",
    )
}
# Headers whose comma-separated values are separate entries (RFC 3261 §7.3.1).
LIST_HEADERS = {
    "via",
    "contact",
    "route",
    "record-route",
    "require",
    "supported",
    "allow",
    "unsupported",
}
SINGLE_HEADERS = {"to", "from", "call-id", "cseq", "max-forwards", "content-length"}
REQUIRED = ("To", "From", "Call-ID", "CSeq", "Via")
TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
EXTRA_REASONS = {420: "Bad Extension", 513: "Message Too Large", 505: "Version Not Supported"}


class SipParseError(ValueError):
    """Bytes that are not a SIP message we can use."""


def reason_phrase(status: int) -> str:
    if status in EXTRA_REASONS:
        return EXTRA_REASONS[status]
    try:
        return str(SIPStatus(status).phrase)
    except ValueError:
        return "Unknown"


def split_commas(value: str) -> list[str]:
    """Split a header value at commas that are not inside quotes or angle brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted, escaped = 0, False, False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(0, depth - 1)
        elif char == "," and not quoted and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for piece in text.split(";"):
        piece = piece.strip()
        if not piece:
            continue
        name, eq, value = piece.partition("=")
        params[name.strip().lower()] = value.strip() if eq else None
    return params


def _format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


@dataclass
class Headers:
    """Ordered headers; names case-insensitive, compact forms expanded."""

    items: list[tuple[str, str]] = field(default_factory=list)

    @staticmethod
    def canonical(name: str) -> str:
        lowered = name.strip().lower()
        lowered = COMPACT.get(lowered, lowered).lower()
        return CANONICAL.get(lowered, name.strip())

    def get(self, name: str) -> str | None:
        wanted = self.canonical(name).lower()
        for key, value in self.items:
            if key.lower() == wanted:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        wanted = self.canonical(name).lower()
        values: list[str] = []
        for key, value in self.items:
            if key.lower() == wanted:
                values.extend(split_commas(value) if wanted in LIST_HEADERS else [value])
        return values

    def count(self, name: str) -> int:
        wanted = self.canonical(name).lower()
        return sum(1 for key, _ in self.items if key.lower() == wanted)

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.items.append((self.canonical(name), value))

    def add(self, name: str, value: str) -> None:
        self.items.append((self.canonical(name), value))

    def remove(self, name: str) -> None:
        wanted = self.canonical(name).lower()
        self.items = [(k, v) for k, v in self.items if k.lower() != wanted]


@dataclass
class SipUri:
    scheme: str
    user: str | None
    host: str
    port: int | None
    params: dict[str, str | None]
    headers: str = ""

    @classmethod
    def parse(cls, text: str) -> SipUri:
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() not in ("sip", "sips"):
            raise SipParseError(f"not a SIP URI: {text[:60]!r}")
        rest, _, headers = rest.partition("?")
        user: str | None = None
        if "@" in rest:
            user, _, rest = rest.rpartition("@")
            user = user.split(":", 1)[0]  # a password in a URI is deprecated; ignore it
        hostport, _, params = rest.partition(";")
        port: int | None = None
        if hostport.startswith("["):
            end = hostport.find("]")
            if end < 0:
                raise SipParseError("unterminated IPv6 reference")
            host, after = hostport[: end + 1], hostport[end + 1 :]
            if after.startswith(":"):
                port = cls._port(after[1:])
        else:
            host, colon, port_text = hostport.partition(":")
            if colon:
                port = cls._port(port_text)
        if not host or any(c.isspace() for c in host):
            raise SipParseError(f"bad host in URI {text[:60]!r}")
        return cls(scheme.lower(), user, host, port, _params(params), headers)

    @staticmethod
    def _port(text: str) -> int:
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise SipParseError(f"bad port {text[:10]!r}")
        return int(text)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user is not None else ""
        port = f":{self.port}" if self.port is not None else ""
        headers = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{user}{self.host}{port}{_format_params(self.params)}{headers}"


@dataclass
class NameAddr:
    """A From/To/Contact value: display name, URI, header parameters."""

    display: str | None
    uri: SipUri
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip()
        display: str | None = None
        if "<" in text:
            head, _, rest = text.partition("<")
            uri_text, closed, params = rest.partition(">")
            if not closed:
                raise SipParseError("unterminated <URI>")
            head = head.strip()
            if head.startswith('"') and head.endswith('"') and len(head) >= 2:
                display = head[1:-1].replace('\\"', '"')
            elif head:
                display = head
        else:
            # Without <>, parameters after the URI belong to the header (RFC 3261 §20).
            uri_text, _, params = text.partition(";")
        return cls(display, SipUri.parse(uri_text), _params(params))

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        display = ""
        if self.display:
            display = '"' + self.display.replace('"', '\\"') + '" '
        return f"{display}<{self.uri}>{_format_params(self.params)}"


@dataclass
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str | None]

    @classmethod
    def parse(cls, text: str) -> Via:
        match = re.match(r"^\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9]+)\s+([^;]+)(.*)$", text, re.DOTALL)
        if match is None:
            raise SipParseError(f"bad Via {text[:60]!r}")
        transport, sent_by, params = match.groups()
        sent_by = sent_by.strip()
        port: int | None = None
        if sent_by.startswith("["):
            host, _, after = sent_by.partition("]")
            host += "]"
            if after.startswith(":"):
                port = SipUri._port(after[1:].strip())
        else:
            host, colon, port_text = sent_by.partition(":")
            if colon:
                port = SipUri._port(port_text.strip())
        host = host.strip()
        if not host or any(c.isspace() for c in host):
            raise SipParseError(f"bad Via sent-by {sent_by[:60]!r}")
        return cls(transport.upper(), host, port, _params(params))

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{_format_params(self.params)}"


@dataclass
class CSeq:
    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not TOKEN.match(parts[1]):
            raise SipParseError(f"bad CSeq {text[:40]!r}")
        number = int(parts[0])
        if number >= 2**31:
            raise SipParseError("CSeq number too large")
        return cls(number, parts[1])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


class _Message:
    """What requests and responses share: header accessors and serialisation."""

    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self.headers.get("CSeq") or "")

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self.headers.get("From") or "")

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self.headers.get("To") or "")

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(value) for value in self.headers.get_all("Via")]

    def _serialise(self, start_line: str) -> bytes:
        lines = [start_line]
        lines += [f"{k}: {v}" for k, v in self.headers.items if k.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass
class SipRequest(_Message):
    method: str
    uri: str
    headers: Headers
    body: bytes = b""
    version: str = "SIP/2.0"

    @classmethod
    def parse(cls, data: bytes) -> SipRequest:
        message = parse_message(data)
        if not isinstance(message, SipRequest):
            raise SipParseError("expected a request")
        return message

    @property
    def request_uri(self) -> SipUri:
        return SipUri.parse(self.uri)

    def __bytes__(self) -> bytes:
        return self._serialise(f"{self.method} {self.uri} {self.version}")


@dataclass
class SipResponse(_Message):
    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> SipResponse:
        message = parse_message(data)
        if not isinstance(message, SipResponse):
            raise SipParseError("expected a response")
        return message

    def __bytes__(self) -> bytes:
        return self._serialise(f"SIP/2.0 {self.status} {self.reason}")


def _split_head(data: bytes) -> tuple[list[str], bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = data.partition(separator)
        if found:
            break
    else:
        head, body = data, b""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    # Undo line folding: a line starting with whitespace continues the previous one.
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        else:
            unfolded.append(line)
    return unfolded, body


def _parse_headers(lines: list[str]) -> Headers:
    headers = Headers()
    for line in lines:
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or not TOKEN.match(name):
            raise SipParseError(f"malformed header line {line[:60]!r}")
        headers.items.append((Headers.canonical(name), value.strip()))
    return headers


def _parse(data: bytes) -> SipRequest | SipResponse:
    if len(data) > MAX_MESSAGE:
        raise SipParseError("message too large")
    lines, body = _split_head(data.lstrip(b"\r\n"))
    start = lines[0] if lines else ""
    headers = _parse_headers(lines[1:])
    length_text = headers.get("Content-Length")
    if length_text is not None:
        if not length_text.strip().isdigit():
            raise SipParseError("bad Content-Length")
        length = int(length_text)
        if length > len(body):
            raise SipParseError("body shorter than Content-Length")
        body = body[:length]  # trailing octets of a datagram are not part of it (RFC 4475 §3.1.1.8)
    for name in SINGLE_HEADERS:
        if headers.count(name) > 1:
            raise SipParseError(f"more than one {Headers.canonical(name)} header")

    if start.startswith("SIP/"):
        parts = start.split(" ", 2)
        if len(parts) < 2 or parts[0] != "SIP/2.0" or not parts[1].isdigit() or len(parts[1]) != 3:
            raise SipParseError(f"bad status line {start[:60]!r}")
        status = int(parts[1])
        if not 100 <= status <= 699:
            raise SipParseError(f"status code out of range: {status}")
        message: SipRequest | SipResponse = SipResponse(
            status, parts[2] if len(parts) > 2 else "", headers, body
        )
    else:
        parts = start.split(" ")
        if len(parts) != 3 or not TOKEN.match(parts[0]) or not parts[1]:
            raise SipParseError(f"bad request line {start[:60]!r}")
        method, uri, version = parts
        if not re.fullmatch(r"SIP/\d+\.\d+", version):
            raise SipParseError(f"bad SIP version {version[:20]!r}")
        message = SipRequest(method, uri, headers, body, version)

    for name in REQUIRED:
        if headers.get(name) is None:
            raise SipParseError(f"missing {name} header")
    # Touch the structured headers so that a broken one fails here, not deep in a handler.
    cseq = message.cseq
    message.from_, message.to  # noqa: B018
    if not message.vias:
        raise SipParseError("missing Via header")
    if isinstance(message, SipRequest) and message.method != cseq.method:
        raise SipParseError("CSeq method mismatch")
    max_forwards = headers.get("Max-Forwards")
    if max_forwards is not None and not max_forwards.strip().isdigit():
        raise SipParseError("bad Max-Forwards")
    return message


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse one message; anything unusable raises SipParseError (and nothing else)."""
    try:
        return _parse(data)
    except SipParseError:
        raise
    except (ValueError, IndexError, UnicodeError) as exc:
        raise SipParseError(str(exc)) from exc


def request_summary_for_400(data: bytes) -> SipRequest | None:
    """Just enough of a broken request to answer it with 400 (None for responses/garbage)."""
    try:
        lines, _ = _split_head(data[:MAX_MESSAGE])
        start = lines[0].split(" ") if lines else []
        if len(start) != 3 or start[0].startswith("SIP/") or not TOKEN.match(start[0]):
            return None
        headers = Headers()
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon and TOKEN.match(name.strip()):
                canonical = Headers.canonical(name)
                if canonical in ("Via", "From", "To", "Call-ID", "CSeq"):
                    headers.items.append((canonical, value.strip()))
        if not headers.get_all("Via") or headers.get("Call-ID") is None:
            return None
        Via.parse(headers.get_all("Via")[0])
        return SipRequest(start[0], start[1], headers)
    except (SipParseError, ValueError, IndexError):
        return None


def response_for(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> SipResponse:
    """A response that echoes the request's Via, From, To (+ tag), Call-ID and CSeq."""
    headers = Headers()
    for value in request.headers.get_all("Via"):
        headers.add("Via", value)
    for name in ("From", "To", "Call-ID", "CSeq"):
        found = request.headers.get(name)
        if found is None:
            continue
        value = found
        if name == "To" and to_tag and ";tag=" not in value.replace(" ", "").lower():
            value = f"{value};tag={to_tag}"
        headers.add(name, value)
    for name, value in extra:
        headers.add(name, value)
    if content_type:
        headers.add("Content-Type", content_type)
    return SipResponse(status, reason or reason_phrase(status), headers, body)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"
