"""The gateway under a replay of malformed INVITEs: does it stay responsive, does memory return?

    python bench/bench_malformed.py                       # 3000 INVITEs at 150 per second
    python bench/bench_malformed.py --count 6000 --rate 200 --after 60

A hotline is started from a fresh process (demo config, SQLite in a temporary directory).
The bench generates its own corpus: mutations of one well-formed INVITE in the Via, CSeq,
request line, headers and SDP (some mutations leave it well-formed, so some calls are
answered), each with its own Call-ID and branch, sent from the trunk's address (so the flood
guard, which exempts trunk peers, lets it through) and never ACKed. Meanwhile another socket
of the trunk sends an OPTIONS every 50 ms, as an SBC's keep-alive would, and /metrics is
fetched every second.

Prints, for idle (before), the burst (during) and the minute after it: OPTIONS round trip
p50/p99 and losses, /metrics latency p50/max, resident set size; and how the corpus was
answered. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gateway_peers import Process, start_process  # noqa: E402
from tests.support.sipp import free_ports  # noqa: E402

PROBE_INTERVAL = 0.05
PROBE_TIMEOUT = 2.0
METRICS_INTERVAL = 1.0
IDLE_SECONDS = 10.0

SDP = (
    "v=0\r\no=trunk 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
)


def well_formed(gateway: tuple[str, int], source: tuple[str, int], n: int) -> dict[str, str]:
    """The parts of one well-formed INVITE, to be mutated and then joined."""
    host, port = source
    return {
        "start": f"INVITE sip:12319@{gateway[0]}:{gateway[1]} SIP/2.0",
        "end": "\r\n",
        "via": f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK-mal-{n};rport",
        "from": f"<sip:1390000{n % 10000:04d}@{host}>;tag=m{n}",
        "to": f"<sip:12319@{gateway[0]}>",
        "call_id": f"malformed-{n}@bench",
        "cseq": "1 INVITE",
        "extra": "",
        "address": "127.0.0.1",
        "media_port": str(40000 + 2 * (n % 1000)),
        "sdp_extra": "",
    }


def assemble(parts: dict[str, str]) -> bytes:
    body = SDP.format(address=parts["address"], port=parts["media_port"]) + parts["sdp_extra"]
    data = body.encode("utf-8", "surrogateescape")
    head = (
        parts["start"]
        + parts["end"]
        + f"Via: {parts['via']}\r\nFrom: {parts['from']}\r\nTo: {parts['to']}\r\n"
        f"Call-ID: {parts['call_id']}\r\nCSeq: {parts['cseq']}\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:caller@{parts['via'].split()[-1].split(';')[0]}>\r\n"
        + parts["extra"]
        + f"Content-Type: application/sdp\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode("utf-8", "surrogateescape") + data


Mutation = Callable[[dict[str, str], random.Random], None]


def _set(key: str, *values: str) -> Mutation:
    def mutate(parts: dict[str, str], rng: random.Random) -> None:
        parts[key] = rng.choice(values).format(**parts)

    return mutate


MUTATIONS: dict[str, list[Mutation]] = {
    "via": [
        _set(
            "via",
            "SIP/.0/UDP 127.0.0.1;branch=z9hG4bK{call_id}",
            "SIP/99999.0/UDP 127.0.0.1;branch=z9hG4bK{call_id}",
            "SIP/2.....0/UDP 127.0.0.1;branch=z9hG4bK{call_id}",
            "SIP/2.0/UDP 127.0.0.1:99999;branch=z9hG4bK{call_id}",
            "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK",
            "SIP/2.0/UDP ;branch=z9hG4bK{call_id}",
            "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK{call_id};rport=abc",
            "SIP/2.0/UDP " + "a" * 3000 + ";branch=z9hG4bK{call_id}",
            "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK{call_id}, junk",
        )
    ],
    "cseq": [
        _set(
            "cseq",
            "2147483648 INVITE",
            "4294967296 INVITE",
            "-1 INVITE",
            "1 BYE",
            "one INVITE",
            "1" * 5000 + " INVITE",
            "1 INV\x00ITE",
        )
    ],
    "request line": [
        _set("end", "\n"),
        _set(
            "start",
            "INVITE sip:12319@127.0.0.1 SIP/2.....0",
            "INVITE sip:12319@127.0.0.1 SIP/7.0",
            "INVITE  sip:12319@127.0.0.1 SIP/2.0",
            "INVITE sip:12319@127.0.0.1:0 SIP/2.0",
            "INVITE <sip:12319@127.0.0.1> SIP/2.0",
            "INVITE sip:12319@127.0.0.1?Route=x SIP/2.0",
            "INVITE sip:" + "9" * 4000 + "@127.0.0.1 SIP/2.0",
        ),
    ],
    "headers": [
        _set(
            "extra",
            "Content-Length: 0\r\n",
            "X-Junk: " + "x" * 6000 + "\r\n",
            "X-Folded: a\r\n b\r\n c\r\n",
            "Bad Header: x\r\n",
            "Require: 100rel, timer\r\n",
            "Max-Forwards: abc\r\n",
            "To: <sip:other@127.0.0.1>\r\n",
            "".join(f"X-Many-{i}: {i}\r\n" for i in range(200)),
            "P-Asserted-Identity: <sip:13800138000@127.0.0.1>\r\n",  # still well-formed
        ),
        _set("from", "<sip:@127.0.0.1>;tag=x", '"unterminated <sip:a@127.0.0.1>', "garbage"),
        _set("call_id", "", "a b c"),
    ],
    "sdp": [
        _set(
            "address",
            "10.0.0.\x001",
            "１０.０.０.１",
            "10.10.10.4095",
            "media.example.com",
            "::1",
            "",
        ),
        _set("media_port", "70000", "-1", "x", "0"),
        _set(
            "sdp_extra", "m=video 4000 RTP/AVP 96\r\nc=IN IP4 bad\r\n", "a=" + "z" * 4000 + "\r\n"
        ),
    ],
}


def corpus(
    count: int, gateway: tuple[str, int], source: tuple[str, int], seed: int
) -> tuple[list[bytes], Counter[str]]:
    rng = random.Random(seed)
    kinds: Counter[str] = Counter()
    messages = []
    for n in range(count):
        parts = well_formed(gateway, source, n)
        kind = rng.choice(sorted(MUTATIONS))
        rng.choice(MUTATIONS[kind])(parts, rng)
        if rng.random() < 0.3:  # a second fault of another kind now and then
            other = rng.choice(sorted(MUTATIONS))
            rng.choice(MUTATIONS[other])(parts, rng)
        kinds[kind] += 1
        messages.append(assemble(parts))
    return messages, kinds


class Answers(asyncio.DatagramProtocol):
    """Counts what the gateway sends back: responses by status code, requests by method (the
    BYEs that end answers never ACKed, with their retransmissions)."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.startswith(b"SIP/2.0 "):
            self.statuses[data[8:11].decode("ascii", "replace")] += 1
        else:
            self.statuses[data.split(b" ", 1)[0].decode("ascii", "replace")] += 1


