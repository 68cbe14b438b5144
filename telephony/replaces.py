"""The Replaces header (RFC 3891) and what it asks of us (pure, no I/O).

A Replaces value names a dialog by Call-ID and tags as its recipient sees it: `to-tag` is the
recipient's own (local) tag and `from-tag` the other party's (RFC 3891 §3, the example of
RFC 5589 §7.3). In a REFER it rides inside Refer-To as an escaped URI header
(`<sip:80010@gw?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote

from telephony.sip import NameAddr, SipParseError, SipUri


@dataclass(frozen=True)
class Replaces:
    """The dialog to replace: Call-ID, the recipient's tag, the other party's tag."""

    call_id: str
    to_tag: str
    from_tag: str
    early_only: bool = False

    @classmethod
    def parse(cls, value: str) -> Replaces:
        """Parse `callid;to-tag=..;from-tag=..[;early-only]`; ValueError if incomplete."""
        call_id, *params = (part.strip() for part in value.split(";"))
        if not call_id or any(ch.isspace() for ch in call_id):
            raise ValueError("Replaces needs a Call-ID")
        tags: dict[str, str] = {}
        early_only = False
        for param in params:
            name, equals, text = param.partition("=")
            name = name.strip().lower()
            if name == "early-only" and not equals:
                early_only = True
            elif name in ("to-tag", "from-tag") and text.strip():
                tags[name] = text.strip()
        if "to-tag" not in tags or "from-tag" not in tags:
            raise ValueError("Replaces needs to-tag and from-tag")
        return cls(call_id, tags["to-tag"], tags["from-tag"], early_only)

    def __str__(self) -> str:
        early = ";early-only" if self.early_only else ""
        return f"{self.call_id};to-tag={self.to_tag};from-tag={self.from_tag}{early}"


@dataclass(frozen=True)
class ReferTarget:
    """What a Refer-To asks for: the target's URI, and the dialog it replaces if any."""

    uri: SipUri
    replaces: Replaces | None


def refer_target(value: str) -> ReferTarget:
    """Read a Refer-To value; ValueError when it or its Replaces does not parse."""
    try:
        uri = NameAddr.parse(value).uri
    except SipParseError as error:
        raise ValueError(str(error)) from error
    replaces: Replaces | None = None
    for header in uri.headers.split("&") if uri.headers else []:
        name, _, escaped = header.partition("=")
        if name.strip().lower() == "replaces":
            replaces = Replaces.parse(unquote(escaped))
    return ReferTarget(uri, replaces)


class DialogState(Enum):
    """How the dialog a Replaces names stands at its recipient."""

    UNKNOWN = "unknown"
    TERMINATED = "terminated"
    CONFIRMED = "confirmed"
    EARLY_OURS = "early-ours"  # we sent its INVITE and it rings
    EARLY_THEIRS = "early-theirs"  # we received its INVITE and have not answered


def refusal(replaces: Replaces, state: DialogState) -> int | None:
    """The status an INVITE with `replaces` is refused with, or None to go ahead (RFC 3891 §3):
    no such dialog, or an early one we did not start, 481; one that has ended, 603; a
    confirmed one when only an early one may be replaced, 486."""
    if state in (DialogState.UNKNOWN, DialogState.EARLY_THEIRS):
        return 481
    if state is DialogState.TERMINATED:
        return 603
    if state is DialogState.CONFIRMED and replaces.early_only:
        return 486
    return None
