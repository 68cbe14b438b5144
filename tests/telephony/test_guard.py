"""The SIP port's guard, pure: rate window, block and unblock, exemptions, the bounded source
table, scanner User-Agents and the size cap. Time is a number passed in."""

from __future__ import annotations

import dataclasses

import pytest

from telephony.guard import (
    LOGGED_BLOCKS_PER_MINUTE,
    LOGGED_SCANNERS_PER_MINUTE,
    SCANNER_USER_AGENTS,
    DropReason,
    GuardPolicy,
    SipGuard,
    Verdict,
    source_key,
    user_agents,
)
from telephony.sip import SipResponse, parse_message
from telephony.transport import malformed_answer

POLICY = GuardPolicy(requests_per_window=5, window_seconds=2.0, block_seconds=60.0)
FLOODER = "203.0.113.9"
TRUNK = "198.51.100.1"


def options(user_agent: str = "Yealink SIP-T46U", pad: int = 0, method: str = "OPTIONS") -> bytes:
    head = (
        f"{method} sip:12319@192.0.2.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bK-guard-1;rport\r\n"
        "From: <sip:probe@203.0.113.9>;tag=g1\r\nTo: <sip:12319@192.0.2.1>\r\n"
        f"Call-ID: guard-1\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
        f"User-Agent: {user_agent}\r\n"
    )
    if pad:
        head += "X-Padding: " + "a" * pad + "\r\n"
    return (head + "Content-Length: 0\r\n\r\n").encode()


def send(guard: SipGuard, count: int, now: float, address: str = FLOODER) -> list[Verdict]:
    return [guard.inspect(options(), address, now) for _ in range(count)]


def reasons(verdicts: list[Verdict]) -> list[DropReason | None]:
    return [verdict.dropped for verdict in verdicts]


def test_a_source_over_the_rate_is_blocked_once_and_then_silently_ignored() -> None:
    guard = SipGuard(POLICY)
    verdicts = send(guard, 8, now=100.0)
    assert reasons(verdicts) == [None] * 5 + [DropReason.RATE] + [DropReason.BLOCKED] * 2
    assert [v.log_block for v in verdicts] == [False] * 5 + [True, False, False]
    assert guard.blocked(FLOODER, 100.0)
    figures = guard.figures(100.0)
    assert figures.blocks == 1 and figures.blocked_sources == 1
    assert figures.dropped[DropReason.RATE] == 1 and figures.dropped[DropReason.BLOCKED] == 2


def test_the_block_ends_after_block_seconds_and_the_source_starts_afresh() -> None:
    guard = SipGuard(POLICY)
    send(guard, 6, now=100.0)
    assert reasons(send(guard, 1, now=159.9)) == [DropReason.BLOCKED]
    assert reasons(send(guard, 5, now=160.0)) == [None] * 5
    assert reasons(send(guard, 1, now=160.1)) == [DropReason.RATE]  # blocked again
    assert guard.figures(160.1).blocks == 2


def test_a_steady_rate_under_the_limit_is_never_blocked() -> None:
    guard = SipGuard(POLICY)
    # 2 a second is 4 per 2 s window, under 5, whatever the phase of the windows.
    verdicts = [guard.inspect(options(), FLOODER, 10.0 + n * 0.5) for n in range(200)]
    assert all(verdict.admitted for verdict in verdicts)


def test_the_window_slides_so_a_burst_across_a_window_edge_is_still_caught() -> None:
    guard = SipGuard(POLICY)
    assert reasons(send(guard, 1, now=10.0)) == [None]  # opens a window [10, 12)
    assert reasons(send(guard, 4, now=11.9)) == [None] * 4
    # A fixed window would take 5 more at 12.1; the sliding one still weighs the 5 sent
    # just before (by the 95 % of the last 2 s that the previous window still covers).
    assert reasons(send(guard, 1, now=12.1)) == [DropReason.RATE]


