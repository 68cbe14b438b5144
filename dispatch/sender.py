"""The outbox sender: POSTs each saved case (and each command about one: 改派, 催办, 督办,
重办, 退回) to the dispatch core or 12345 until it answers 2xx. A 4xx other than 408/429 is a
refusal that retrying cannot change: the row becomes a dead letter shift leads see.

Several senders (nodes sharing one PostgreSQL, a paused node waking up) may run at once. Each
pass claims its due rows in one transaction (`FOR UPDATE SKIP LOCKED`, so another sender
neither waits for them nor takes them) and, in that transaction, moves their
`next_attempt_at` past the claim's lease (the POST timeout plus a margin) and writes its claim
token. A 2xx is recorded whoever holds the row by then (the receiver has the case); a failure
only by the sender still holding the claim. A sender that dies mid-POST leaves the row due
again when the lease ends; it is sent again with the same Idempotency-Key, which receivers
deduplicate."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.models import OutboxMessage
from hotline.tasks import stop_task

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hotline-Signature"
BATCH = 50
# Even with nothing due, look again this often: another process may have written the outbox.
IDLE_POLL_SECONDS = 5.0
# A claim lasts the POST timeout plus this: time to record the outcome after the answer.
CLAIM_MARGIN_SECONDS = 15.0


def sign_body(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the body, so the dispatch core can tell the case came from us."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# 4xx answers worth retrying: a timeout and rate limiting.
RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Target:
    """Where one kind of outbox row goes, and the secret that signs it."""

    url: str
    secret: str


@dataclass(frozen=True)
class Attempt:
    error: str | None
    refused: bool = False  # a 4xx: do not retry, keep it as a dead letter


def backoff_seconds(attempts: int, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter after `attempts` failures."""
    ceiling = min(cap, 2.0 ** min(attempts, 16))
    return max(0.5, rng.uniform(ceiling / 2, ceiling))


def claim_lease(now: datetime, timeout_seconds: float) -> datetime:
    """Until when a claimed row is left to its sender: past it, another sender may take it
    (the first one has died, or is paused), and sends it again under the same key."""
    return now + timedelta(seconds=timeout_seconds + CLAIM_MARGIN_SECONDS)


