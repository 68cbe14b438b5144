"""SIP messages (RFC 3261): parse bytes into dataclasses, serialise them with bytes()."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyVoIP.VoIP  # noqa: F401  (pyVoIP.SIP can be imported only after its VoIP module)
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
    "x": "Session-Expires",
}
_KNOWN_NAMES = (
    *COMPACT.values(),
    "CSeq", "Max-Forwards", "Expires", "Authorization", "WWW-Authenticate",
    "Proxy-Authenticate", "Proxy-Authorization", "Require", "Proxy-Require", "Unsupported",
    "Route", "Record-Route", "Allow", "Accept", "Accept-Encoding", "Accept-Language",
    "User-Agent", "Server", "Retry-After", "Warning", "Date", "Timestamp", "Min-Expires",
    "P-Asserted-Identity", "Allow-Events", "Reason", "Organization", "Priority", "Min-SE",
)  # fmt: skip
_CANONICAL = {name.lower(): name for name in _KNOWN_NAMES}
# Headers whose values are comma-separated lists (RFC 3261 §7.3.1); get_all splits them.
_LIST_HEADERS = frozenset(
    name.lower()
    for name in (
        "Via", "Contact", "Route", "Record-Route", "Require", "Proxy-Require", "Supported",
        "Unsupported", "Allow", "Accept", "Accept-Encoding", "Accept-Language",
        "Content-Encoding", "Allow-Events",
    )
)  # fmt: skip
_SINGLE_HEADERS = ("To", "From", "Call-ID", "CSeq", "Max-Forwards", "Content-Length")
_REQUIRED = ("To", "From", "Call-ID", "CSeq", "Via")
_SUMMARY_HEADERS = frozenset({"Via", "From", "To", "Call-ID", "CSeq"})

_T = r"[A-Za-z0-9\-.!%*_+`'~]+"  # RFC 3261 token
_HOST = r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+"
_TOKEN = re.compile(_T)
# A display name must be tokens or quoted; unquoted non-ASCII (a caller's name in Chinese from
# a careless PBX) is let through too, since refusing the call over it would help nobody.
_DISPLAY_WORD = re.compile(r"[A-Za-z0-9\-.!%*_+`'~\u0080-\U0010ffff]+")
_HOST_RE = re.compile(_HOST)
# URI characters of RFC 3261 §25.1; '#' is not among them, but phones send it unescaped in
# dialled strings such as *97#, and refusing those calls would help nobody.
_URI_TEXT = re.compile(r"[A-Za-z0-9\-_.!~*'()%;/?:@&=+$,\[\]#]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_DIGITS = re.compile(r"[0-9]+")
_PARAM_VALUE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~\[\]:]+")  # token or host (IPv6 too)
_CSEQ = re.compile(rf"([0-9]+)[ \t]+({_T})")
_VIA_SENT = re.compile(
    rf"[ \t]*({_T})[ \t]*/[ \t]*({_T})[ \t]*/[ \t]*({_T})[ \t]+({_HOST})"
    r"(?:[ \t]*:[ \t]*([0-9]+))?[ \t]*"
)
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
# Text up to a separator, skipping over quoted strings and <URI>s (regexes: 64 KB in C).
_SEGMENT_UP_TO = {
    sep: re.compile(rf'(?:"(?:[^"\\]|\\.)*"|<[^>]*>|[^"<{sep}]+)*', re.DOTALL) for sep in ",;"
}
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # not allowed in a reason phrase


class SipParseError(ValueError):
    """Bytes (or text) that are not a usable SIP message or header value."""


# pyVoIP's table is complete but for three phrases that are not RFC 3261's (§21).
_RFC_3261_PHRASES = {
    500: "Server Internal Error",
    505: "Version Not Supported",
    513: "Message Too Large",
}


def reason_phrase(status: int) -> str:
    """The standard reason phrase for a status code, or "Unknown"."""
    if status in _RFC_3261_PHRASES:
        return _RFC_3261_PHRASES[status]
    try:
        return str(SIPStatus(status).phrase)
    except ValueError:
        return "Unknown"


def _canonical(name: str) -> str:
    lowered = name.strip().lower()
    lowered = COMPACT.get(lowered, lowered).lower()
    return _CANONICAL.get(lowered, name.strip())


def _small_int(digits: str, limit: int, what: str) -> int:
    # Check the length first: int() of thousands of digits is slow, and over 4300 it raises.
    if not _DIGITS.fullmatch(digits):
        raise SipParseError(f"bad {what}: {digits[:20]!r}")
    significant = digits.lstrip("0")
    if len(significant) > len(str(limit)) or int(significant or "0") > limit:
        raise SipParseError(f"{what} too large")
    return int(significant or "0")


def _port(text: str) -> int:
    port = _small_int(text, 65535, "port")
    if port == 0:
        raise SipParseError("port 0")
    return port


def _quoted_end(text: str, start: int) -> int:
    """Index just past the quoted string that opens at text[start]."""
    match = _QUOTED.match(text, start)
    if match is None:
        raise SipParseError("unterminated quoted string")
    return match.end()


def _split_outside(text: str, separator: str) -> list[str]:
    """Split at separators that are not inside a quoted string or <...>."""
    if '"' not in text and "<" not in text:
        return text.split(separator)
    segment = _SEGMENT_UP_TO[separator]
    parts: list[str] = []
    position = 0
    while True:
        match = segment.match(text, position)  # never None: the pattern matches ""
        end = match.end() if match else position
        if end < len(text) and text[end] == separator:
            parts.append(text[position:end])
            position = end + 1
        else:
            # The end, or an unterminated quote or '<': the rest stays whole, and whoever
            # parses that piece refuses it.
            parts.append(text[position:])
            return parts


def _parse_params(text: str, what: str) -> dict[str, str | None]:
    """`;name=value` parameters of a header value; LWS is allowed around ';' and '='."""
    params: dict[str, str | None] = {}
    text = text.strip(" \t")
    if not text:
        return params
    if text[0] != ";":
        raise SipParseError(f"unexpected text in {what}: {text[:40]!r}")
    for piece in _split_outside(text[1:], ";"):
        name, equals, value = piece.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not _TOKEN.fullmatch(name):
            raise SipParseError(f"bad parameter in {what}: {piece[:40]!r}")
        if equals and not (
            _PARAM_VALUE.fullmatch(value)
            or (value[:1] == '"' and _quoted_end(value, 0) == len(value))
        ):
            raise SipParseError(f"bad parameter value in {what}: {piece[:40]!r}")
        params[name.lower()] = value if equals else None
    return params


def _format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


@dataclass
class Headers:
    """Ordered header fields; names are case-insensitive and compact forms are expanded."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        """The first value of a header, or None."""
        wanted = _canonical(name).lower()
        return next((v for k, v in self.items if k.lower() == wanted), None)

    def get_all(self, name: str) -> list[str]:
        """Every value of a header, comma-separated list values split apart."""
        wanted = _canonical(name).lower()
        values = [v for k, v in self.items if k.lower() == wanted]
        if wanted not in _LIST_HEADERS:
            return values
        split = (part.strip(" \t") for value in values for part in _split_outside(value, ","))
        return [part for part in split if part]

    def set(self, name: str, value: str) -> None:
        """Replace every value of a header by one, where the first one was."""
        wanted = _canonical(name).lower()
        position = next(
            (i for i, (k, _) in enumerate(self.items) if k.lower() == wanted), len(self.items)
        )
        self.remove(name)
        self.items.insert(min(position, len(self.items)), (_canonical(name), value))

    def add(self, name: str, value: str) -> None:
        """Append a header field."""
        self.items.append((_canonical(name), value))

    def remove(self, name: str) -> None:
        """Remove every value of a header."""
        wanted = _canonical(name).lower()
        self.items = [(k, v) for k, v in self.items if k.lower() != wanted]


@dataclass
class SipUri:
    """A sip: or sips: URI; the user part keeps its %-escapes as received."""

    scheme: str
    user: str | None
    host: str
    port: int | None
    params: dict[str, str | None]
    headers: str = ""
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse sip:user:password@host:port;params?headers."""
        if not _URI_TEXT.fullmatch(text):
            raise SipParseError(f"bad characters in URI {text[:60]!r}")
        scheme, _, rest = text.partition(":")
        if scheme.lower() not in ("sip", "sips"):
            raise SipParseError(f"not a SIP URI: {text[:60]!r}")
        user: str | None = None
        password: str | None = None
        if "@" in rest:
            userinfo, _, rest = rest.partition("@")
            user, colon, secret = userinfo.partition(":")
            password = secret if colon else None
            if not user:
                raise SipParseError(f"empty user part in {text[:60]!r}")
        rest, _, headers = rest.partition("?")
        hostport, semicolon, param_text = rest.partition(";")
        host, port = _host_port(hostport)
        params: dict[str, str | None] = {}
        for piece in param_text.split(";") if semicolon else []:
            name, equals, value = piece.partition("=")
            if not name or (equals and not value):
                raise SipParseError(f"bad URI parameter {piece[:40]!r}")
            params[name.lower()] = value if equals else None
        return cls(scheme.lower(), user, host, port, params, headers, password)

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            secret = f":{self.password}" if self.password is not None else ""
            userinfo = f"{self.user}{secret}@"
        port = f":{self.port}" if self.port is not None else ""
        headers = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{userinfo}{self.host}{port}{_format_params(self.params)}{headers}"


