"""The outbox sender: POSTs each saved case to the dispatch core until it answers 2xx."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.models import OutboxMessage

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hotline-Signature"
BATCH = 50
# Even with nothing due, look again this often: another process may have written the outbox.
IDLE_POLL_SECONDS = 5.0


def sign_body(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the body, so the dispatch core can tell the case came from us."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
    ) -> None:
        self._sessions = sessions
        self._url = url
        self._secret = secret
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
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def pending_count(self) -> int:
        async with self._sessions() as db:
            return int(
                await db.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.delivered_at.is_(None))
                )
                or 0
            )

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
                        OutboxMessage.delivered_at.is_(None), OutboxMessage.next_attempt_at <= now
                    )
                    .order_by(OutboxMessage.id)
                    .limit(BATCH)
                )
            ).all()
        results = await asyncio.gather(*(self._post(http, row) for row in due))
        async with self._sessions.begin() as db:
            for row, error in zip(due, results, strict=True):
                stored = await db.get(OutboxMessage, row.id)
                if stored is None or stored.delivered_at is not None:
                    continue
                stored.attempts += 1
                if error is None:
                    stored.delivered_at = self._clock()
                    stored.last_error = None
                    log.info("case delivered", extra={"ticket": row.idempotency_key})
                else:
                    wait = backoff_seconds(stored.attempts, self._max_backoff, self._rng)
                    stored.next_attempt_at = self._clock() + timedelta(seconds=wait)
                    stored.last_error = error
                    log.warning(
                        "case delivery failed, retrying",
                        extra={"ticket": row.idempotency_key, "error": error, "retry_in": wait},
                    )
        if len(due) == BATCH:
            return 0.0
        async with self._sessions() as db:
            next_due = await db.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.delivered_at.is_(None)
                )
            )
        if next_due is None:
            return IDLE_POLL_SECONDS
        return max(0.0, min(IDLE_POLL_SECONDS, (next_due - self._clock()).total_seconds()))

    async def _post(self, http: aiohttp.ClientSession, row: OutboxMessage) -> str | None:
        body = json.dumps(row.payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": row.idempotency_key,
            SIGNATURE_HEADER: sign_body(self._secret, body),
        }
        try:
            async with http.post(self._url, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}"
