"""What the SIP port lets in at all: per-source flood limits, scanner User-Agents and a size
cap, decided on the raw datagram before it is parsed (pure; takes `now`).

The defaults follow Kamailio. Its pike module samples each source address over 2 s
(`sampling_time_unit`) and flags one that sends more than 30 requests in that time
(`reqs_density_per_unit`); its sample configuration then bans the address for a while (an
`ipban` htable with autoexpire) and drops known scanners by User-Agent. Nothing dropped here is
answered: an answer to a flood is a second flood, sent to whatever address the first one forged.
The one exception is an oversize request, which the transport answers with RFC 3261's 513
(smaller than what came in). The guard reads no SIP beyond the User-Agent header.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

# Case-insensitive fragments of the User-Agent of SIP scanners and war-diallers, as matched by
# Kamailio's sample configurations and the APIBAN/secfilter lists. No phone or carrier sends
# them; SIPVicious (svmap, svwar, svcrack) announces itself as friendly-scanner by default.
SCANNER_USER_AGENTS = (
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "sipscan",
    "VaxSIPUserAgent",
    "iWar",
    "sundayddr",
    "pplsip",
)

# Blocks beyond this many a minute get no log line of their own (the next one that does counts
# them): a flood from forged addresses must not turn into a flood of log lines.
LOGGED_BLOCKS_PER_MINUTE = 10
# Likewise for scanners' datagrams: a sweep sends thousands, a few lines a minute name them.
LOGGED_SCANNERS_PER_MINUTE = 10

_USER_AGENT = re.compile(rb"^user-agent[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_HEAD_END = re.compile(rb"\r?\n\r?\n")

Exemption = Callable[[str, float], bool]


class DropReason(StrEnum):
    RATE = "rate"  # the datagram that took its source over the rate
    BLOCKED = "blocked"  # from a source still blocked
    SCANNER = "scanner"  # a scanner's User-Agent
    OVERSIZE = "oversize"  # larger than max_message_bytes


@dataclass(frozen=True)
class GuardPolicy:
    """Limits for one SIP port; a zero turns its check off."""

    requests_per_window: int = 30
    window_seconds: float = 2.0
    block_seconds: float = 60.0
    max_message_bytes: int = 8192
    scanner_user_agents: tuple[str, ...] = SCANNER_USER_AGENTS
    # Sources remembered at once; past it the least recently heard is forgotten first.
    max_sources: int = 10_000

    def __post_init__(self) -> None:
        for name in ("requests_per_window", "block_seconds", "max_message_bytes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if self.max_sources < 1:
            raise ValueError("max_sources must be at least 1")
        if any(not fragment.strip() for fragment in self.scanner_user_agents):
            raise ValueError("scanner_user_agents must not contain an empty entry")


@dataclass(frozen=True)
class Verdict:
    """What to do with one datagram: pass it on (dropped is None) or drop it, and why."""

    dropped: DropReason | None = None
    # This datagram started a block of its source: the one moment worth a log line, which
    # also says how many blocks since the last such line went unlogged.
    log_block: bool = False
    unlogged_blocks: int = 0
    # A scanner's datagram worth a log line (within the minute's budget), with its User-Agent
    # and how many scanner drops since the last such line went unlogged.
    log_scanner: bool = False
    user_agent: str = ""
    unlogged_scanners: int = 0

    @property
    def admitted(self) -> bool:
        return self.dropped is None


ADMITTED = Verdict()


@dataclass(frozen=True)
class GuardFigures:
    """Totals since start, for /metrics."""

    dropped: Mapping[DropReason, int]
    blocks: int  # blocks started
    blocked_sources: int  # blocked now
    tracked_sources: int  # remembered now
    forgotten_early: int  # pushed out by max_sources before going idle: a sign of spoofing


@dataclass
class _Source:
    """One source's sliding-window counter: this window's count and the previous window's."""

    window_start: float
    last_seen: float
    count: int = 0
    previous: int = 0


def source_key(address: str) -> str:
    """The unit a limit applies to: an IPv4 address, or an IPv6 /64 (one subscriber's LAN)."""
    if ":" not in address:
        return address
    try:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


def user_agents(data: bytes) -> list[bytes]:
    """The User-Agent header values of a raw SIP message (its head only)."""
    end = _HEAD_END.search(data)
    return _USER_AGENT.findall(data if end is None else data[: end.start()])


def _never_exempt(address: str, now: float) -> bool:
    return False