def _host_port(text: str) -> tuple[str, int | None]:
    host, port_text = text, None
    if text.startswith("["):
        end = text.find("]") + 1
        host, after = text[:end], text[end:]
        if after:
            if after[0] != ":":
                raise SipParseError(f"bad host {text[:60]!r}")
            port_text = after[1:]
    elif ":" in text:
        host, _, port_text = text.partition(":")
    if not _HOST_RE.fullmatch(host):
        raise SipParseError(f"bad host {text[:60]!r}")
    return host, None if port_text is None else _port(port_text)


def _unquote(quoted: str) -> str:
    inner = quoted[1:-1]
    return re.sub(r"\\(.)", r"\1", inner, flags=re.DOTALL) if "\\" in inner else inner


def _quote(text: str) -> str:
    # Line breaks cannot be escaped in SIP (RFC 3261 §25.1 quoted-pair); they become spaces.
    text = text.replace("\r", " ").replace("\n", " ")
    return '"' + re.sub(r'(["\\\x00-\x08\x0b-\x1f\x7f])', r"\\\1", text) + '"'


@dataclass
class NameAddr:
    """A From/To/Contact value: display name, URI, header parameters (tag, expires, q)."""

    display: str | None
    uri: SipUri
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse `"Display" <uri>;params`, `token words <uri>` or a bare `uri;params`."""
        text = text.strip(" \t")
        if text.startswith('"'):
            end = _quoted_end(text, 0)
            rest = text[end:].lstrip(" \t")
            if not rest.startswith("<"):
                raise SipParseError("a quoted display name must be followed by <URI>")
            return cls._bracketed(_unquote(text[:end]) or None, rest)
        bracket = text.find("<")
        if bracket >= 0:
            words = text[:bracket].split()
            if not all(_DISPLAY_WORD.fullmatch(word) for word in words):
                raise SipParseError(f"display name is neither tokens nor quoted: {text[:40]!r}")
            return cls._bracketed(" ".join(words) or None, text[bracket:])
        uri_text, semicolon, params = text.partition(";")
        uri_text = uri_text.rstrip(" \t")
        if "?" in uri_text or "," in uri_text:
            # Without <>, ';', ',' and '?' end the URI (RFC 3261 §20): this would be ambiguous.
            raise SipParseError(f"URI with '?' or ',' must be in <>: {uri_text[:60]!r}")
        return cls(None, SipUri.parse(uri_text), _parse_params(semicolon + params, "address"))

    @classmethod
    def _bracketed(cls, display: str | None, rest: str) -> NameAddr:
        end = rest.find(">")
        if end < 0:
            raise SipParseError("unterminated <URI>")
        return cls(display, SipUri.parse(rest[1:end]), _parse_params(rest[end + 1 :], "address"))

    @property
    def tag(self) -> str | None:
        """The tag parameter, if any."""
        return self.params.get("tag")

    def __str__(self) -> str:
        display = f"{_quote(self.display)} " if self.display else ""
        return f"{display}<{self.uri}>{_format_params(self.params)}"


@dataclass
class Via:
    """One Via value: `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`."""

    transport: str
    host: str
    port: int | None
    params: dict[str, str | None]
    protocol: str = "SIP/2.0"  # kept so that a SIP/7.0 request can still be answered with 505

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one Via value (not a comma-separated list)."""
        head, semicolon, params = text.partition(";")
        match = _VIA_SENT.fullmatch(head)
        if match is None or match[1].upper() != "SIP":
            raise SipParseError(f"bad Via {text[:60]!r}")
        port = _port(match[5]) if match[5] is not None else None
        protocol = f"SIP/{match[2]}"
        return cls(
            match[3].upper(), match[4], port, _parse_params(semicolon + params, "Via"), protocol
        )

    @property
    def branch(self) -> str | None:
        """The branch parameter, if any."""
        return self.params.get("branch")

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.protocol}/{self.transport} {self.host}{port}{_format_params(self.params)}"


