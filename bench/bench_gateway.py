"""The SIP gateway under SIPp load, beside pyVoIP 1.6.8 as shipped, in one run.

    python bench/bench_gateway.py                      # both subjects, all three measurements
    python bench/bench_gateway.py --subject hotline --steps 50,100,200 --memory-calls 10000
    python bench/bench_gateway.py --engines embedded,rtpengine --calls 250 --memory-calls 10000

For each subject it measures:
- capacity: N calls at once (stepped), each caller streaming A-law audio for the whole
  call; packets per second of every stream the subject sends, counted on loopback in a
  window when all N calls are up; calls that failed (SIPp's count).
- answer latency: INVITE → 200 OK at 10 calls per second (SIPp's response-time trace).
- memory: resident set size after 100 short calls and after --memory-calls.

The hotline bridges each call to an agent phone (SIPp, echoing) and records it; pyVoIP can
only answer and echo (one leg). `--engines` compares the hotline's media engines side by side
instead (see bench/gateway_engines.py). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gateway_peers import (  # noqa: E402
    CLOCK_TICKS,
    TIMED_OUT,
    OptionsProbe,
    Process,
    PyVoipServer,
    SippLoad,
    SippResult,
    StreamCounter,
    run_sipp,
    sipp_args,
    start_process,
    start_sipp,
)
from tests.support.rtp_audio import caller_payloads, write_rtp_pcap  # noqa: E402
from tests.support.sipp import free_ports  # noqa: E402

SCENARIOS = ROOT / "tests" / "sipp"
BENCH_SCENARIOS = ROOT / "bench" / "sipp"
CALLS_PER_SECOND_RAMP = 20
SETTLE_SECONDS = 3.0
WINDOW_SECONDS = 10.0
CODE = ROOT  # where the subject's `hotline` package comes from (--code)
CALLER_MEDIA = "stream"  # how SIPp sends the citizens' audio (--caller-media; caller_scenario)
STREAMED_SECONDS = 10
TRANSACTION_LINGER_SECONDS = 40.0


@dataclass
class Subject:
    name: str
    server: Process
    sip_port: int
    rtp_low: int
    rtp_high: int
    legs_per_call: int
    peers: list[Process]
    close: Callable[[], None] | None = None
    # rtpengine, when it relays the calls' media (then its ports send the streams).
    relay: Process | None = None
    relay_low: int = 0
    relay_high: int = 0

    @property
    def stream_low(self) -> int:
        return self.relay_low if self.relay is not None else self.rtp_low

    @property
    def stream_high(self) -> int:
        return self.relay_high if self.relay is not None else self.rtp_high

    def stop(self) -> None:
        self.server.stop()
        for peer in self.peers:
            peer.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.close is not None:
            self.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _ready_agents(console: str, agents: list[str]) -> None:
    """Each agent logs in to the console API and goes ready, as from the web page."""
    async with aiohttp.ClientSession() as http:
        gate = asyncio.Semaphore(8)

        async def one(agent: str) -> None:
            async with gate:
                login = {"agent_id": agent, "password": f"bench-{agent}-pw"}
                async with http.post(f"{console}/api/login", json=login) as response:
                    token = (await response.json())["token"]
                headers = {"Authorization": f"Bearer {token}"}
                async with http.post(
                    f"{console}/api/agents/{agent}/state", json={"state": "ready"}, headers=headers
                ) as response:
                    if response.status != 200:
                        raise RuntimeError(f"{agent}: {await response.text()}")

        await asyncio.gather(*(one(agent) for agent in agents))


async def _add_agents(url: str, agents: list[str]) -> None:
    from hotline.accounts import Accounts
    from hotline.db import create_engine, session_factory

    engine = create_engine(url)
    accounts = Accounts(session_factory(engine), "bench", 12)
    now = datetime.now(UTC)
    for agent in agents:
        await accounts.add_agent(
            agent, f"坐席{agent}", f"bench-{agent}-pw", "bench-sip-pw", "agent", now
        )
    await engine.dispose()


def _wait_for(predicate: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_hotline(
    work: Path,
    agent_count: int,
    media: dict[str, str] | None = None,
    relay: tuple[Process, int, int] | None = None,
) -> Subject:
    """`hotline serve`, fresh; `media` overrides [media] keys (the engine, the event loop);
    `relay` is rtpengine's process and port range when it carries the media."""
    sip_port, console_port = free_ports(1), free_ports(1)
    rtp_low = 30000
    database = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    env = {
        **os.environ,
        # The code under test is this checkout's (or --code's), whatever the venv installed.
        "PYTHONPATH": str(CODE),
        "HOTLINE_CONFIG": str(ROOT / "config" / "demo.toml"),
        "HOTLINE_SIP_PORT": str(sip_port),
        "HOTLINE_SIP_REALM": "bench",
        "HOTLINE_SIP_RTP_PORT_MIN": str(rtp_low),
        "HOTLINE_SIP_RTP_PORT_MAX": str(rtp_low + 1999),
        "HOTLINE_CONSOLE_PORT": str(console_port),
        "HOTLINE_DATABASE_URL": database,
        "HOTLINE_ROUTING_WRAP_UP_SECONDS": "0",
        "HOTLINE_MEDIA_RECORDINGS_DIR": str(work / "recordings"),
        **{f"HOTLINE_MEDIA_{key.upper()}": value for key, value in (media or {}).items()},
    }
    hotline = [sys.executable, "-m", "hotline.cli"]
    (work / "bench.db").unlink(missing_ok=True)  # a kept folder of an earlier run: start afresh
    start_process("migrate", [*hotline, "migrate"], work, env).popen.wait()
    agents = [str(2000 + n) for n in range(agent_count)]
    asyncio.run(_add_agents(database, agents))
    server = start_process("hotline", [*hotline, "serve", "--log-level", "warning"], work, env)
    console = f"http://127.0.0.1:{console_port}"
    try:
        _wait_for(lambda: _healthy(f"{console}/healthz"), "the hotline to serve")
    except RuntimeError:
        server.stop()
        if relay is not None:
            relay[0].stop()
        raise RuntimeError(server.log.read_text()[-2000:]) from None
    phone_port, phone_media = free_ports(1), free_ports(4)
    subject = Subject("hotline", server, sip_port, rtp_low, rtp_low + 1999, 2, [])
    if relay is not None:
        subject.relay, subject.relay_low, subject.relay_high = relay
    try:
        _put_agents_on_duty(subject, work, console, agents, phone_port, phone_media)
    except BaseException:
        subject.stop()
        raise
    return subject


