"""The hotline's registration of one trunk number at the upstream registrar (RFC 3261 §10.2),
as a pure state machine: events in with `now`, what to send and when out.

The asyncio adapter (telephony/upstream.py) sends the REGISTER that `request` describes
whenever `next_at` has come, and feeds back each final response or time-out. Refreshes go
out at half the granted lifetime, so a lost refresh has the other half to be retried; failures
are retried with capped, jittered exponential backoff (RFC 5626 §4.5), for ever.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from telephony.digest_client import authorization, parse_challenge
from telephony.sip import NameAddr, SipParseError, SipResponse, SipUri

REFRESH_FRACTION = 0.5  # of the granted lifetime
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0
MAX_CHALLENGES = 3  # answered within one attempt: a fresh nonce, then at most two stale ones
_SECONDS = re.compile(r"\s*(\d+)")


class TrunkState(StrEnum):
    REGISTERING = "registering"  # no answer yet since start
    REGISTERED = "registered"  # the last attempt was accepted
    FAILING = "failing"  # the last attempt failed; a retry is scheduled
    UNREGISTERED = "unregistered"  # stopped


@dataclass(frozen=True)
class TrunkAccount:
    """One number the hotline registers upstream, and how it proves who it is."""

    number: str
    domain: str  # of the address of record and the Request-URI
    username: str
    password: str  # empty: no credentials, a challenge is a failure
    expires: int  # lifetime asked for, in seconds
    # The registrar's port when the domain is the registrar's own address: the Request-URI
    # must then carry it, or a registrar on another port than 5060 (a stock Kamailio on
    # 5070, say) finds the request is not for itself and answers 404 or relays it.
    port: int | None = None

    @property
    def aor(self) -> str:
        return f"sip:{self.number}@{self.domain}"

    @property
    def registrar_uri(self) -> str:
        """RFC 3261 §10.2: the domain of the location service, no user part."""
        return f"sip:{self.domain}" if self.port is None else f"sip:{self.domain}:{self.port}"


@dataclass(frozen=True)
class RegisterRequest:
    """The REGISTER to send now; the adapter adds Via, From, To, Call-ID and Contact."""

    cseq: int
    expires: int  # 0 removes the binding
    authorization: tuple[str, str] | None  # header name and value


@dataclass(frozen=True)
class TrunkStatus:
    """How one number's registration stands, for /metrics and the logs."""

    aor: str
    state: TrunkState
    registered: bool  # the registrar holds our binding, as far as we know
    registrations: int  # accepted REGISTERs since start (the first and every refresh)
    failures: int  # consecutive failed attempts
    last_error: str | None
    next_register_in: float | None  # seconds
    expires_in: float | None  # seconds left of the granted binding


@dataclass
class _Challenge:
    header: str  # Authorization or Proxy-Authorization
    value: str  # the WWW-/Proxy-Authenticate it answers
    uses: int = 0  # requests sent with its nonce: the next nonce count is one more