@dataclass
class CSeq:
    """The CSeq header: sequence number and method."""

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        """Parse `number method`; the number must be below 2**31."""
        match = _CSEQ.fullmatch(text.strip(" \t"))
        if match is None:
            raise SipParseError(f"bad CSeq {text[:40]!r}")
        # RFC 3261 §8.1.1.5: expressible in 32 bits *and* less than 2**31.
        return cls(_small_int(match[1], 2**31 - 1, "CSeq number"), match[2])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


class _Message:
    """What requests and responses share: typed views of the headers, serialisation."""

    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        """The Call-ID."""
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> CSeq:
        """The parsed CSeq."""
        return CSeq.parse(self.headers.get("CSeq") or "")

    @property
    def from_(self) -> NameAddr:
        """The parsed From."""
        return NameAddr.parse(self.headers.get("From") or "")

    @property
    def to(self) -> NameAddr:
        """The parsed To."""
        return NameAddr.parse(self.headers.get("To") or "")

    @property
    def vias(self) -> list[Via]:
        """Every Via value, topmost first."""
        return [Via.parse(value) for value in self.headers.get_all("Via")]

    def _serialise(self, start_line: str) -> bytes:
        lines = [start_line]
        for name, value in self.headers.items:
            if name.lower() != "content-length":
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        if any("\r" in line or "\n" in line for line in lines):
            raise ValueError("a line break inside a start line or header would forge headers")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass
class SipRequest(_Message):
    """A SIP request; `uri` is the Request-URI text as received."""

    method: str
    uri: str
    headers: Headers
    body: bytes = b""
    version: str = "SIP/2.0"  # anything else is parsed so that it can be answered with 505

    @classmethod
    def parse(cls, data: bytes) -> SipRequest:
        """Parse a request; a response or bad bytes raise SipParseError."""
        message = parse_message(data)
        if not isinstance(message, SipRequest):
            raise SipParseError("expected a request, got a response")
        return message

    @property
    def request_uri(self) -> SipUri:
        """The Request-URI as a SIP URI (SipParseError for other schemes: answer 416)."""
        return SipUri.parse(self.uri)

    def __bytes__(self) -> bytes:
        return self._serialise(f"{self.method} {self.uri} {self.version}")


@dataclass
class SipResponse(_Message):
    """A SIP response."""

    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> SipResponse:
        """Parse a response; a request or bad bytes raise SipParseError."""
        message = parse_message(data)
        if not isinstance(message, SipResponse):
            raise SipParseError("expected a response, got a request")
        return message

    def __bytes__(self) -> bytes:
        return self._serialise(f"SIP/2.0 {self.status} {self.reason}")


def _head_lines(data: bytes) -> tuple[list[str], bytes]:
    """Start line and unfolded header lines, and what follows the empty line."""
    data = data.lstrip(b"\r\n")  # RFC 3261 §7.5: ignore CRLFs before the start line
    end = _HEAD_END.search(data)
    # Without the empty line (a sloppy sender) the whole datagram is header section.
    head, body = (data[: end.start()], data[end.end() :]) if end else (data.rstrip(b"\r\n"), b"")
    lines: list[str] = []
    for raw in head.split(b"\n"):
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("latin-1")  # never fail on a stray byte in a display name
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip(" \t") + " " + line.strip(" \t")
        else:
            lines.append(line)
    return lines, body


