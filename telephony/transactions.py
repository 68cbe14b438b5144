"""RFC 3261 §17: retransmission (over UDP only) and time-out of our requests, and answers to
retransmitted requests from the cached response."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from telephony.sip import SipRequest, SipResponse

T1 = 0.5  # round-trip estimate
T2 = 4.0  # longest retransmit interval for non-INVITE requests and 2xx to INVITE
TIMEOUT = 64 * T1  # Timer B / F / H / J

Send = Callable[[bytes, tuple[str, int]], None]
Reliable = Callable[[tuple[str, int]], bool]
ServerKey = tuple[str, str, str]  # Call-ID, top Via branch, method


def server_key(request: SipRequest) -> ServerKey:
    """Identifies a server transaction; ACK is matched to its INVITE's transaction."""
    vias = request.vias
    branch = vias[0].branch if vias and vias[0].branch else ""
    method = "INVITE" if request.method == "ACK" else request.method
    return (request.call_id, branch, method)


@dataclass
class ServerTransaction:
    """A request we answer; a retransmission of it gets the last response again."""

    key: ServerKey
    source: tuple[str, int]
    last_response: bytes | None = None
    destination: tuple[str, int] | None = None
    final: bool = False
    expiry: asyncio.TimerHandle | None = None
    acknowledged: bool = False  # an INVITE's final non-2xx answer was ACKed
    retransmission: asyncio.TimerHandle | None = None  # Timer G

    def stop_timers(self) -> None:
        for handle in (self.expiry, self.retransmission):
            if handle is not None:
                handle.cancel()


# Server transactions remembered at once. Each finished one lingers for Timer J; past this
# many the oldest finished ones are forgotten first (a retransmission of one of those is
# then handled as new, which RFC 3261 §17.2.2 allows for once Timer J has been shortened).
MAX_SERVER_TRANSACTIONS = 20_000


