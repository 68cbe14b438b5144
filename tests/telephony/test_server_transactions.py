"""The server transaction table stays bounded under a flood of requests."""

from __future__ import annotations

import asyncio

from telephony.transactions import ServerTransactions

OK = b"SIP/2.0 200 OK\r\n\r\n"
TRYING = b"SIP/2.0 100 Trying\r\n\r\n"


async def test_the_table_is_bounded_and_forgets_the_oldest_finished_first() -> None:
    sent: list[bytes] = []
    table = ServerTransactions(lambda data, to: sent.append(data), max_entries=100)
    ongoing = table.begin(("ongoing", "z9hG4bK0", "INVITE"), ("127.0.0.1", 5060))
    table.respond(ongoing, TRYING, ("127.0.0.1", 5060))
    for n in range(1000):
        transaction = table.begin((f"c{n}", f"z9hG4bK{n}", "OPTIONS"), ("127.0.0.1", 5060))
        table.respond(transaction, OK, ("127.0.0.1", 5060))
    assert len(table) <= 100
    assert table.get(("ongoing", "z9hG4bK0", "INVITE")) is ongoing  # unanswered: kept
    assert table.get(("c999", "z9hG4bK999", "OPTIONS")) is not None  # the newest kept
    assert table.get(("c0", "z9hG4bK0", "OPTIONS")) is None  # the oldest forgotten
    table.clear()


BUSY = b"SIP/2.0 486 Busy Here\r\n\r\n"
TRUNK = ("127.0.0.1", 5060)


async def test_a_refusal_of_an_invite_goes_again_until_its_ack() -> None:
    """Timer G (RFC 3261 §17.2.1): over UDP, the final non-2xx answer is sent again."""
    sent: list[bytes] = []
    again = asyncio.Event()

    def send(data: bytes, to: tuple[str, int]) -> None:
        sent.append(data)
        if len(sent) == 3:
            again.set()

    table = ServerTransactions(send)
    key = ("call", "z9hG4bKbusy", "INVITE")
    transaction = table.begin(key, TRUNK)
    table.respond(transaction, BUSY, TRUNK)
    await asyncio.wait_for(again.wait(), timeout=10)  # after T1, then 2·T1
    assert sent == [BUSY, BUSY, BUSY]
    table.acknowledge(key)
    assert transaction.acknowledged and transaction.retransmission is None
    table.clear()


async def test_no_timer_g_over_tcp_for_a_2xx_or_for_other_methods() -> None:
    table = ServerTransactions(lambda data, to: None, reliable=lambda to: to == ("10.0.0.9", 5060))
    over_tcp = table.begin(("a", "z9hG4bK1", "INVITE"), ("10.0.0.9", 5060))
    table.respond(over_tcp, BUSY, ("10.0.0.9", 5060))
    answered = table.begin(("b", "z9hG4bK2", "INVITE"), TRUNK)
    table.respond(answered, OK, TRUNK)
    options = table.begin(("c", "z9hG4bK3", "OPTIONS"), TRUNK)
    table.respond(options, BUSY, TRUNK)
    assert [t.retransmission for t in (over_tcp, answered, options)] == [None, None, None]
    table.clear()
