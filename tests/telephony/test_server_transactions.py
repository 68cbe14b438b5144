"""The server transaction table stays bounded under a flood of requests."""

from __future__ import annotations

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
