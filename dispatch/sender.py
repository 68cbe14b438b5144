"""The outbox sender: POSTs each saved case (and each command about one: 改派, 催办, 督办,
重办, 退回) to the dispatch core or 12345 until it answers 2xx. A 4xx other than 408/429 is a
refusal that retrying cannot change: the row becomes a dead letter shift leads see."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.models import OutboxMessage
from hotline.tasks import stop_task

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hotline-Signature"
BATCH = 50
# Even with nothing due, look again this often: another process may have written the outbox.
IDLE_POLL_SECONDS = 5.0


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
            row.dead_at, row.next_attempt_at = None, self._clock()
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
        """Send every due row once; return seconds until the next one is due."""
        now = self._clock()
        async with self._sessions() as db:
            due = (
                await db.scalars(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.delivered_at.is_(None),
                        OutboxMessage.dead_at.is_(None),
                        OutboxMessage.next_attempt_at <= now,
                    )
                    .order_by(OutboxMessage.id)
                    .limit(BATCH)
                )
            ).all()
        results = await asyncio.gather(*(self._post(http, row) for row in due))
        delivered: list[OutboxMessage] = []
        async with self._sessions.begin() as db:
            for row, attempt in zip(due, results, strict=True):
                stored = await db.get(OutboxMessage, row.id)
                if stored is None or stored.delivered_at is not None:
                    continue
                stored.attempts += 1
                error = attempt.error
                if error is None:
                    stored.delivered_at = self._clock()
                    stored.last_error = None
                    delivered.append(stored)
                    log.info("case delivered", extra={"ticket": row.idempotency_key})
                elif attempt.refused:
                    stored.dead_at = self._clock()
                    stored.last_error = error
                    log.error(
                        "refused by the receiver; kept as a dead letter",
                        extra={"ticket": row.idempotency_key, "error": error},
                    )
                else:
                    wait = backoff_seconds(stored.attempts, self._max_backoff, self._rng)
                    stored.next_attempt_at = self._clock() + timedelta(seconds=wait)
                    stored.last_error = error
                    log.warning(
                        "case delivery failed, retrying",
                        extra={"ticket": row.idempotency_key, "error": error, "retry_in": wait},
                    )
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
            async with http.post(target.url, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    return Attempt(None)
                text = (await response.text(errors="replace"))[:300]
                refused = 400 <= response.status < 500 and response.status not in RETRYABLE_4XX
                return Attempt(f"HTTP {response.status} {text}".strip(), refused)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Attempt(f"{type(exc).__name__}: {exc}")
