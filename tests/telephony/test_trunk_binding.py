"""The trunk registration's timing and answers, without an event loop: `now` is a number."""

from __future__ import annotations

import pytest

from telephony.digest import DigestCredentials, challenge_header, ha1, verify
from telephony.sip import Headers, SipResponse, reason_phrase
from telephony.trunk_binding import (
    RETRY_MAX_SECONDS,
    RegisterRequest,
    TrunkAccount,
    TrunkBinding,
    TrunkState,
)

ACCOUNT = TrunkAccount("12319", "carrier.example", "hotline", "s3cret", 300)
CONTACT = "sip:12319@192.0.2.10:5060"
CHALLENGE = challenge_header("carrier.example", "nonce-1")


def answer(request: RegisterRequest, status: int, *headers: tuple[str, str]) -> SipResponse:
    return SipResponse(
        status, reason_phrase(status), Headers([("CSeq", f"{request.cseq} REGISTER"), *headers])
    )


def challenge(request: RegisterRequest, value: str = CHALLENGE) -> SipResponse:
    return answer(request, 401, ("WWW-Authenticate", value))


def granted(request: RegisterRequest, seconds: int) -> SipResponse:
    return answer(request, 200, ("Contact", f"<{CONTACT}>;expires={seconds}"))


def checks_out(request: RegisterRequest, nc: str = "00000001") -> DigestCredentials:
    assert request.authorization is not None
    name, value = request.authorization
    creds = DigestCredentials.parse(value)
    assert name == "Authorization" and creds.uri == "sip:carrier.example" and creds.nc == nc
    assert verify(creds, "REGISTER", ha1("hotline", "carrier.example", "s3cret"))
    return creds


def registered(now: float = 0.0, seconds: int = 120) -> TrunkBinding:
    binding = TrunkBinding(ACCOUNT, jitter=lambda: 1.0)
    binding.start(now, CONTACT)
    binding.on_response(now, challenge(binding.request(now)))
    binding.on_response(now, granted(binding.request(now), seconds))
    return binding


def test_first_register_is_challenged_then_answered_with_digest_at_once() -> None:
    binding = TrunkBinding(ACCOUNT)
    binding.start(10.0, CONTACT)
    assert binding.next_at == 10.0 and binding.state is TrunkState.REGISTERING
    first = binding.request(10.0)
    assert (first.cseq, first.expires, first.authorization) == (1, 300, None)
    assert binding.next_at is None  # nothing more until it is answered

    binding.on_response(10.1, challenge(first))
    assert binding.next_at == 10.1 and binding.failures == 0
    second = binding.request(10.1)
    assert second.cseq == 2
    assert checks_out(second).nonce == "nonce-1"

    binding.on_response(10.2, granted(second, 120))
    status = binding.status(10.2)
    assert status.state is TrunkState.REGISTERED and status.registered
    assert status.registrations == 1 and status.last_error is None
    assert binding.next_at == pytest.approx(70.2)  # half of the 120 s granted
    assert status.expires_in == pytest.approx(120.0)


@pytest.mark.parametrize(
    "headers, seconds",
    [
        ([("Contact", f"<{CONTACT}>;expires=90"), ("Expires", "3600")], 90),
        ([("Contact", "<sip:12319@198.51.100.7:5060>;expires=10"), ("Expires", "200")], 200),
        ([("Contact", f"<{CONTACT};transport=udp>;expires=40, <sip:x@h>;expires=5")], 40),
        ([], 300),  # nothing said: what was asked for
    ],
)
def test_the_granted_lifetime_is_our_contacts_else_the_expires_header(
    headers: list[tuple[str, str]], seconds: int
) -> None:
    binding = TrunkBinding(ACCOUNT)
    binding.start(0.0, CONTACT)
    binding.on_response(0.0, answer(binding.request(0.0), 200, *headers))
    assert binding.next_at == pytest.approx(seconds / 2)


def test_a_refresh_reuses_the_nonce_with_the_next_count_and_a_new_cseq() -> None:
    binding = registered(seconds=60)
    assert binding.next_at == 30.0
    refresh = binding.request(30.0)
    assert refresh.cseq == 3 and refresh.expires == 300
    assert checks_out(refresh, nc="00000002").nonce == "nonce-1"
    binding.on_response(30.05, granted(refresh, 60))
    assert binding.status(30.05).registrations == 2 and binding.next_at == pytest.approx(60.05)