def _put_agents_on_duty(
    subject: Subject, work: Path, console: str, agents: list[str], phone_port: int, media: int
) -> None:
    """SIPp answers as every agent's phone; the phones register; the agents go ready."""
    subject.peers.append(
        start_sipp(
            "agent-phones",
            sipp_args(
                SCENARIOS / "agent_answer.xml",
                phone_port,
                10_000_000,
                ["-rtp_echo", "-mp", str(media), "-mi", "127.0.0.1"],
            ),
            work / "phones",
        )
    )
    injection = work / "agents.csv"
    injection.write_text(
        "SEQUENTIAL\n"
        + "".join(
            f"{a};bench-sip-pw;{phone_port};[authentication username={a} password=bench-sip-pw]\n"
            for a in agents
        )
    )
    registered = run_sipp(
        sipp_args(
            BENCH_SCENARIOS / "register_many.xml",
            free_ports(1),
            len(agents),
            ["-inf", str(injection), "-r", "50"],
            f"127.0.0.1:{subject.sip_port}",
        ),
        work / "register",
        120,
    )
    if registered.successful != len(agents):
        raise RuntimeError(f"registered {registered.successful}/{len(agents)}: {registered.output}")
    asyncio.run(_ready_agents(console, agents))


def start_pyvoip(work: Path) -> Subject:
    server_port, sip_port = free_ports(1), free_ports(1)
    rtp_low = 32000
    stand_in = PyVoipServer(server_port)
    phone = start_process(
        "pyvoip",
        [
            sys.executable,
            str(ROOT / "bench" / "pyvoip_echo.py"),
            "--registrar",
            f"127.0.0.1:{server_port}",
            "--sip-port",
            str(sip_port),
            "--rtp-low",
            str(rtp_low),
            "--rtp-high",
            str(rtp_low + 7999),
        ],
        work,
        dict(os.environ),
    )
    _wait_for(lambda: "registered" in phone.log.read_text(), "pyVoIP to register")
    return Subject("pyVoIP 1.6.8", phone, sip_port, rtp_low, rtp_low + 7999, 1, [], stand_in.close)