class Prober(asyncio.DatagramProtocol):
    """OPTIONS every PROBE_INTERVAL; round trips by phase."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.rtts: dict[str, list[float]] = {}
        self.lost: Counter[str] = Counter()
        self.phase = "idle"
        self._phase_of: dict[str, str] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        start = data.find(b"Call-ID: ")
        call_id = data[start + 9 : data.find(b"\r\n", start)].decode()
        sent = self.sent.pop(call_id, None)
        if sent is not None:
            phase = self._phase_of.pop(call_id)
            self.rtts.setdefault(phase, []).append(time.monotonic() - sent)

    def expire(self) -> None:
        now = time.monotonic()
        for call_id, sent in list(self.sent.items()):
            if now - sent > PROBE_TIMEOUT:
                del self.sent[call_id]
                self.lost[self._phase_of.pop(call_id)] += 1

    def options(self, gateway: tuple[str, int], source: tuple[str, int], n: int) -> bytes:
        call_id = f"probe-{n}"
        self.sent[call_id] = time.monotonic()
        self._phase_of[call_id] = self.phase
        return (
            f"OPTIONS sip:{gateway[0]}:{gateway[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {source[0]}:{source[1]};branch=z9hG4bK-probe-{n};rport\r\n"
            f"From: <sip:probe@{source[0]}>;tag=p\r\nTo: <sip:{gateway[0]}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()


@dataclass
class Phases:
    metrics_ms: dict[str, list[float]] = field(default_factory=dict)
    metrics_failed: Counter[str] = field(default_factory=Counter)
    rss: dict[str, list[float]] = field(default_factory=dict)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def _fetch(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()
            return bool(response.status == 200)
    except OSError:
        return False


async def run(server: Process, sip_port: int, console: str, args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    gateway = ("127.0.0.1", sip_port)
    replay_transport, answers = await loop.create_datagram_endpoint(
        Answers, local_addr=("127.0.0.1", 0)
    )
    probe_transport, prober = await loop.create_datagram_endpoint(
        Prober, local_addr=("127.0.0.1", 0)
    )
    replay_source = replay_transport.get_extra_info("sockname")[:2]
    probe_source = probe_transport.get_extra_info("sockname")[:2]
    messages, kinds = corpus(args.count, gateway, replay_source, args.seed)
    phases = Phases()
    stop = asyncio.Event()

    async def probe() -> None:
        n = 0
        next_at = loop.time()
        while not stop.is_set():
            n += 1
            probe_transport.sendto(prober.options(gateway, probe_source, n), gateway)
            prober.expire()
            next_at += PROBE_INTERVAL
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def watch() -> None:
        while not stop.is_set():
            phase = prober.phase
            started = time.monotonic()
            ok = await asyncio.to_thread(_fetch, f"{console}/metrics")
            if ok:
                phases.metrics_ms.setdefault(phase, []).append((time.monotonic() - started) * 1000)
            else:
                phases.metrics_failed[phase] += 1
            phases.rss.setdefault(phase, []).append(server.rss_mib())
            await asyncio.sleep(METRICS_INTERVAL)

    tasks = [asyncio.create_task(probe()), asyncio.create_task(watch())]
    await asyncio.sleep(IDLE_SECONDS)
    prober.phase = "during"
    started = loop.time()
    for n, message in enumerate(messages):
        replay_transport.sendto(message, gateway)
        await asyncio.sleep(max(0.0, started + (n + 1) / args.rate - loop.time()))
    burst = loop.time() - started
    prober.phase = "after"
    await asyncio.sleep(args.after)
    prober.phase = "end"
    rss_end = server.rss_mib()
    stop.set()
    await asyncio.gather(*tasks)
    replay_transport.close()
    probe_transport.close()

    print(
        f"corpus: {len(messages):,} INVITEs sent in {burst:.1f} s ({len(messages) / burst:.0f}/s);"
        " mutated: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    )
    print(
        "sent back (with retransmissions): "
        + ", ".join(f"{k} ×{v}" for k, v in sorted(answers.statuses.items()))
    )
    print(
        f"{'phase':<8} {'OPTIONS p50':>12} {'p99':>8} {'lost':>5}  {'/metrics p50':>12} "
        f"{'max':>8} {'failed':>6}  {'RSS MiB':>14}"
    )
    for phase, label in (("idle", "before"), ("during", "during"), ("after", "after")):
        rtts = [r * 1000 for r in prober.rtts.get(phase, [])]
        metrics_ms = phases.metrics_ms.get(phase, [])
        rss = phases.rss.get(phase, [0.0])
        rss_text = f"{rss[-1]:.1f}" if phase != "during" else f"peak {max(rss):.1f}"
        print(
            f"{label:<8} {percentile(rtts, 0.5):>9.1f} ms {percentile(rtts, 0.99):>5.1f} ms "
            f"{prober.lost[phase]:>5}  {percentile(metrics_ms, 0.5):>9.1f} ms "
            f"{max(metrics_ms, default=0.0):>5.1f} ms {phases.metrics_failed[phase]:>6}  "
            f"{rss_text:>14}"
        )
    idle = phases.rss["idle"][-1]
    print(
        f"RSS: idle {idle:.1f} MiB, {args.after:.0f} s after the burst {rss_end:.1f} MiB "
        f"({(rss_end - idle) / idle * 100:+.1f}%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--after", type=float, default=60.0, help="seconds watched after")
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-malformed-") as folder:
        work = Path(folder)
        sip_port, console_port = free_ports(1), free_ports(1)
        env = {
            **os.environ,
            "HOTLINE_CONFIG": str(ROOT / "config" / "demo.toml"),
            "HOTLINE_SIP_PORT": str(sip_port),
            "HOTLINE_SIP_TRUNK_PEERS": "127.0.0.1",
            "HOTLINE_SIP_RTP_PORT_MIN": "32000",
            "HOTLINE_SIP_RTP_PORT_MAX": "33999",
            "HOTLINE_CONSOLE_PORT": str(console_port),
            "HOTLINE_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'bench.db'}",
            "HOTLINE_MEDIA_RECORDINGS_DIR": str(work / "recordings"),
        }
        hotline = [sys.executable, "-m", "hotline.cli"]
        start_process("migrate", [*hotline, "migrate"], work, env).popen.wait()
        server = start_process("hotline", [*hotline, "serve", "--log-level", "warning"], work, env)
        console = f"http://127.0.0.1:{console_port}"
        try:
            deadline = time.monotonic() + 60
            while not _fetch(f"{console}/healthz"):
                if time.monotonic() > deadline or server.popen.poll() is not None:
                    raise RuntimeError(server.log.read_text()[-2000:])
                time.sleep(0.2)
            asyncio.run(run(server, sip_port, console, args))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