class ServerTransactions:
    """Cached responses, kept for Timer J (64·T1) after the final one; over TCP too, where
    Timer J is zero, since a UDP hop before the trunk may still repeat a request. The table
    is bounded: a flood of requests cannot grow it past `max_entries` (plus those still
    unanswered, which their handlers answer and so finish)."""

    def __init__(
        self,
        send: Send,
        max_entries: int = MAX_SERVER_TRANSACTIONS,
        reliable: Reliable = lambda destination: False,
    ) -> None:
        self._send = send
        self._table: dict[ServerKey, ServerTransaction] = {}
        self._max_entries = max_entries
        self._reliable = reliable

    def __len__(self) -> int:
        return len(self._table)

    def get(self, key: ServerKey) -> ServerTransaction | None:
        return self._table.get(key)

    def begin(self, key: ServerKey, source: tuple[str, int]) -> ServerTransaction:
        if len(self._table) >= self._max_entries:
            self._sweep()
        transaction = ServerTransaction(key, source)
        self._table[key] = transaction
        return transaction

    def _sweep(self) -> None:
        """Forget the oldest finished transactions, a tenth of the table at a time."""
        excess = len(self._table) - self._max_entries + max(1, self._max_entries // 10)
        for key in [k for k, t in self._table.items() if t.final][:excess]:
            self._table.pop(key).stop_timers()

    def respond(
        self, transaction: ServerTransaction, response: bytes, destination: tuple[str, int]
    ) -> None:
        transaction.last_response = response
        transaction.destination = destination
        self._send(response, destination)
        status = int(response[8:11]) if response[8:11].isdigit() else 0
        if status >= 200 and not transaction.final:
            transaction.final = True
            loop = asyncio.get_running_loop()
            transaction.expiry = loop.call_later(TIMEOUT, self._expire, transaction)
            # §17.2.1: a final non-2xx answer to an INVITE goes again over UDP until its ACK
            # comes (Timer G: T1, doubling up to T2), or Timer H ends the transaction.
            if status >= 300 and transaction.key[2] == "INVITE" and not self._reliable(destination):
                self._timer_g(transaction, T1)

    def _timer_g(self, transaction: ServerTransaction, interval: float) -> None:
        loop = asyncio.get_running_loop()
        transaction.retransmission = loop.call_later(interval, self._resend, transaction, interval)

    def _resend(self, transaction: ServerTransaction, interval: float) -> None:
        if transaction.acknowledged or self._table.get(transaction.key) is not transaction:
            return
        self.retransmit(transaction)
        self._timer_g(transaction, min(2 * interval, T2))

    def acknowledge(self, key: ServerKey) -> None:
        """The ACK for an INVITE's final non-2xx answer: stop sending that answer again."""
        transaction = self._table.get(key)
        if transaction is not None and transaction.final:
            transaction.acknowledged = True
            if transaction.retransmission is not None:
                transaction.retransmission.cancel()
                transaction.retransmission = None

    def _expire(self, transaction: ServerTransaction) -> None:
        transaction.stop_timers()  # Timer H: no ACK came; the transaction ends
        if self._table.get(transaction.key) is transaction:
            del self._table[transaction.key]

    def retransmit(self, transaction: ServerTransaction) -> None:
        """Answer a retransmitted request with the response it had (nothing if none yet)."""
        if transaction.last_response is not None and transaction.destination is not None:
            self._send(transaction.last_response, transaction.destination)

    def clear(self) -> None:
        for transaction in self._table.values():
            transaction.stop_timers()
        self._table.clear()


@dataclass
class ClientTransaction:
    """A request we sent; retransmitted until a response comes, failed after Timer B/F."""

    branch: str
    method: str
    data: bytes
    destination: tuple[str, int]
    on_response: Callable[[SipResponse], None]
    on_timeout: Callable[[], None]
    provisional: bool = False
    done: bool = False
    handles: list[asyncio.TimerHandle] = field(default_factory=list)


class ClientTransactions:
    """Our outstanding requests, matched to responses by the branch of our Via."""

    def __init__(self, send: Send, reliable: Reliable = lambda destination: False) -> None:
        self._send = send
        self._reliable = reliable
        self._table: dict[tuple[str, str], ClientTransaction] = {}

    def __len__(self) -> int:
        return len(self._table)

    def start(
        self,
        branch: str,
        method: str,
        data: bytes,
        destination: tuple[str, int],
        on_response: Callable[[SipResponse], None],
        on_timeout: Callable[[], None],
    ) -> ClientTransaction:
        transaction = ClientTransaction(branch, method, data, destination, on_response, on_timeout)
        self._table[(branch, method)] = transaction
        self._send(data, destination)
        loop = asyncio.get_running_loop()
        if not self._reliable(destination):
            # Timer A/E: only an unreliable transport loses what we send (RFC 3261 §17.1.1.2,
            # §17.1.2.2); over TCP only the time-out (Timer B/F) is left.
            transaction.handles.append(loop.call_later(T1, self._retransmit, transaction, T1))
        transaction.handles.append(loop.call_later(TIMEOUT, self._time_out, transaction))
        return transaction

    def _retransmit(self, transaction: ClientTransaction, interval: float) -> None:
        invite = transaction.method == "INVITE"
        if transaction.done or (transaction.provisional and invite):
            return
        self._send(transaction.data, transaction.destination)
        if invite:
            interval *= 2
        else:
            # A non-INVITE request answered only provisionally is still sent every T2, in
            # case its final response is lost (RFC 3261 §17.1.2.2, Proceeding state).
            interval = T2 if transaction.provisional else min(interval * 2, T2)
        loop = asyncio.get_running_loop()
        transaction.handles.append(
            loop.call_later(interval, self._retransmit, transaction, interval)
        )

    def _time_out(self, transaction: ClientTransaction) -> None:
        if transaction.done:
            return
        self._finish(transaction)
        transaction.on_timeout()

    def _finish(self, transaction: ClientTransaction) -> None:
        transaction.done = True
        for handle in transaction.handles:
            handle.cancel()
        transaction.handles.clear()
        # Keep the INVITE a while: a retransmitted 2xx must still find its dialog to be ACKed.
        loop = asyncio.get_running_loop()
        loop.call_later(TIMEOUT if transaction.method == "INVITE" else 0, self._forget, transaction)

    def _forget(self, transaction: ClientTransaction) -> None:
        key = (transaction.branch, transaction.method)
        if self._table.get(key) is transaction:
            del self._table[key]

    def response(self, response: SipResponse) -> bool:
        """Deliver a response to its transaction; False for a stray one (to be dropped)."""
        vias = response.vias
        if not vias or not vias[0].branch:
            return False
        transaction = self._table.get((vias[0].branch, response.cseq.method))
        if transaction is None:
            return False
        if response.status < 200:
            if transaction.done:
                return True
            transaction.provisional = True
        elif not transaction.done:
            self._finish(transaction)
        transaction.on_response(response)
        return True

    def clear(self) -> None:
        for transaction in self._table.values():
            for handle in transaction.handles:
                handle.cancel()
        self._table.clear()