class TrunkBinding:
    """When to REGISTER one number upstream, with what, and what the answers mean."""

    def __init__(self, account: TrunkAccount, jitter: Callable[[], float] = random.random) -> None:
        self.account = account
        self._jitter = jitter  # in [0, 1): spreads retries of many numbers after an outage
        self._expires = account.expires
        self._contact: SipUri | None = None
        self._cseq = 0
        self._state = TrunkState.REGISTERING
        self._stopping = False
        self._in_flight: int | None = None  # CSeq of the REGISTER awaiting its answer
        self._unregistering = False  # the REGISTER in flight has Expires: 0
        self._challenge: _Challenge | None = None
        self._challenges = 0  # answered in the current attempt
        self._fresh_credentials = False  # the request in flight answers this attempt's challenge
        self._bound_until: float | None = None
        self._ever_bound = False
        self.next_at: float | None = None
        self.registrations = 0
        self.failures = 0
        self.last_error: str | None = None

    @property
    def state(self) -> TrunkState:
        return self._state

    @property
    def finished(self) -> bool:
        """Stopped, and nothing more to send."""
        return self._stopping and self.next_at is None and self._in_flight is None

    def start(self, now: float, contact: str) -> None:
        """Register at once; `contact` is where the registrar is to send our calls."""
        self._contact = SipUri.parse(contact)
        self.next_at = now

    def stop(self, now: float) -> None:
        """No more refreshes: remove the binding (Expires: 0) if we may have one."""
        self._stopping = True
        self._challenges = 0
        self.next_at = now if self._ever_bound and self._in_flight is None else None
        if not self._ever_bound:
            self._state = TrunkState.UNREGISTERED

    def request(self, now: float) -> RegisterRequest:
        """The REGISTER due at `now` (pre-emptive credentials from the last challenge)."""
        self._cseq += 1
        self._in_flight = self._cseq
        self._unregistering = self._stopping
        self.next_at = None
        self._fresh_credentials = self._challenges > 0
        header: tuple[str, str] | None = None
        challenge = self._challenge
        if challenge is not None:
            challenge.uses += 1
            value = authorization(
                challenge.value,
                "REGISTER",
                self.account.registrar_uri,
                self.account.username,
                self.account.password,
                nc=challenge.uses,
            )
            header = (challenge.header, value)
        return RegisterRequest(self._cseq, 0 if self._unregistering else self._expires, header)

    def on_response(self, now: float, response: SipResponse) -> None:
        """A final response to the REGISTER in flight (others are ignored)."""
        if response.status < 200 or response.cseq.number != self._in_flight:
            return
        self._in_flight = None
        if response.status in (401, 407):
            self._challenged(now, response)
        elif response.status == 423:
            self._too_brief(now, response)
        elif response.status < 300:
            self._accepted(now, response)
        else:
            retry_after = _SECONDS.match(response.headers.get("Retry-After") or "")
            wait = float(retry_after[1]) if retry_after else 0.0
            self.on_failure(now, f"{response.status} {response.reason}", wait)

    def on_failure(self, now: float, error: str, at_least: float = 0.0) -> None:
        """The attempt failed (a refusal, Timer F, no address): retry later, never give up."""
        self._in_flight = None
        self._challenges = 0
        self.failures += 1
        self.last_error = error
        if self._stopping:
            self._finish()
            return
        self._state = TrunkState.FAILING
        backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (self.failures - 1))
        wait = backoff * (0.5 + 0.5 * self._jitter())
        self.next_at = now + max(wait, min(at_least, RETRY_MAX_SECONDS))

    def status(self, now: float) -> TrunkStatus:
        left = None if self._bound_until is None else self._bound_until - now
        registered = left is not None and left > 0 and not self.finished
        return TrunkStatus(
            self.account.aor,
            self._state,
            registered,
            self.registrations,
            self.failures,
            self.last_error,
            None if self.next_at is None else max(0.0, self.next_at - now),
            left if registered else None,
        )

    def _challenged(self, now: float, response: SipResponse) -> None:
        asked, answer = (
            ("WWW-Authenticate", "Authorization")
            if response.status == 401
            else ("Proxy-Authenticate", "Proxy-Authorization")
        )
        # A registrar may offer several (SHA-256 first, RFC 8760): the first MD5 one is answered.
        usable = [c for c in response.headers.get_all(asked) if _answerable(c)]
        if not usable:
            self.on_failure(now, f"{response.status} without an MD5 digest challenge")
            return
        challenge = usable[0]
        stale = parse_challenge(challenge).get("stale", "").lower() == "true"
        if not self.account.password:
            self.on_failure(now, f"{response.status} {response.reason} (no credentials)")
            return
        if (self._fresh_credentials and not stale) or self._challenges >= MAX_CHALLENGES:
            self._challenge = None  # start the next attempt afresh
            self.on_failure(now, f"{response.status} {response.reason} (credentials refused)")
            return
        self._challenge = _Challenge(answer, challenge)
        self._challenges += 1
        self.next_at = now

    def _too_brief(self, now: float, response: SipResponse) -> None:
        wanted = (response.headers.get("Min-Expires") or "").strip()
        if not wanted.isdigit() or int(wanted) <= self._expires:
            self.on_failure(now, "423 Interval Too Brief without a longer Min-Expires")
            return
        self._expires = int(wanted)  # and for every refresh from now on (RFC 3261 §10.2.8)
        self.next_at = now

    def _accepted(self, now: float, response: SipResponse) -> None:
        self._challenges = 0
        if self._unregistering:
            self._bound_until = None
            self._finish()
            return
        granted = self._granted(response)
        if granted <= 0:
            self.on_failure(now, f"{response.status} without our binding")
            return
        self._bound_until = now + granted
        self._ever_bound = True
        self._state = TrunkState.REGISTERED
        self.registrations += 1
        self.failures = 0
        self.last_error = None
        # Stopped while this refresh was in flight: remove what it just renewed.
        self.next_at = now if self._stopping else now + granted * REFRESH_FRACTION

    def _granted(self, response: SipResponse) -> int:
        """Our contact's expires parameter, else the Expires header, else what we asked."""
        for value in response.headers.get_all("Contact"):
            try:
                contact = NameAddr.parse(value)
            except SipParseError:
                continue
            expires = contact.params.get("expires") or ""
            if self._is_ours(contact.uri) and expires.strip().isdigit():
                return int(expires)
        header = (response.headers.get("Expires") or "").strip()
        return int(header) if header.isdigit() else self._expires

    def _is_ours(self, uri: SipUri) -> bool:
        ours = self._contact
        return ours is not None and _where(uri) == _where(ours)

    def _finish(self) -> None:
        self._state = TrunkState.UNREGISTERED
        self.next_at = None
        self._in_flight = None


def _answerable(challenge: str) -> bool:
    try:
        parse_challenge(challenge)
    except ValueError:
        return False
    return True


def _where(uri: SipUri) -> tuple[str | None, str, int]:
    return (uri.user, uri.host.lower(), uri.port or 5060)