def _start_line(line: str) -> SipRequest | SipResponse:
    """A message with the start line's fields and nothing else yet."""
    if line.startswith("SIP/"):
        version, _, rest = line.partition(" ")
        code, _, reason = rest.partition(" ")
        if version != "SIP/2.0" or not re.fullmatch("[0-9]{3}", code) or _CONTROL.search(reason):
            raise SipParseError(f"bad status line {line[:60]!r}")
        if not 100 <= int(code) <= 699:
            raise SipParseError(f"status code out of range: {code}")
        return SipResponse(int(code), reason, Headers())
    parts = line.split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise SipParseError(f"bad request line {line[:60]!r}")
    method, uri, version = parts
    # Any SIP/<version> is parsed, so that the screening answers 505 for all but SIP/2.0.
    if not re.fullmatch(r"SIP/[\x21-\x7e]+", version, re.IGNORECASE):
        raise SipParseError(f"bad request line (version) {line[:60]!r}")
    _check_request_uri(uri)
    return SipRequest(method, uri, Headers(), b"", version.upper())


def _check_request_uri(uri: str) -> None:
    scheme, colon, rest = uri.partition(":")
    if not colon or not rest or not _SCHEME.fullmatch(scheme) or not _URI_TEXT.fullmatch(uri):
        raise SipParseError(f"bad Request-URI {uri[:60]!r}")
    if scheme.lower() in ("sip", "sips") and SipUri.parse(uri).headers:
        # RFC 3261 §19.1.1: headers are not allowed in a Request-URI (RFC 4475 escruri).
        raise SipParseError("Request-URI carries headers")


def _parse_headers(lines: list[str]) -> Headers:
    headers = Headers()
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not _TOKEN.fullmatch(name) or "\r" in value:
            raise SipParseError(f"malformed header line {line[:60]!r}")
        headers.items.append((_canonical(name), value.strip(" \t")))
    return headers


def _parse(data: bytes) -> SipRequest | SipResponse:
    if len(data) > MAX_MESSAGE:
        raise SipParseError("message too large")
    start = data.lstrip(b"\r\n")
    first_end = start.find(b"\n")
    if first_end > 0 and start[first_end - 1] != 0x0D:
        # RFC 3261 §7.1: the start line ends with CRLF. Header lines after it are still read
        # leniently (a bare LF there is common in hand-written tests and harmless).
        raise SipParseError("start line not ended by CRLF")
    lines, body = _head_lines(data)
    if not lines or not lines[0]:
        raise SipParseError("empty message")
    message = _start_line(lines[0])
    message.headers = headers = _parse_headers(lines[1:])
    for name in _SINGLE_HEADERS:
        if len(headers.get_all(name)) > 1:
            raise SipParseError(f"more than one {name} header")
    length_text = headers.get("Content-Length")
    if length_text is not None:
        length = _small_int(length_text, MAX_MESSAGE, "Content-Length")
        if length > len(body):
            raise SipParseError("body shorter than Content-Length")
        body = body[:length]  # the rest of a datagram is not part of it (RFC 4475 dblreq)
    for name in _REQUIRED:
        if headers.get(name) is None:
            raise SipParseError(f"missing {name} header")
    message.body = body
    _check_fields(message)
    return message