class _LogBudget:
    """At most `per_minute` log lines a minute; counts the ones left out."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._minute = -math.inf
        self._used = 0
        self._unlogged = 0

    def take(self, now: float) -> int | None:
        """None if over budget (counted), else how many went unlogged before this one."""
        if now - self._minute >= 60:
            self._minute, self._used = now, 0
        if self._used >= self.per_minute:
            self._unlogged += 1
            return None
        self._used += 1
        unlogged, self._unlogged = self._unlogged, 0
        return unlogged


class SipGuard:
    """Per-source rate limit with blocking, scanner User-Agents and a size cap.

    Each source has a sliding-window counter of its datagrams (requests and responses alike:
    a flood of either costs the same): this window's count plus the previous window's,
    weighted by how much of it still overlaps the last `window_seconds`. A source over
    `requests_per_window` is blocked for `block_seconds` unless `exempt` says it is a trunk
    peer or a registered phone (asked only then, so it may be slow). A scanner's User-Agent
    drops that datagram only: blocking on one datagram would let anyone who forges a source
    address block it. Memory stays bounded under a flood from forged addresses: counters
    live in an LRU table whose idle entries expire, blocks in a table that expires in order,
    each holding at most `max_sources`.
    """

    def __init__(self, policy: GuardPolicy, exempt: Exemption = _never_exempt) -> None:
        self.policy = policy
        self._exempt = exempt
        self._sources: OrderedDict[str, _Source] = OrderedDict()  # least recently heard first
        self._blocked: OrderedDict[str, float] = OrderedDict()  # key → until, soonest first
        self._dropped: Counter[DropReason] = Counter()
        self._blocks = 0
        self._forgotten_early = 0
        self._block_log = _LogBudget(LOGGED_BLOCKS_PER_MINUTE)
        self._scanner_log = _LogBudget(LOGGED_SCANNERS_PER_MINUTE)
        fragments = [re.escape(fragment.encode()) for fragment in policy.scanner_user_agents]
        self._scanner = re.compile(b"|".join(fragments), re.IGNORECASE) if fragments else None

    def inspect(self, data: bytes, address: str, now: float) -> Verdict:
        """Whether a datagram from `address` may be parsed and handled."""
        policy = self.policy
        self._prune(now)
        key = source_key(address)
        if key in self._blocked:
            return self._drop(DropReason.BLOCKED)
        limit = policy.requests_per_window
        if limit and self._rate(key, now) > limit:
            if self._exempt(address, now):
                self._sources.pop(key, None)  # ask again only after another `limit`
            else:
                return self._block(key, now)
        if policy.max_message_bytes and len(data) > policy.max_message_bytes:
            return self._drop(DropReason.OVERSIZE)
        if self._scanner is not None:
            scanner = next(filter(self._scanner.search, user_agents(data)), None)
            if scanner is not None:
                return self._scanner_dropped(scanner, now)
        return ADMITTED

    def blocked(self, address: str, now: float) -> bool:
        until = self._blocked.get(source_key(address))
        return until is not None and until > now

    def figures(self, now: float) -> GuardFigures:
        blocked = sum(1 for until in self._blocked.values() if until > now)
        return GuardFigures(
            dropped={reason: self._dropped[reason] for reason in DropReason},
            blocks=self._blocks,
            blocked_sources=blocked,
            tracked_sources=len(self._sources) + blocked,
            forgotten_early=self._forgotten_early,
        )

    def _prune(self, now: float) -> None:
        # Both tables are in expiry order, so only their fronts need looking at.
        while self._blocked and next(iter(self._blocked.values())) <= now:
            self._blocked.popitem(last=False)
        idle_before = now - 2 * self.policy.window_seconds
        while self._sources and next(iter(self._sources.values())).last_seen <= idle_before:
            self._sources.popitem(last=False)

    def _rate(self, key: str, now: float) -> float:
        """Count one datagram; the source's datagrams over the last window, estimated."""
        source = self._sources.get(key)
        if source is None:
            source = self._sources[key] = _Source(window_start=now, last_seen=now)
            if len(self._sources) > self.policy.max_sources:
                self._sources.popitem(last=False)
                self._forgotten_early += 1
        else:
            self._sources.move_to_end(key)
            source.last_seen = now
        window = self.policy.window_seconds
        elapsed = max(0.0, now - source.window_start)
        if elapsed >= window:
            windows = int(elapsed // window)
            source.previous = source.count if windows == 1 else 0
            source.count = 0
            source.window_start += windows * window
            elapsed -= windows * window
        source.count += 1
        return source.previous * (1 - elapsed / window) + source.count

    def _block(self, key: str, now: float) -> Verdict:
        reason = DropReason.RATE
        if not self.policy.block_seconds:
            return self._drop(reason)
        self._sources.pop(key, None)
        self._blocked[key] = now + self.policy.block_seconds
        if len(self._blocked) > self.policy.max_sources:
            self._blocked.popitem(last=False)
            self._forgotten_early += 1
        self._blocks += 1
        unlogged = self._block_log.take(now)
        if unlogged is None:
            return self._drop(reason)
        self._dropped[reason] += 1
        return Verdict(reason, log_block=True, unlogged_blocks=unlogged)

    def _scanner_dropped(self, user_agent: bytes, now: float) -> Verdict:
        reason = DropReason.SCANNER
        unlogged = self._scanner_log.take(now)
        if unlogged is None:
            return self._drop(reason)
        self._dropped[reason] += 1
        # Printable ASCII only, and short: the header is the sender's text, not ours.
        text = user_agent[:100].decode("ascii", "replace")
        text = "".join(c if c.isprintable() else "?" for c in text)
        return Verdict(reason, log_scanner=True, user_agent=text, unlogged_scanners=unlogged)

    def _drop(self, reason: DropReason) -> Verdict:
        self._dropped[reason] += 1
        return Verdict(reason)
