"""The 49 RFC 4475 torture messages: what parses, what is refused, what an endpoint answers."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import pytest

from telephony.digest import DigestCredentials
from telephony.gateway import KNOWN_METHODS
from telephony.sip import (
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    parse_message,
    request_summary_for_400,
)

# The RFC's own test vectors, kept in the repository with their provenance (README.md there).
TORTURE = Path(__file__).resolve().parents[1] / "data" / "rfc4475"

# Class (README table) and what an endpoint built on this parser does with the message:
# a response status, "drop" (no answer: stray or broken responses) or "accept" (handled
# normally). Where the RFC leaves a choice, the comment says which one this is.
EXPECTED: dict[str, tuple[str, int | str]] = {
    "wsinv": ("valid", "accept"),
    "intmeth": ("valid", 501),  # well-formed, but an unknown method
    "esc01": ("valid", "accept"),
    "escnull": ("valid", "accept"),
    "esc02": ("valid", 501),  # RE%47IST%45R is not REGISTER
    "lwsdisp": ("valid", "accept"),
    "longreq": ("valid", "accept"),
    "dblreq": ("valid", "accept"),
    "semiuri": ("valid", "accept"),
    "transports": ("valid", "accept"),
    "mpart01": ("valid", 405),  # MESSAGE is a method the gateway knows but does not allow
    "unreason": ("valid", "drop"),
    "noreason": ("valid", "drop"),
    "badinv01": ("invalid", 400),
    "clerr": ("invalid", 400),
    "ncl": ("invalid", 400),
    "scalar02": ("invalid", 400),
    "scalarlg": ("invalid", "drop"),
    "quotbal": ("invalid", 400),
    "ltgtruri": ("invalid", 400),
    "lwsruri": ("invalid", 400),
    "lwsstart": ("invalid", 400),
    "trws": ("invalid", 400),
    "escruri": ("invalid", 400),
    "baddate": ("invalid", "accept"),  # the Date value does not matter to us: ignored
    "regbadct": ("invalid", 400),
    "badaspec": ("invalid", 400),
    "baddn": ("invalid", 400),
    "badvers": ("invalid", 505),
    "mismatch01": ("invalid", 400),
    "mismatch02": ("invalid", 400),  # 501 would also do; the CSeq mismatch is found first
    "bigcode": ("invalid", "drop"),
    "badbranch": ("semantics", 400),
    "insuf": ("semantics", "drop"),  # a 400 without Call-ID/From/To would be unparseable too
    "unkscm": ("semantics", 416),
    "novelsc": ("semantics", 416),
    "unksm2": ("semantics", 400),
    "bext01": ("semantics", 420),
    "invut": ("semantics", 415),
    "regaut01": ("semantics", 401),
    "multi01": ("semantics", 400),
    "mcl01": ("semantics", 400),
    "bcast": ("semantics", "drop"),
    "zeromf": ("semantics", "accept"),  # an endpoint, not a proxy: Max-Forwards 0 is fine
    "cparam01": ("semantics", "accept"),
    "cparam02": ("semantics", "accept"),
    "regescrt": ("semantics", "accept"),
    "sdp01": ("semantics", 406),
    "inv2543": ("backward-compat", "accept"),
}
IMPLEMENTED = {"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER"}


def torture(name: str) -> bytes:
    return (TORTURE / f"{name}.dat").read_bytes()


def endpoint_verdict(data: bytes) -> int | str:
    """What a UAS on this parser answers, in RFC 4475's order of concerns."""
    try:
        message = parse_message(data)
    except SipParseError:
        summary = request_summary_for_400(data)
        return "drop" if summary is None or summary.method == "ACK" else 400
    if isinstance(message, SipResponse):
        return "drop"  # no client transaction of ours matches any of these
    if message.version != "SIP/2.0":
        return 505
    if message.method not in IMPLEMENTED:
        return 405 if message.method in KNOWN_METHODS else 501
    try:
        message.request_uri  # noqa: B018
    except SipParseError:
        return 416
    if message.headers.get_all("Require"):
        return 420  # the gateway supports no extensions
    if message.vias[0].branch == "z9hG4bK":
        return 400  # the magic cookie alone identifies no transaction (RFC 4475 §3.2.1)
    content_type = (message.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if message.body and content_type != "application/sdp":
        return 415
    accept = [value.split(";")[0].strip().lower() for value in message.headers.get_all("Accept")]
    if message.method == "INVITE" and accept and "application/sdp" not in accept:
        return 406
    authorization = message.headers.get("Authorization")
    if message.method == "REGISTER" and authorization is not None:
        try:
            DigestCredentials.parse(authorization)
        except ValueError:
            return 401  # challenge again with the scheme we understand
    return "accept"


def test_all_49_messages_are_there() -> None:
    assert TORTURE.is_dir(), f"RFC 4475 messages missing: {TORTURE}"
    assert sorted(p.stem for p in TORTURE.glob("*.dat")) == sorted(EXPECTED)
    readme = (TORTURE / "README.md").read_text(encoding="utf-8")
    for name, (klass, _) in EXPECTED.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}.dat`"))
        assert f"| {klass} |" in row, name


def test_messages_are_the_rfc_bytes() -> None:
    """Each file has the length and SHA-256 prefix its provenance table records."""
    rows = re.findall(
        r"^\| `(\w+)\.dat` .*\| (\d+) \| `([0-9a-f]{16})` \|$",
        (TORTURE / "README.md").read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert sorted(name for name, _, _ in rows) == sorted(EXPECTED)
    for name, size, digest in rows:
        data = (TORTURE / f"{name}.dat").read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()[:16]) == (int(size), digest), name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_message_draws_the_expected_endpoint_answer(name: str) -> None:
    assert endpoint_verdict(torture(name)) == EXPECTED[name][1]


@pytest.mark.parametrize("name", sorted(n for n, (k, _) in EXPECTED.items() if k == "valid"))
def test_valid_messages_parse(name: str) -> None:
    message = parse_message(torture(name))
    if isinstance(message, SipRequest):
        assert (message.cseq.method, message.version) == (message.method, "SIP/2.0")
    assert message.vias and message.call_id


@pytest.mark.parametrize("name", sorted(n for n, (k, _) in EXPECTED.items() if k == "invalid"))
def test_invalid_messages_are_refused_or_rejected(name: str) -> None:
    try:
        parse_message(torture(name))
    except SipParseError:
        return
    verdict = EXPECTED[name][1]
    # baddate is the one the RFC lets an endpoint that ignores Date accept.
    assert verdict != "accept" or name == "baddate"
    assert endpoint_verdict(torture(name)) == verdict


def request(name: str) -> SipRequest:
    message = parse_message(torture(name))
    assert isinstance(message, SipRequest)
    return message


def test_wsinv_whitespace_folding_and_mixed_forms() -> None:
    invite = request("wsinv")
    assert invite.headers.get("Max-Forwards") == "0068" and invite.cseq.number == 9
    assert invite.to.tag == "1918181833n" and invite.from_.tag == "98asjd8"
    assert invite.from_.display == 'J Rosenberg \\"'
    assert [(v.transport, v.branch) for v in invite.vias] == [
        ("UDP", "390skdjuw"),
        ("TCP", "z9hG4bK9ikj8"),
        ("UDP", "z9hG4bK30239"),
    ]
    contact = NameAddr.parse(invite.headers.get_all("Contact")[0])
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert invite.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert invite.headers.get("Subject") == "" and len(invite.body) == 150


def test_intmeth_unusual_but_legal_characters() -> None:
    message = request("intmeth")
    assert message.method == "!interesting-Method0123456789_*+`.%indeed'~"
    uri = message.request_uri
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert message.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert message.from_.display == "token1~` token2'+_ token3*%!.-"
    assert message.from_.tag == "_token~1'+`*%!-."
    assert message.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert message.headers.get("extensionHeader-!.%*+_`'~") is not None


