"""No log line carries a citizen's full number or house number, whichever logger writes it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from hotline.logs import configure_logging
from telephony.transport import receive

NUMBER = "13912345678"
LANDLINE = "02888881234"
ADDRESS = "红星路二段18号3栋401室"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The service's logging set up as `hotline serve` does, written to a buffer."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging("DEBUG", json_output=True, stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:], root.level = saved
        structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def assert_masked(stream: io.StringIO) -> str:
    text = stream.getvalue()
    assert text.strip(), "nothing was logged"
    for secret in (NUMBER, LANDLINE, "18号", "401室"):
        assert secret not in text, f"{secret} leaked: {text}"
    return text


@pytest.mark.parametrize(
    "name",
    [
        "",  # the root logger
        "telephony.gateway",
        "telephony.transport",
        "hotline.switchboard",
        "agent_console.http",
        "dispatch.sender",
        "aiohttp.server",
        "asyncio",
    ],
)
def test_every_stdlib_logger_is_masked(log_lines: io.StringIO, name: str) -> None:
    logger = logging.getLogger(name)
    logger.warning("caller %s at %s", NUMBER, ADDRESS)
    logger.warning("landline", extra={"caller": LANDLINE, "address": ADDRESS, "note": NUMBER})
    try:
        raise ValueError(f"cannot parse From: <sip:{NUMBER}@trunk>")
    except ValueError:
        logger.exception("failed")
    text = assert_masked(log_lines)
    assert "139****5678" in text and "红星路二段" in text
    assert len(lines(log_lines)) == 3


def test_structlog_loggers_are_masked_too(log_lines: io.StringIO) -> None:
    log = structlog.get_logger("hotline.anything")
    log.info("callback", number=NUMBER, address=ADDRESS, nested={"to": [f"tel:{LANDLINE}"]})
    try:
        raise RuntimeError(f"dial {NUMBER} failed")
    except RuntimeError:
        log.exception("callback failed")
    assert_masked(log_lines)
    first = lines(log_lines)[0]
    assert first["number"] == "139****5678" and first["logger"] == "hotline.anything"


def test_a_malformed_sip_message_is_logged_masked(log_lines: io.StringIO) -> None:
    answers: list[bytes] = []
    datagram = f"INVITE sip:{NUMBER}@gw\r\nFrom: <sip:{LANDLINE}@trunk>\r\n\r\n".encode()
    receive(
        datagram,
        ("192.0.2.7", 5060),
        answers.append,
        lambda request, source: None,
        lambda response, source: None,
    )
    text = assert_masked(log_lines)
    assert "malformed SIP message" in text and "139****5678" in text
    assert "192.0.2.7" in text  # addresses of machines are not personal data


def test_what_is_not_personal_stays_readable(log_lines: io.StringIO) -> None:
    logging.getLogger("hotline.tickets").info(
        "ticket saved", extra={"ticket": "12319-20261204-0007", "agent": "1001", "port": 5060}
    )
    line = lines(log_lines)[0]
    assert (line["ticket"], line["agent"], line["port"]) == ("12319-20261204-0007", "1001", 5060)