def _check_fields(message: SipRequest | SipResponse) -> None:
    """Parse the headers a handler relies on, so a bad one fails here and not in a handler."""
    headers = message.headers
    cseq = message.cseq
    if isinstance(message, SipRequest) and cseq.method != message.method:
        raise SipParseError("CSeq method mismatch")
    for name in ("From", "To"):
        try:
            NameAddr.parse(headers.get(name) or "")
        except SipParseError as exc:
            raise SipParseError(f"bad {name} header: {exc}") from None
    vias = message.vias
    if not vias:
        raise SipParseError("missing Via header")
    if not isinstance(message, SipRequest) or message.version == "SIP/2.0":
        # A SIP/7.0 request keeps its SIP/7.0 Via and is answered 505 (RFC 4475 badvers).
        for via in vias:
            if via.protocol != "SIP/2.0":
                raise SipParseError(f"Via protocol {via.protocol[:20]!r} is not SIP/2.0")
    for contact in headers.get_all("Contact"):
        if contact != "*":
            NameAddr.parse(contact)
    if not message.call_id or any(c in message.call_id for c in " \t"):
        raise SipParseError("bad Call-ID")
    max_forwards = headers.get("Max-Forwards")
    if max_forwards is not None and not _DIGITS.fullmatch(max_forwards):
        raise SipParseError("bad Max-Forwards")


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse one message; anything unusable raises SipParseError, and nothing else escapes."""
    try:
        return _parse(data)
    except SipParseError:
        raise
    except ValueError as exc:  # e.g. a codec or int() limit deep down: still just bad bytes
        raise SipParseError(str(exc)) from exc


def request_summary_for_400(data: bytes) -> SipRequest | None:
    """Just enough of an unparseable request to answer it 400; None for responses and junk."""
    lines, _ = _head_lines(data[:MAX_MESSAGE])
    start = lines[0].split() if lines else []
    if len(start) < 3 or not _TOKEN.fullmatch(start[0]) or not start[-1].upper().startswith("SIP/"):
        return None
    headers = Headers()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        name = name.strip(" \t")
        if colon and _TOKEN.fullmatch(name) and _canonical(name) in _SUMMARY_HEADERS:
            headers.add(name, value.replace("\r", " ").strip(" \t"))
    vias = headers.get_all("Via")
    if not vias or not vias[0].upper().startswith("SIP") or not headers.get("Call-ID"):
        # Without a Via there is no one to answer; without a Call-ID the answer would be as
        # unparseable to the sender as its request was to us.
        return None
    return SipRequest(start[0], " ".join(start[1:-1]), headers, b"", start[-1].upper())


def _has_tag(value: str) -> bool:
    try:
        return NameAddr.parse(value).tag is not None
    except SipParseError:  # a summary of a broken request: look for the parameter by eye
        return re.search(r";[ \t]*tag[ \t]*=", value, re.IGNORECASE) is not None


def stamp_top_via(request: SipRequest, source: tuple[str, int]) -> None:
    """Note where the request really came from in its topmost Via, for every response to
    carry back: `received` when the sent-by host is not the source address (RFC 3261
    §18.2.1), and with `rport` asked for, the source port as its value and `received`
    always (RFC 3581 §4). A phone behind NAT learns its public mapping from these."""
    for index, (name, value) in enumerate(request.headers.items):
        if name.lower() != "via":
            continue
        parts = _split_outside(value, ",")
        via = Via.parse(parts[0].strip(" \t"))
        if "rport" in via.params:
            via.params["rport"] = str(source[1])
            via.params["received"] = source[0]
        elif via.host.strip("[]") != source[0]:
            via.params["received"] = source[0]
        else:
            return
        request.headers.items[index] = (name, ",".join([str(via), *parts[1:]]))
        return


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
    """A response echoing the request's Via (all, in order), From, To (+tag), Call-ID, CSeq.

    A final or provisional answer (not 100) to a request whose To has no tag gets one: the
    dialog's when it is given, a fresh one otherwise (RFC 3261 §8.2.6.2), so that a 403, 420 or
    488 can be told from an answer of another UAS a proxy forked to."""
    if to_tag is None and status > 100:
        to_tag = new_tag()
    headers = Headers([(k, v) for k, v in request.headers.items if k.lower() == "via"])
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.headers.get(name)
        if value is None:
            continue
        if name == "To" and to_tag and not _has_tag(value):
            value = f"{value};tag={to_tag}"
        headers.add(name, value)
    if 100 < status < 300:
        # A dialog-creating answer keeps the proxies that record-routed on its path (§12.1.1).
        for value in request.headers.get_all("Record-Route"):
            headers.add("Record-Route", value)
    for name, value in extra:
        headers.add(name, value)
    if content_type is not None:
        headers.set("Content-Type", content_type)
    return SipResponse(
        status, reason if reason is not None else reason_phrase(status), headers, body
    )


def new_branch() -> str:
    """A fresh RFC 3261 branch (magic cookie + 64 random bits)."""
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    """A fresh From/To tag."""
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    """A fresh Call-ID, unique without coordination."""
    return f"{secrets.token_hex(12)}@{host}"