def test_escapes_are_kept_not_decoded() -> None:
    esc01 = request("esc01")
    assert esc01.request_uri.user == "sips%3Auser%40example.com"
    assert esc01.from_.uri.user == "I%20have%20spaces"
    contact = NameAddr.parse(esc01.headers.get("Contact") or "")
    assert contact.uri.params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}
    escnull = request("escnull")
    assert escnull.to.uri.user == "null-%00-null"
    users = [NameAddr.parse(c).uri.user for c in escnull.headers.get_all("Contact")]
    assert users == ["%00", "%00%00"]


def test_esc02_is_not_register_and_has_two_contacts() -> None:
    message = request("esc02")
    assert message.method == "RE%47IST%45R" and message.method != "REGISTER"
    assert len(message.headers.get_all("Contact")) == 2
    assert message.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_lwsdisp_longreq_semiuri_transports() -> None:
    assert request("lwsdisp").from_.display == "caller"
    longreq = request("longreq")
    assert len(longreq.vias) == 34 and len(longreq.body) == 150
    assert (longreq.to.display or "").startswith("I have a user name of extreme")
    assert longreq.to.uri.port == 6000
    semiuri = request("semiuri")
    assert semiuri.request_uri.user == "user;par=u%40example.net"
    assert semiuri.request_uri.host == "example.com"
    transports = [v.transport for v in request("transports").vias]
    assert transports == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_dblreq_honours_content_length() -> None:
    message = request("dblreq")
    assert message.method == "REGISTER" and message.body == b""
    assert message.call_id.startswith("dblreq.0ha0isndaksdj99")


