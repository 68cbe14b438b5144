"""Structured logging: one JSON object a line on stderr, stdlib and structlog loggers alike.

Every line, whichever logger wrote it, passes `mask_personal_data` last before rendering:
citizens' phone numbers and house numbers are masked in the message, in every field and in
tracebacks, so no code path (a malformed SIP message quoted in an error, an exception from a
library) can put a full number in the log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from hotline.privacy import mask_address, mask_phone, mask_text

# Fields that hold a whole number or a whole address: masked as such, not searched.
PHONE_FIELDS = frozenset({"caller", "phone", "callee", "from_number", "to_number"})
ADDRESS_FIELDS = frozenset({"address"})
# Fields the logging machinery writes itself.
PLAIN_FIELDS = frozenset({"timestamp", "level", "logger", "_record", "_from_structlog"})


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bytes):
        return mask_text(value.decode("utf-8", "replace"))
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_masked(item) for item in value]
    return value


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The logging processor: mask numbers and addresses in every value of the line."""
    for key, value in list(event_dict.items()):
        if key in PLAIN_FIELDS:
            continue
        if key in PHONE_FIELDS and isinstance(value, str):
            event_dict[key] = mask_phone(value)
        elif key in ADDRESS_FIELDS and isinstance(value, str):
            event_dict[key] = mask_address(value)
        else:
            event_dict[key] = _masked(value)
    return event_dict


def configure_logging(
    level: str = "INFO", json_output: bool = True, stream: TextIO | None = None
) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_personal_data,  # after the traceback is text, before anything is written
            renderer,
        ],
    )
    # structlog's own loggers hand their events to the same formatter.
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