def test_a_source_sending_nothing_for_two_windows_starts_from_zero() -> None:
    guard = SipGuard(POLICY)
    assert reasons(send(guard, 5, now=0.0)) == [None] * 5
    assert reasons(send(guard, 5, now=4.0)) == [None] * 5


def test_trunk_peers_are_never_blocked_for_their_rate_and_asked_about_rarely() -> None:
    asked: list[str] = []

    def exempt(address: str, now: float) -> bool:
        asked.append(address)
        return address == TRUNK

    guard = SipGuard(POLICY, exempt)
    assert all(v.admitted for v in send(guard, 100, now=5.0, address=TRUNK))
    assert len(asked) <= 100 // POLICY.requests_per_window
    assert reasons(send(guard, 6, now=5.0))[-1] is DropReason.RATE
    assert not guard.blocked(TRUNK, 5.0)


def test_an_exempt_source_is_still_dropped_for_a_scanner_user_agent_or_size() -> None:
    guard = SipGuard(POLICY, lambda address, now: True)
    verdict = guard.inspect(options("friendly-scanner"), TRUNK, 0.0)
    assert verdict.dropped is DropReason.SCANNER
    assert guard.inspect(options(pad=9000), TRUNK, 0.0).dropped is DropReason.OVERSIZE
    assert guard.inspect(options(), TRUNK, 0.0).admitted


@pytest.mark.parametrize(
    "user_agent",
    [
        *("friendly-scanner", "FRIENDLY-SCANNER", "sipvicious 0.3.4", "sipcli/v1.8"),
        *("VaxSIPUserAgent/3.1", "iWar", "sundayddr", "pplsip", "SIPScan 1.0", "sip-scan"),
    ],
)
def test_scanner_user_agents_are_dropped_unanswered(user_agent: str) -> None:
    guard = SipGuard(POLICY)
    assert guard.inspect(options(user_agent), FLOODER, 0.0) == Verdict(
        DropReason.SCANNER, log_scanner=True, user_agent=user_agent
    )
    # One datagram blocks nobody: its source address may be forged.
    assert guard.inspect(options(), FLOODER, 0.0).admitted
    assert guard.figures(0.0).dropped[DropReason.SCANNER] == 1


@pytest.mark.parametrize(
    "user_agent",
    [
        *("Yealink SIP-T46U 66.86.0.15", "Grandstream GXP1628", "SIPp trunk", "Asterisk PBX 20"),
        *("FreeSWITCH-mod_sofia/1.10", "Linphone/5.2", "MicroSIP/3.21"),
    ],
)
def test_phones_and_carriers_are_not_taken_for_scanners(user_agent: str) -> None:
    assert SipGuard(POLICY).inspect(options(user_agent), FLOODER, 0.0).admitted


def test_the_scanner_list_is_configurable_and_can_be_empty() -> None:
    custom = SipGuard(dataclasses.replace(POLICY, scanner_user_agents=("evil-dialer",)))
    assert custom.inspect(options("Evil-Dialer 2"), FLOODER, 0.0).dropped is DropReason.SCANNER
    assert custom.inspect(options("friendly-scanner"), "192.0.2.77", 0.0).admitted
    off = SipGuard(dataclasses.replace(POLICY, scanner_user_agents=()))
    assert off.inspect(options("friendly-scanner"), FLOODER, 0.0).admitted


def test_only_the_user_agent_header_of_the_head_is_looked_at() -> None:
    message = options().replace(
        b"Content-Length: 0\r\n\r\n", b"Content-Length: 24\r\n\r\nUser-Agent: sipvicious\r\n"
    )
    assert user_agents(message) == [b"Yealink SIP-T46U"]
    assert SipGuard(POLICY).inspect(message, FLOODER, 0.0).admitted
    display_name = options().replace(b"<sip:probe@", b'"sipvicious" <sip:probe@')
    assert SipGuard(POLICY).inspect(display_name, FLOODER, 0.0).admitted
    folded = options("friendly-scanner").replace(b"User-Agent: ", b"user-agent  :")
    assert SipGuard(POLICY).inspect(folded, FLOODER, 0.0).dropped is DropReason.SCANNER