class OutboxSender:
    """Background task delivering outbox rows; `wake()` after a save sends at once."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        url: str,
        secret: str,
        timeout_seconds: float,
        max_backoff_seconds: float,
        clock: Callable[[], datetime],
        targets: Mapping[str, Target] | None = None,
        on_delivered: Callable[[OutboxMessage], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._targets = {"core": Target(url, secret), **(targets or {})}
        self._on_delivered = on_delivered
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._timeout_seconds = timeout_seconds
        self._max_backoff = max_backoff_seconds
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._rng = random.Random()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def pending_count(self) -> int:
        async with self._sessions() as db:
            return int(
                await db.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.dead_at.is_(None))
                )
                or 0
            )

    async def dead_letters(self, limit: int = 200) -> list[OutboxMessage]:
        """Rows the receiver refused (4xx), newest first: for shift leads to act on."""
        async with self._sessions() as db:
            return list(
                (
                    await db.scalars(
                        select(OutboxMessage)
                        .where(OutboxMessage.dead_at.is_not(None))
                        .order_by(OutboxMessage.dead_at.desc(), OutboxMessage.id.desc())
                        .limit(limit)
                    )
                ).all()
            )

    async def retry(self, row_id: int) -> OutboxMessage | None:
        """Send a dead letter again (after someone fixed what the receiver refused)."""
        async with self._sessions.begin() as db:
            row = await db.get(OutboxMessage, row_id)
            if row is None or row.dead_at is None:
                return None
            row.dead_at, row.next_attempt_at, row.claimed_by = None, self._clock(), None
        self.wake()
        return row

    async def _run(self) -> None:
        async with aiohttp.ClientSession(timeout=self._timeout) as http:
            while True:
                self._wake.clear()
                try:
                    delay = await self.deliver_due(http)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database may be briefly unavailable; keep the loop
                    log.exception("outbox pass failed")
                    delay = IDLE_POLL_SECONDS
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
                except TimeoutError:
                    pass

    async def deliver_due(self, http: aiohttp.ClientSession) -> float:
        """Claim the due rows, send each once, record what came of it; return seconds until
        the next row is due."""
        token = uuid.uuid4().hex
        due = await self._claim(self._clock(), token)
        results = await asyncio.gather(*(self._post(http, row) for row in due))
        delivered = await self._record(due, results, token)
        if self._on_delivered is not None:
            for row in delivered:
                try:
                    await self._on_delivered(row)
                except Exception:  # the delivery stands; the listener logs its own trouble
                    log.exception("delivery listener failed", extra={"row": row.id})
        if len(due) == BATCH:
            return 0.0
        async with self._sessions() as db:
            next_due = await db.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.delivered_at.is_(None), OutboxMessage.dead_at.is_(None)
                )
            )
        if next_due is None:
            return IDLE_POLL_SECONDS
        return max(0.0, min(IDLE_POLL_SECONDS, (next_due - self._clock()).total_seconds()))

    async def _claim(self, now: datetime, token: str) -> list[OutboxMessage]:
        """Take up to BATCH due rows for this pass: rows another sender is claiming right now
        are skipped, not waited for, and the rows taken are not due again until the lease
        ends (SQLite has one writer at a time and ignores FOR UPDATE)."""
        async with self._sessions.begin() as db:
            rows = list(
                (
                    await db.scalars(
                        select(OutboxMessage)
                        .where(
                            OutboxMessage.delivered_at.is_(None),
                            OutboxMessage.dead_at.is_(None),
                            OutboxMessage.next_attempt_at <= now,
                        )
                        .order_by(OutboxMessage.id)
                        .limit(BATCH)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            lease = claim_lease(now, self._timeout_seconds)
            for row in rows:
                row.claimed_by, row.next_attempt_at = token, lease
        return rows

    async def _record(
        self, rows: list[OutboxMessage], results: list[Attempt], token: str
    ) -> list[OutboxMessage]:
        """Write each outcome; the rows this pass delivered (and nobody had before it)."""
        delivered: list[OutboxMessage] = []
        async with self._sessions.begin() as db:
            for row, attempt in zip(rows, results, strict=True):
                now = self._clock()
                where: list[ColumnElement[bool]] = [
                    OutboxMessage.id == row.id,
                    OutboxMessage.delivered_at.is_(None),
                ]
                error = attempt.error
                retry_at = now + timedelta(
                    seconds=backoff_seconds(row.attempts + 1, self._max_backoff, self._rng)
                )
                if error is None:
                    # The receiver has it, whoever holds the claim by now.
                    values: dict[str, object] = {"delivered_at": now, "dead_at": None}
                else:
                    # A failure is the holder's to record: a later claim has its own attempt.
                    where.append(OutboxMessage.claimed_by == token)
                    values = {"dead_at": now} if attempt.refused else {"next_attempt_at": retry_at}
                result = await db.execute(
                    update(OutboxMessage)
                    .where(*where)
                    .values(
                        attempts=OutboxMessage.attempts + 1,
                        last_error=error,
                        claimed_by=None,
                        **values,
                    )
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0) != 1:
                    log.info(
                        "outcome not recorded: another sender holds the row now",
                        extra={"ticket": row.idempotency_key, "error": error},
                    )
                    continue
                row.attempts += 1
                row.last_error, row.claimed_by = error, None
                if error is None:
                    row.delivered_at, row.dead_at = now, None
                    delivered.append(row)
                    log.info("case delivered", extra={"ticket": row.idempotency_key})
                elif attempt.refused:
                    row.dead_at = now
                    log.error(
                        "refused by the receiver; kept as a dead letter",
                        extra={"ticket": row.idempotency_key, "error": error},
                    )
                else:
                    row.next_attempt_at = retry_at
                    log.warning(
                        "case delivery failed, retrying",
                        extra={
                            "ticket": row.idempotency_key,
                            "error": error,
                            "retry_in": (row.next_attempt_at - now).total_seconds(),
                        },
                    )
        return delivered

    async def _post(self, http: aiohttp.ClientSession, row: OutboxMessage) -> Attempt:
        target = self._targets.get(row.target)
        if target is None or not target.url:
            return Attempt(f"no address configured for {row.target}", refused=True)
        body = json.dumps(row.payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": row.idempotency_key,
            SIGNATURE_HEADER: sign_body(target.secret, body),
        }
        try:
            # The timeout bounds the POST whatever session it goes through: the claim's lease
            # is counted from it.
            async with http.post(
                target.url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                if 200 <= response.status < 300:
                    return Attempt(None)
                text = (await response.text(errors="replace"))[:300]
                refused = 400 <= response.status < 500 and response.status not in RETRYABLE_4XX
                return Attempt(f"HTTP {response.status} {text}".strip(), refused)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Attempt(f"{type(exc).__name__}: {exc}")