def call(
    subject: Subject,
    work: Path,
    calls: int,
    rate: float,
    hold_ms: int,
    concurrent: int | None = None,
    rtt: bool = False,
) -> SippResult:
    """SIPp as the carrier trunk: `calls` citizens at `rate` per second, each talking hold_ms."""
    return start_calls(subject, work, calls, rate, hold_ms, concurrent, rtt).finish()


def caller_scenario(work: Path, hold_ms: int) -> Path:
    """The trunk's scenario, its citizens' audio sent as CALLER_MEDIA says.

    "stream": SIPp's rtp_stream, from an ordinary UDP socket, as a phone or a carrier sends.
    "pcap": SIPp's play_pcap_audio (what the tests use), which sends through raw sockets: every
    raw IPPROTO_UDP socket open on the machine is handed a copy of every UDP datagram, so with
    hundreds of calls playing, each packet the subject sends costs it hundreds of copies in its
    own system call (raw_local_deliver was 27% of the node's CPU samples at 250 calls).
    """
    if CALLER_MEDIA == "pcap":
        pcap = work / "caller.pcap"
        if not pcap.exists():
            write_rtp_pcap(pcap, caller_payloads(hold_ms / 1000 + 2, 8), 8)
        return SCENARIOS / "caller.xml"
    audio = work / "caller.alaw"
    if not audio.exists():  # played in a loop by every call
        audio.write_bytes(b"".join(caller_payloads(STREAMED_SECONDS, 8)))
    text = (SCENARIOS / "caller.xml").read_text(encoding="utf-8")
    streamed = text.replace('play_pcap_audio="caller.pcap"', f'rtp_stream="{audio},-1,8"')
    if streamed == text:
        raise RuntimeError("tests/sipp/caller.xml no longer plays caller.pcap")
    scenario = work / "caller-stream.xml"
    scenario.write_text(streamed, encoding="utf-8")
    return scenario


def start_calls(
    subject: Subject,
    work: Path,
    calls: int,
    rate: float,
    hold_ms: int,
    concurrent: int | None = None,
    rtt: bool = False,
) -> SippLoad:
    """SIPp as the carrier trunk: `calls` citizens at `rate` per second, each talking hold_ms."""
    work.mkdir(parents=True, exist_ok=True)
    scenario = caller_scenario(work, hold_ms)
    extra = [
        "-s",
        "12319",
        "-key",
        "caller",
        "13800138000",
        "-d",
        str(hold_ms),
        "-r",
        str(rate),
        "-l",
        str(concurrent or calls),
        "-mp",
        str(free_ports(4)),
        "-mi",
        "127.0.0.1",
    ]
    if rtt:
        extra += ["-trace_rtt", "-rtt_freq", "1"]
    args = sipp_args(scenario, free_ports(1), calls, extra, f"127.0.0.1:{subject.sip_port}")
    return SippLoad(args, work, timeout_s=calls / rate + hold_ms / 1000 + 120)


@dataclass
class StepFigures:
    """One capacity step: what the window measured."""

    concurrent: int
    result: SippResult
    streams: int  # outgoing streams seen in the window
    expected: int  # streams there should be (calls × legs)
    window: float  # seconds, by the kernel's receive time
    loss: list[float]  # per stream, over the whole window (missing streams count as 1.0)
    gap_p99: list[float]  # per stream, seconds
    cpu: float  # the subject's process, % of one core over the window
    system: float  # of it in the kernel
    relay_cpu: float  # rtpengine's process, % of one core (0 without it)
    load_cpu: float  # the SIPp processes (callers and agent phones), % of one core
    machine: float  # all cores busy, % of one core
    threads: int
    lag: list[float]  # OPTIONS round trips, seconds
    lost_probes: int
    dropped: int  # frames the tap could not keep up with
    load_average: float


