"""The classifier as the hotline runs it: built from [nlp], trained on confirmed tickets,
and a running server that picks up a newly trained model without a restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from hotline.config import NlpConfig
from hotline.models import ClassifierFeedback, Ticket
from hotline.tasks import stop_task
from hotline.tickets import MERGED, OPEN_STATUSES
from nlp.classifier import Classifier
from nlp.model import TrainedModel
from nlp.repeats import CaseSketch, RepeatMatch, find_repeats
from nlp.rules import parse_category_departments
from nlp.training import Example, train

log = logging.getLogger(__name__)

# How often a running server looks for a newly trained model file.
MODEL_CHECK_SECONDS = 30.0
# Draft tickets (from voicemail, no agent yet) and merged repeats confirm nothing new.
UNCONFIRMED = ("draft", "merged")


def load_model(path: Path) -> TrainedModel | None:
    """The trained model at `path`, or None (with a log line) if there is none or it is bad."""
    if not path.is_file():
        return None
    try:
        return TrainedModel.load(path)
    except ValueError as error:
        log.error("learned model not used: %s", error)
        return None


def build_classifier(config: NlpConfig) -> Classifier:
    """Shipped data, the city's overrides and, if trained, the learned model."""
    override = Path(config.data_dir) if config.data_dir else None
    if override is not None and not override.is_dir():
        raise ValueError(f"[nlp] data_dir {override} is not a directory")
    return Classifier.from_directory(
        resources.files("nlp").joinpath("data"),
        override,
        parse_category_departments(config.category_departments),
        load_model(Path(config.model_path)) if config.model_path else None,
        config.model_weight,
    )


def console_departments(classifier: Classifier, config: NlpConfig) -> dict[str, str]:
    """What a ticket may be routed to: the departments, then the 确权 coordinator."""
    departments = classifier.departments
    if config.coordinator_code:
        departments.setdefault(config.coordinator_code, config.coordinator_name)
    return departments


async def training_examples(sessions: async_sessionmaker[AsyncSession]) -> list[Example]:
    """Every ticket an agent saved, with the department and category it was saved with."""
    async with sessions() as db:
        rows = await db.execute(
            select(Ticket.description, Ticket.department_code, Ticket.category_code)
            .where(Ticket.created_by.is_not(None), Ticket.status.not_in(UNCONFIRMED))
            .order_by(Ticket.id)
        )
        return [Example(text, department, category) for text, department, category in rows]


@dataclass(frozen=True)
class Acceptance:
    """How often agents kept the suggestion: the figure a centre watches after training."""

    tickets: int
    department: float | None
    category: float | None
    urgent: float | None


async def acceptance(
    sessions: async_sessionmaker[AsyncSession], since: datetime | None = None
) -> Acceptance:
    """Shares of saved tickets whose department, category and urgency were as suggested."""

    def kept(column: ColumnElement[bool] | InstrumentedAttribute[bool]) -> ColumnElement[int]:
        return func.sum(case((column, 1), else_=0))

    query = select(
        func.count(ClassifierFeedback.id),
        kept(ClassifierFeedback.department_accepted),
        kept(ClassifierFeedback.category_accepted),
        kept(ClassifierFeedback.urgent_accepted),
    )
    if since is not None:
        query = query.where(ClassifierFeedback.created_at >= since)
    async with sessions() as db:
        count, department, category, urgent = (await db.execute(query)).one()
    if not count:
        return Acceptance(0, None, None, None)
    return Acceptance(count, department / count, category / count, urgent / count)


async def train_from_tickets(
    sessions: async_sessionmaker[AsyncSession],
    classifier: Classifier,
    path: Path,
    now: datetime,
) -> TrainedModel:
    """Train on the confirmed tickets and write the model file the servers pick up."""
    examples = await training_examples(sessions)
    model = await asyncio.to_thread(train, examples, classifier.features, now)
    model.save(path)
    return model


class ModelWatcher:
    """Loads a newly written model file into the running classifier."""

    def __init__(
        self,
        classifier: Classifier,
        path: Path,
        interval: float = MODEL_CHECK_SECONDS,
        on_change: Callable[[TrainedModel | None], None] | None = None,
    ) -> None:
        self._classifier = classifier
        self._path = path
        self._interval = interval
        self._on_change = on_change
        self._seen = self._stamp()
        self._task: asyncio.Task[None] | None = None

    def _stamp(self) -> tuple[int, int] | None:
        try:
            status = self._path.stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size

    def check(self) -> bool:
        """Reload if the file changed since last seen; True if the classifier was updated."""
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        model = load_model(self._path)
        if stamp is not None and model is None:
            return False  # a broken file: keep what is running
        self._classifier.use_model(model)
        log.info("learned model %s", "removed" if model is None else f"loaded: {model.version}")
        if self._on_change is not None:
            self._on_change(model)
        return True

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="nlp-model-watcher")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.check()

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None


# Newest open tickets looked at for a repeat; older ones beyond this are not compared.
REPEAT_CANDIDATES = 500


async def open_repeats(
    sessions: async_sessionmaker[AsyncSession],
    draft: CaseSketch,
    now: datetime,
    days: int,
    threshold: float,
) -> list[tuple[RepeatMatch, Ticket]]:
    """Open tickets of the last `days` that the ticket being written probably repeats."""
    since = now - timedelta(days=days)
    async with sessions() as db:
        rows = await db.scalars(
            select(Ticket)
            .where(Ticket.status.in_(OPEN_STATUSES - {MERGED}), Ticket.created_at >= since)
            .order_by(Ticket.created_at.desc())
            .limit(REPEAT_CANDIDATES)
        )
        tickets = {ticket.number: ticket for ticket in rows}
    sketches = [
        CaseSketch(t.number, t.description, t.address, t.category_code, t.created_at)
        for t in tickets.values()
    ]
    matches = find_repeats(draft, sketches, now, days, threshold)
    return [(match, tickets[match.number]) for match in matches]