def test_datagrams_over_the_size_cap_are_dropped_whatever_they_are() -> None:
    guard = SipGuard(POLICY)
    big = options(pad=POLICY.max_message_bytes)
    assert guard.inspect(big, FLOODER, 0.0) == Verdict(DropReason.OVERSIZE)
    response = b"SIP/2.0 200 OK\r\nX-Padding: " + b"a" * 9000 + b"\r\n\r\n"
    assert guard.inspect(response, FLOODER, 0.0) == Verdict(DropReason.OVERSIZE)
    assert guard.inspect(b"\x00\xff" * 5000, FLOODER, 0.0) == Verdict(DropReason.OVERSIZE)
    # Exactly at the cap is fine; the cap can be turned off.
    exact = options(pad=POLICY.max_message_bytes)[: POLICY.max_message_bytes]
    assert guard.inspect(exact, "192.0.2.5", 0.0).dropped is not DropReason.OVERSIZE
    uncapped = SipGuard(dataclasses.replace(POLICY, max_message_bytes=0))
    assert uncapped.inspect(big, FLOODER, 0.0).admitted


def test_the_transport_answers_an_oversize_request_513_smaller_than_it_and_nothing_else() -> None:
    big = options(pad=POLICY.max_message_bytes)
    answer = malformed_answer(big, "Message Too Large", 513)
    assert answer is not None
    response = parse_message(answer)
    assert isinstance(response, SipResponse) and response.status == 513
    assert response.call_id == "guard-1" and response.cseq.method == "OPTIONS"
    assert len(answer) < len(big)  # never an amplifier
    ack = options(pad=POLICY.max_message_bytes, method="ACK")
    assert malformed_answer(ack, "Message Too Large", 513) is None
    assert malformed_answer(b"\x00\xff" * 5000, "Message Too Large", 513) is None


def test_oversize_datagrams_count_toward_the_rate() -> None:
    guard = SipGuard(POLICY)
    big = options(pad=9000)
    verdicts = [guard.inspect(big, FLOODER, 0.0) for _ in range(7)]
    assert reasons(verdicts) == [DropReason.OVERSIZE] * 5 + [
        DropReason.RATE,
        DropReason.BLOCKED,
    ]