def capacity_step(
    subject: Subject, work: Path, concurrent: int, window: float = WINDOW_SECONDS
) -> StepFigures:
    ramp = concurrent / CALLS_PER_SECOND_RAMP
    hold_ms = int((ramp + SETTLE_SECONDS * 2 + window + 2) * 1000)
    counter = StreamCounter(subject.stream_low, subject.stream_high)
    probe: OptionsProbe | None = None
    cpu_before = subject.server.cpu_seconds()
    callers = start_calls(subject, work, concurrent, CALLS_PER_SECOND_RAMP, hold_ms)
    time.sleep(ramp + SETTLE_SECONDS)  # the bench's schedule, not synchronisation of a test
    counter.open_window()
    if subject.name != "pyVoIP 1.6.8":  # pyVoIP's SIP side would answer from another thread
        probe = OptionsProbe(subject.sip_port)
    load = [callers.process, *subject.peers]
    relay = [subject.relay] if subject.relay is not None else []
    cpu_start = subject.server.cpu_seconds()
    system_start = subject.server.system_cpu_seconds()
    relay_start = sum(p.cpu_seconds() for p in relay)
    load_start = sum(p.cpu_seconds() for p in load)
    machine_start = machine_cpu_seconds()
    threads = subject.server.threads()
    time.sleep(window)
    cpu = (subject.server.cpu_seconds() - cpu_start) / window * 100
    system = (subject.server.system_cpu_seconds() - system_start) / window * 100
    relay_cpu = (sum(p.cpu_seconds() for p in relay) - relay_start) / window * 100
    load_cpu = (sum(p.cpu_seconds() for p in load) - load_start) / window * 100
    machine = (machine_cpu_seconds() - machine_start) / window * 100
    load_average = os.getloadavg()[0]
    streams = counter.close_window()
    seconds = counter.window_seconds
    if probe is not None:
        probe.close()
    done = callers.finish()
    dropped = counter.dropped()
    counter.close()
    expected = concurrent * subject.legs_per_call
    # Each stream rated over the whole window: a stream that began or ended inside it (a leg
    # opened for a re-offered call) shows as loss; a stream that never came counts as lost.
    rated = sorted(streams.values(), key=lambda s: s.loss_over(seconds))
    loss = [s.loss_over(seconds) for s in rated] + [1.0] * max(0, expected - len(rated))
    figures = StepFigures(
        concurrent,
        done,
        len(streams),
        expected,
        seconds,
        loss,
        sorted(s.gap_percentile(0.99) for s in rated),
        cpu,
        system,
        relay_cpu,
        load_cpu,
        machine,
        threads,
        sorted(probe.round_trips) if probe is not None else [],
        probe.lost if probe is not None else 0,
        dropped,
        load_average,
    )
    print_step(figures, subject.server.cpu_seconds() - cpu_before)
    return figures


def print_step(f: StepFigures, step_cpu: float) -> None:
    unfinished = " (SIPp stopped at its time limit)" if f.result.code == TIMED_OUT else ""
    below = sum(1 for loss in f.loss if loss > 0.01)
    print(
        f"  {f.concurrent:4d} at once: calls ok {f.result.successful}/{f.concurrent} failed"
        f" {f.result.failed}{unfinished} | streams {f.streams}/{f.expected} over"
        f" {f.window:.1f} s, losing over 1%: {below} | CPU {f.cpu:.0f}% threads {f.threads}"
        + (f", rtpengine {f.relay_cpu:.0f}%" if f.relay_cpu else "")
        + f" | tap drops {f.dropped} | whole step CPU {step_cpu:.1f} s",
        flush=True,
    )
    per_call = (f.cpu + f.relay_cpu) / f.concurrent
    print(
        f"        CPU per call {per_call:.3f}% of a core, of it in the kernel"
        f" {f.system / f.concurrent:.3f}% (machine {f.machine:.0f}% of"
        f" {100 * (os.cpu_count() or 1)}%, SIPp {f.load_cpu:.0f}%, load {f.load_average:.1f})"
        f" | interarrival p99 median stream {1000 * _middle(f.gap_p99):.1f} ms, worst"
        f" {1000 * (f.gap_p99[-1] if f.gap_p99 else 0):.1f} ms"
        f" | loss median {100 * _middle(f.loss):.2f}% worst"
        f" {100 * (f.loss[-1] if f.loss else 0):.2f}%"
        + (
            f" | OPTIONS round trip p50 {1000 * percentile(f.lag, 0.5):.1f} ms"
            f" p99 {1000 * percentile(f.lag, 0.99):.1f} ms (lost {f.lost_probes})"
            if f.lag
            else ""
        ),
        flush=True,
    )


