"""Per-queue routing rules from the typed configuration."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from hotline.config import ConfigError, RoutingConfig
from routing.queues import QueueSettings, Strategy
from routing.roster import PATTERNS


def _strategy(name: str, where: str) -> Strategy:
    try:
        return Strategy(name.strip())
    except ValueError:
        choices = ", ".join(s.value for s in Strategy)
        raise ConfigError(f"{where}: strategy {name!r} is not one of {choices}") from None


def queue_settings(config: RoutingConfig, queues: Iterable[str]) -> list[QueueSettings]:
    """Settings for every queue; bad names and unknown overflow queues are refused."""
    if config.roster_pattern not in PATTERNS:
        raise ConfigError(f"routing.roster_pattern must be one of {', '.join(PATTERNS)}")
    names = list(dict.fromkeys(queues))
    strategies = {name: _strategy(config.strategy, "routing.strategy") for name in names}
    for item in config.queue_strategies:
        queue, sep, strategy = item.partition("=")
        if not sep or queue.strip() not in strategies:
            raise ConfigError(f"routing.queue_strategies: {item!r} is not queue=strategy")
        strategies[queue.strip()] = _strategy(strategy, "routing.queue_strategies")
    overflow_to = config.overflow_queue.strip() or None
    overflow_after = None
    if config.overflow_after_seconds > 0:
        if overflow_to is None or overflow_to not in strategies:
            raise ConfigError("routing.overflow_queue must name a configured queue")
        overflow_after = timedelta(seconds=config.overflow_after_seconds)
    escalate = config.escalate_after_seconds
    return [
        QueueSettings(
            name,
            strategies[name],
            escalate_after=timedelta(seconds=escalate) if escalate > 0 else None,
            overflow_after=overflow_after if name != overflow_to else None,
            overflow_to=overflow_to if overflow_after and name != overflow_to else None,
        )
        for name in names
    ]