def test_the_source_table_stays_bounded_under_a_flood_from_forged_addresses() -> None:
    guard = SipGuard(dataclasses.replace(POLICY, max_sources=100))
    for n in range(10_000):
        guard.inspect(options(), f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", 0.0)
    figures = guard.figures(0.0)
    assert figures.tracked_sources == 100
    assert figures.forgotten_early == 10_000 - 100


def test_idle_sources_are_forgotten_but_blocked_ones_are_kept_until_their_block_ends() -> None:
    guard = SipGuard(POLICY)
    send(guard, 6, now=0.0)  # blocked until 60
    for n in range(50):
        guard.inspect(options(), f"192.0.2.{n}", 1.0)
    assert guard.figures(1.0).tracked_sources == 51
    guard.inspect(options(), "198.51.100.200", 30.0)  # a newcomer prunes the idle ones
    assert guard.figures(30.0).tracked_sources == 2  # the blocked flooder and the newcomer
    assert guard.blocked(FLOODER, 30.0)
    guard.inspect(options(), "198.51.100.201", 61.0)
    assert guard.figures(61.0).tracked_sources == 1
    assert guard.figures(61.0).forgotten_early == 0


def test_a_flooder_that_keeps_sending_stays_in_a_full_table() -> None:
    guard = SipGuard(dataclasses.replace(POLICY, max_sources=10))
    send(guard, 6, now=0.0)
    for n in range(1000):
        guard.inspect(options(), f"10.0.{n // 256}.{n % 256}", 0.0)
        if n % 5 == 0:
            guard.inspect(options(), FLOODER, 0.0)  # each packet makes it the freshest
    assert guard.blocked(FLOODER, 0.0)


def test_a_flood_of_blocks_from_forged_addresses_logs_a_few_lines_and_counts_the_rest() -> None:
    guard = SipGuard(POLICY)
    logged = []
    for n in range(100):
        verdicts = send(guard, 6, now=0.0, address=f"10.0.0.{n}")
        assert verdicts[-1].dropped is DropReason.RATE
        logged += [v for v in verdicts if v.log_block]
    assert len(logged) == LOGGED_BLOCKS_PER_MINUTE
    assert all(v.unlogged_blocks == 0 for v in logged)
    later = send(guard, 6, now=60.0, address="10.0.1.1")[-1]
    assert later.log_block and later.unlogged_blocks == 100 - LOGGED_BLOCKS_PER_MINUTE
    assert guard.figures(60.0).blocks == 101


def test_block_seconds_zero_drops_only_what_is_over_the_rate() -> None:
    guard = SipGuard(dataclasses.replace(POLICY, block_seconds=0))
    verdicts = send(guard, 7, now=0.0)
    assert reasons(verdicts) == [None] * 5 + [DropReason.RATE] * 2
    assert not any(v.log_block for v in verdicts)
    assert guard.figures(0.0).blocks == 0


def test_a_zero_rate_turns_the_rate_limit_off() -> None:
    guard = SipGuard(dataclasses.replace(POLICY, requests_per_window=0))
    assert all(v.admitted for v in send(guard, 1000, now=0.0))


def test_ipv6_sources_are_limited_per_64_and_mapped_ipv4_as_ipv4() -> None:
    same_lan = "2001:db8:1:2::/64"
    assert source_key("2001:db8:1:2::1") == source_key("2001:db8:1:2:ffff::9") == same_lan
    assert source_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert source_key("192.0.2.1") == "192.0.2.1"
    guard = SipGuard(POLICY)
    verdicts = [guard.inspect(options(), f"2001:db8:1:2::{n:x}", 0.0) for n in range(1, 8)]
    assert reasons(verdicts)[5] is DropReason.RATE


def test_the_default_policy_is_kamailio_pike_with_the_usual_scanner_list() -> None:
    policy = GuardPolicy()
    assert (policy.requests_per_window, policy.window_seconds) == (30, 2.0)
    assert policy.max_message_bytes == 8192
    assert "friendly-scanner" in SCANNER_USER_AGENTS and policy.scanner_user_agents


@pytest.mark.parametrize(
    "change",
    [
        {"requests_per_window": -1},
        {"window_seconds": 0},
        {"block_seconds": -5},
        {"max_message_bytes": -1},
        {"max_sources": 0},
        {"scanner_user_agents": ("friendly-scanner", " ")},
    ],
)
def test_impossible_policies_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        GuardPolicy(**change)  # type: ignore[arg-type]


def test_scanner_drops_are_logged_with_their_user_agent_a_few_a_minute() -> None:
    guard = SipGuard(POLICY)
    verdicts = [
        guard.inspect(options("friendly-scanner\x07 v1"), f"10.1.0.{n}", 0.0) for n in range(30)
    ]
    assert all(v.dropped is DropReason.SCANNER for v in verdicts)
    logged = [v for v in verdicts if v.log_scanner]
    assert len(logged) == LOGGED_SCANNERS_PER_MINUTE
    assert logged[0].user_agent == "friendly-scanner? v1"  # control characters replaced
    later = guard.inspect(options("sipvicious"), "10.1.1.1", 60.0)
    assert later.log_scanner and later.unlogged_scanners == 30 - LOGGED_SCANNERS_PER_MINUTE
    assert guard.figures(60.0).dropped[DropReason.SCANNER] == 31