def _middle(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine, all cores (from /proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def answer_latency(subject: Subject, work: Path, calls: int) -> None:
    done = call(subject, work, calls, 10, 2000, rtt=True)
    times = done.response_ms
    if not times:
        print(f"  INVITE→200: no response times ({done.output[-300:]})")
        return
    print(
        f"  INVITE→200 at 10 calls/s, {len(times)} calls (failed {done.failed}):"
        f" p50 {percentile(times, 0.5):.1f} ms p95 {percentile(times, 0.95):.1f} ms"
        f" max {max(times):.1f} ms",
        flush=True,
    )


@dataclass
class MemoryFigures:
    calls: int
    first: float  # the subject's RSS after 100 calls, MiB
    last: float  # after `calls`
    relay_first: float  # rtpengine's (0 without it)
    relay_last: float
    ok: int
    failed: int


def memory(subject: Subject, work: Path, total: int, rate: float) -> MemoryFigures:
    # Ended calls stay referenced until their transactions' Timer H/J (32 s) run out, so
    # RSS is read once those have passed: what is left then is what a call leaves behind.
    first = call(subject, work / "first", 100, rate, 1000)
    time.sleep(TRANSACTION_LINGER_SECONDS)
    after_first = subject.server.rss_mib()
    relay_first = subject.relay.rss_mib() if subject.relay is not None else 0.0
    rest = call(subject, work / "rest", total - 100, rate, 1000)
    time.sleep(TRANSACTION_LINGER_SECONDS)
    after_all = subject.server.rss_mib()
    relay_last = subject.relay.rss_mib() if subject.relay is not None else 0.0
    figures = MemoryFigures(
        total,
        after_first,
        after_all,
        relay_first,
        relay_last,
        first.successful + rest.successful,
        first.failed + rest.failed,
    )
    print(
        f"  RSS after 100 calls {after_first:.1f} MiB, after {total:,} calls {after_all:.1f} MiB"
        f" (growth {after_all - after_first:+.1f} MiB; failed {figures.failed}, ok {figures.ok})"
        + (
            f"; rtpengine {relay_first:.1f} → {relay_last:.1f} MiB"
            if subject.relay is not None
            else ""
        ),
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subject", choices=["hotline", "pyvoip", "both"], default="both")
    parser.add_argument("--steps", default="50,100,150,200")
    parser.add_argument("--latency-calls", type=int, default=300)
    parser.add_argument("--memory-calls", type=int, default=10_000)
    parser.add_argument("--pyvoip-memory-calls", type=int, default=2_000)
    parser.add_argument("--memory-rate", type=float, default=30)
    parser.add_argument("--skip", default="", help="comma list of capacity,latency,memory")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep its logs")
    parser.add_argument(
        "--engines",
        help="embedded,embedded-python,rtpengine: the hotline with each media engine side by"
        " side (fresh processes), one capacity step of --calls calls, then memory after"
        " --memory-calls",
    )
    parser.add_argument("--calls", type=int, default=250, help="calls at once for --engines")
    parser.add_argument("--window", type=float, default=WINDOW_SECONDS, help="seconds measured")
    parser.add_argument("--event-loop", default="asyncio", help="[media] event_loop")
    parser.add_argument(
        "--code", type=Path, help="run the hotline from this checkout (e.g. an older commit)"
    )
    parser.add_argument(
        "--caller-media",
        choices=["stream", "pcap"],
        default="stream",
        help="how SIPp sends the citizens' audio: rtp_stream (a UDP socket) or play_pcap_audio"
        " (raw sockets, as before 2026-12-06; see caller_scenario)",
    )
    args = parser.parse_args()
    import bench.bench_gateway as imported

    # gateway_engines starts nodes through the imported module, not this script's own
    # (__main__): both are set, or its nodes ran this checkout, whatever --code said.
    for module in {sys.modules[__name__], imported}:
        module.CODE = args.code.resolve() if args.code else ROOT
        module.CALLER_MEDIA = args.caller_media
    if args.engines:
        from bench.gateway_engines import compare

        compare(args)
        return
    steps = [int(s) for s in args.steps.split(",")]
    skip = set(args.skip.split(","))
    subjects = ["hotline", "pyvoip"] if args.subject == "both" else [args.subject]
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as scratch:
        tmp = args.keep or Path(scratch)
        for name in subjects:
            work = Path(tmp) / name
            subject = (
                start_hotline(work, max(steps) + 10) if name == "hotline" else start_pyvoip(work)
            )
            print(f"{subject.name} (pid {subject.server.pid})", flush=True)
            try:
                if "capacity" not in skip:
                    for step in steps:
                        capacity_step(subject, work / f"step-{step}", step)
                if "latency" not in skip:
                    answer_latency(subject, work / "latency", args.latency_calls)
                if "memory" not in skip:
                    total = args.memory_calls if name == "hotline" else args.pyvoip_memory_calls
                    memory(subject, work / "memory", total, args.memory_rate)
            finally:
                subject.stop()


if __name__ == "__main__":
    main()