def test_mpart01_binary_body_is_framed_by_content_length() -> None:
    message = request("mpart01")
    assert len(message.body) == 553 and b"\x00" in message.body
    assert message.body.endswith(b"--7a9cbec02ceef655--\r\n")


def test_responses_with_unusual_reason_phrases() -> None:
    unreason = parse_message(torture("unreason"))
    assert isinstance(unreason, SipResponse) and unreason.status == 200
    assert unreason.reason.startswith("= 2**3 * 5**2 но сто")
    noreason = parse_message(torture("noreason"))
    assert isinstance(noreason, SipResponse) and (noreason.status, noreason.reason) == (100, "")


def test_badvers_keeps_the_version_and_enough_to_answer() -> None:
    message = request("badvers")
    assert message.version == "SIP/7.0" and message.vias[0].protocol == "SIP/7.0"


def test_contact_parameters_and_escaped_headers_in_registrations() -> None:
    cparam01 = NameAddr.parse(request("cparam01").headers.get("Contact") or "")
    assert cparam01.params == {"unknownparam": None} and cparam01.uri.params == {}
    cparam02 = NameAddr.parse(request("cparam02").headers.get("Contact") or "")
    assert cparam02.params == {} and cparam02.uri.params == {"unknownparam": None}
    regescrt = NameAddr.parse(request("regescrt").headers.get("Contact") or "")
    assert regescrt.uri.headers == "Route=%3Csip:sip.example.com%3E"
    assert str(regescrt.uri) == "sip:user@example.com?Route=%3Csip:sip.example.com%3E"


def test_inv2543_without_content_length_takes_the_rest_as_body() -> None:
    message = request("inv2543")
    assert message.body.startswith(b"v=0\r\n") and message.body.endswith(b"RTP/AVP 0\r\n")
    assert message.vias[0].branch is None and message.from_.tag is None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_message_or_mutation_raises_anything_but_a_parse_error(name: str) -> None:
    data = torture(name)
    rng = random.Random(name)
    samples = [data, data[: len(data) // 2], data[::-1], data.replace(b"\r\n", b"\n")]
    for _ in range(60):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        samples.append(bytes(mutated))
    for sample in samples:
        try:
            parse_message(sample)
        except SipParseError:
            request_summary_for_400(sample)