def test_a_stale_nonce_is_answered_at_once_with_the_new_one_and_is_no_failure() -> None:
    binding = registered(seconds=60)
    refresh = binding.request(30.0)
    stale = challenge_header("carrier.example", "nonce-2", stale=True)
    binding.on_response(30.01, challenge(refresh, stale))
    assert binding.next_at == 30.01 and binding.state is TrunkState.REGISTERED
    again = binding.request(30.01)
    assert checks_out(again).nonce == "nonce-2"
    # Even to the credentials just computed, the registrar may say stale again: answered too.
    binding.on_response(30.02, challenge(again, challenge_header("c", "nonce-3", stale=True)))
    assert binding.next_at == 30.02 and binding.failures == 0
    binding.on_response(30.03, granted(binding.request(30.02), 60))
    assert binding.failures == 0 and binding.status(30.03).registrations == 2


def test_a_new_nonce_for_reused_credentials_is_answered_but_refused_fresh_ones_fail() -> None:
    binding = registered(seconds=60)
    binding.on_response(30.0, challenge(binding.request(30.0), challenge_header("c", "nonce-2")))
    assert binding.next_at == 30.0  # the old nonce expired: answered with the new one
    binding.on_response(30.1, challenge(binding.request(30.0), challenge_header("c", "nonce-3")))
    status = binding.status(30.1)
    assert status.state is TrunkState.FAILING and status.failures == 1
    assert status.last_error == "401 Unauthorized (credentials refused)"
    assert status.registered  # the binding granted at 0 s lasts until 60 s
    assert binding.next_at == pytest.approx(32.1)
    # The next attempt starts without the refused nonce.
    assert binding.request(32.1).authorization is None


def test_a_challenge_without_credentials_configured_is_a_failure() -> None:
    binding = TrunkBinding(TrunkAccount("12319", "carrier.example", "12319", "", 300), lambda: 1)
    binding.start(0.0, CONTACT)
    binding.on_response(0.0, challenge(binding.request(0.0)))
    assert binding.state is TrunkState.FAILING and "no credentials" in (binding.last_error or "")


def test_failures_back_off_exponentially_up_to_a_cap_and_never_stop() -> None:
    binding = TrunkBinding(ACCOUNT, jitter=lambda: 1.0)
    binding.start(0.0, CONTACT)
    now, waits = 0.0, []
    for _ in range(12):
        binding.request(now)
        binding.on_failure(now, "408 Request Timeout (no answer, Timer F)")
        assert binding.next_at is not None
        waits.append(binding.next_at - now)
        now = binding.next_at
    assert waits[:6] == [2.0, 4.0, 8.0, 16.0, 32.0, RETRY_MAX_SECONDS]
    assert waits[-1] == RETRY_MAX_SECONDS
    status = binding.status(now)
    assert status.state is TrunkState.FAILING and not status.registered
    assert status.failures == 12 and status.last_error is not None
    binding.on_response(now, granted(binding.request(now), 120))
    assert binding.status(now).failures == 0 and binding.state is TrunkState.REGISTERED


def test_jitter_spreads_a_retry_over_the_second_half_of_its_backoff() -> None:
    early = TrunkBinding(ACCOUNT, jitter=lambda: 0.0)
    early.start(0.0, CONTACT)
    early.request(0.0)
    early.on_response(0.0, answer(RegisterRequest(1, 300, None), 503))
    assert early.next_at == 1.0  # half of the first 2 s


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    binding = TrunkBinding(ACCOUNT, jitter=lambda: 1.0)
    binding.start(0.0, CONTACT)
    binding.on_response(0.0, answer(binding.request(0.0), 503, ("Retry-After", "30 (busy)")))
    assert binding.next_at == 30.0 and binding.last_error == "503 Service Unavailable"
    binding.on_response(30.0, answer(binding.request(30.0), 503, ("Retry-After", "86400")))
    assert binding.next_at == 30.0 + RETRY_MAX_SECONDS


def test_interval_too_brief_raises_the_lifetime_for_this_and_every_later_register() -> None:
    binding = TrunkBinding(ACCOUNT)
    binding.start(0.0, CONTACT)
    binding.on_response(0.0, answer(binding.request(0.0), 423, ("Min-Expires", "600")))
    assert binding.next_at == 0.0 and binding.failures == 0
    retry = binding.request(0.0)
    assert retry.expires == 600
    binding.on_response(0.0, answer(retry, 200, ("Expires", "600")))
    assert binding.next_at == 300.0
    assert binding.request(300.0).expires == 600


@pytest.mark.parametrize("min_expires", [None, "300", "120", "soon"])
def test_interval_too_brief_without_a_longer_minimum_is_a_failure(min_expires: str | None) -> None:
    binding = TrunkBinding(ACCOUNT, jitter=lambda: 1.0)
    binding.start(0.0, CONTACT)
    headers = [] if min_expires is None else [("Min-Expires", min_expires)]
    binding.on_response(0.0, answer(binding.request(0.0), 423, *headers))
    assert binding.state is TrunkState.FAILING and binding.next_at == 2.0


def test_a_200_that_grants_our_contact_nothing_is_a_failure() -> None:
    binding = TrunkBinding(ACCOUNT, jitter=lambda: 1.0)
    binding.start(0.0, CONTACT)
    binding.on_response(0.0, granted(binding.request(0.0), 0))
    assert binding.state is TrunkState.FAILING and not binding.status(0.0).registered


def test_responses_to_other_requests_and_provisional_ones_change_nothing() -> None:
    binding = TrunkBinding(ACCOUNT)
    binding.start(0.0, CONTACT)
    current = binding.request(0.0)
    binding.on_response(0.1, answer(current, 100))
    binding.on_response(0.1, granted(RegisterRequest(current.cseq - 1, 300, None), 60))
    assert binding.next_at is None and binding.state is TrunkState.REGISTERING


def test_the_binding_lapses_when_refreshes_keep_failing() -> None:
    binding = registered(seconds=60)
    binding.request(30.0)
    binding.on_failure(62.0, "408 Request Timeout (no answer, Timer F)")
    status = binding.status(62.0)
    assert not status.registered and status.expires_in is None
    assert status.state is TrunkState.FAILING and status.next_register_in == 2.0


def test_stop_removes_the_binding_with_expires_zero_and_credentials() -> None:
    binding = registered(seconds=60)
    binding.stop(10.0)
    assert binding.next_at == 10.0 and not binding.finished
    last = binding.request(10.0)
    assert last.expires == 0
    checks_out(last, nc="00000002")
    binding.on_response(10.1, answer(last, 200))
    assert binding.finished and binding.state is TrunkState.UNREGISTERED
    assert not binding.status(10.1).registered and binding.next_at is None


def test_stop_during_a_refresh_removes_what_the_refresh_renewed() -> None:
    binding = registered(seconds=60)
    refresh = binding.request(30.0)
    binding.stop(30.0)
    assert binding.next_at is None and not binding.finished  # the refresh is still out
    binding.on_response(30.1, granted(refresh, 60))
    assert binding.next_at == 30.1
    assert binding.request(30.1).expires == 0


def test_stop_before_any_binding_sends_nothing() -> None:
    binding = TrunkBinding(ACCOUNT)
    binding.start(0.0, CONTACT)
    binding.stop(0.0)
    assert binding.finished and binding.state is TrunkState.UNREGISTERED


def test_a_failed_unregistration_finishes_without_retrying() -> None:
    binding = registered(seconds=60)
    binding.stop(10.0)
    binding.request(10.0)
    binding.on_failure(42.0, "408 Request Timeout (no answer, Timer F)")
    assert binding.finished and binding.next_at is None


def test_of_several_challenges_the_md5_one_is_answered() -> None:
    binding = TrunkBinding(ACCOUNT)
    binding.start(0.0, CONTACT)
    sha = 'Digest realm="carrier.example", nonce="sha-nonce", algorithm=SHA-256, qop="auth"'
    first = binding.request(0.0)
    binding.on_response(
        0.0, answer(first, 401, ("WWW-Authenticate", sha), ("WWW-Authenticate", CHALLENGE))
    )
    assert checks_out(binding.request(0.0)).nonce == "nonce-1"


@pytest.mark.parametrize(
    "headers",
    [[], [("WWW-Authenticate", 'Digest realm="c", nonce="n", algorithm=SHA-256')]],
)
def test_a_challenge_we_cannot_answer_is_a_failure(headers: list[tuple[str, str]]) -> None:
    binding = TrunkBinding(ACCOUNT, jitter=lambda: 1.0)
    binding.start(0.0, CONTACT)
    binding.on_response(0.0, answer(binding.request(0.0), 401, *headers))
    assert binding.state is TrunkState.FAILING and binding.next_at == 2.0
    assert binding.last_error == "401 without an MD5 digest challenge"


def test_a_proxy_challenge_is_answered_with_proxy_authorization() -> None:
    binding = TrunkBinding(ACCOUNT)
    binding.start(0.0, CONTACT)
    binding.on_response(0.0, answer(binding.request(0.0), 407, ("Proxy-Authenticate", CHALLENGE)))
    retry = binding.request(0.0)
    assert retry.authorization is not None and retry.authorization[0] == "Proxy-Authorization"
