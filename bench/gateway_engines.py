"""`bench_gateway.py --engines embedded,rtpengine`: the media engines side by side.

`embedded` is the embedded engine as configured by default (its native relay where it was
compiled), `embedded-python` the same engine relaying in Python (`[media] relay = "python"`).

For each engine, two fresh `hotline serve` processes (and, for rtpengine, a fresh daemon
each time): the first carries `--calls` bridged calls at once for a window of `--window`
seconds; the second is fresh for memory (RSS after 100 calls, then after --memory-calls).

What a column holds: CPU per bridged call of the node's process, of rtpengine's process
(/proc/PID/stat, all threads) and their sum; the load generator's own CPU (the SIPp callers
and the SIPp agent phones, which echo); the machine's (/proc/stat, all cores); per outgoing
stream, counted on loopback where it leaves the engine, interarrival p99 and loss rated over
the whole window (median and worst stream); RSS growth of a fresh process.

Every call is recorded (stereo WAV) with either engine: the embedded engine records as it
relays; rtpengine writes a pcap per call (`recording-method = pcap`, a recording-dir of the
bench's own) that the node turns into the WAV after the call (`[media]
rtpengine_recording_dir`), starting as each call ends. So that the conversion is counted, the
CPU of the node and rtpengine over the whole step (from before the first call until every
recording is linked in the node's database) is measured too, with either engine, and divided
by the calls and their length: CPU per call over its whole life, recording included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.bench_gateway import (
    CALLS_PER_SECOND_RAMP,
    ROOT,
    SETTLE_SECONDS,
    MemoryFigures,
    StepFigures,
    Subject,
    capacity_step,
    memory,
    percentile,
    start_hotline,
)
from bench.gateway_peers import Process, start_process
from tests.support.sipp import free_ports

RTPENGINE_CONFIG = ROOT / "deploy" / "rtpengine" / "rtpengine.conf"
# rtpengine takes an RTP and an RTCP port per side, two sides a call: beside the hotline's own
# 30000-31999 and below the ports the bench's SIPp processes take (42000 up).
RELAY_LOW, RELAY_HIGH = 34000, 37999


def start_rtpengine(work: Path, spool: Path) -> tuple[Process, int, int, int]:
    """rtpengine as the tests run it (userspace, loopback, recording pcaps into `spool`): its
    process, ng port, port range."""
    spool.mkdir(parents=True, exist_ok=True)
    binary = shutil.which("rtpengine")
    if binary is None:
        raise SystemExit("rtpengine is not installed (tools/install-test-deps.sh installs it)")
    ng_port, low, high = free_ports(1), RELAY_LOW, RELAY_HIGH
    process = start_process(
        "rtpengine",
        [
            binary,
            f"--config-file={RTPENGINE_CONFIG}",
            f"--listen-ng=127.0.0.1:{ng_port}",
            # Its own CLI port: the default one is taken by any other rtpengine on the machine.
            f"--listen-cli=127.0.0.1:{free_ports(1)}",
            f"--port-min={low}",
            f"--port-max={high}",
            f"--recording-dir={spool}",
            "--log-level=4",  # warnings: a log line per call would be the bench's own cost
            "--log-stderr",
        ],
        work,
        dict(os.environ),
    )
    asyncio.run(_ping(ng_port))
    return process, ng_port, low, high


async def _ping(port: int) -> None:
    from telephony.ng import NgClient

    client = NgClient(("127.0.0.1", port), timeout_seconds=10.0)
    try:
        await client.command("ping")  # retransmitted until the daemon listens, 10 s at most
    finally:
        client.close()


def _start(engine: str, work: Path, agents: int, event_loop: str) -> Subject:
    # Only what differs from the defaults: an older checkout (--code) refuses keys it lacks.
    media = {} if event_loop == "asyncio" else {"event_loop": event_loop}
    if engine in ("embedded", "embedded-python"):
        if engine == "embedded-python":  # the default is the native relay where compiled
            media["relay"] = "python"
        return start_hotline(work, agents, media)
    spool = work / "rtpengine-spool"
    relay, ng_port, low, high = start_rtpengine(work / "rtpengine", spool)
    # rtpengine captures each call; the node converts the capture to its WAV after the call.
    media |= {
        "engine": "rtpengine",
        "rtpengine": f"127.0.0.1:{ng_port}",
        "rtpengine_recording_dir": str(spool),
    }
    return start_hotline(work, agents, media, (relay, low, high))


def recordings_linked(work: Path) -> int:
    """Recordings the node has finished and linked to their calls (its SQLite database)."""
    db = sqlite3.connect(f"file:{work / 'bench.db'}?mode=ro", uri=True, timeout=10)
    try:
        return int(db.execute("SELECT count(*) FROM recordings").fetchone()[0])
    except sqlite3.OperationalError:  # locked for longer than the timeout: not yet
        return -1
    finally:
        db.close()


def wait_recorded(work: Path, calls: int, timeout: float = 600.0) -> None:
    """Until every call's recording is linked (under rtpengine: each capture converted)."""
    deadline = time.monotonic() + timeout
    while recordings_linked(work) < calls:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{recordings_linked(work)} of {calls} recordings after {timeout} s")
        time.sleep(0.5)  # polling the bench's own database, not synchronising a test


def compare(args: argparse.Namespace) -> None:
    engines = args.engines.split(",")
    steps: dict[str, StepFigures] = {}
    whole: dict[str, tuple[float, float]] = {}  # node, rtpengine CPU s: the step, recorded
    memories: dict[str, MemoryFigures] = {}
    skip = set(args.skip.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as scratch:
        tmp = args.keep or Path(scratch)
        for engine in engines:
            if "capacity" not in skip:
                work = Path(tmp) / engine / "capacity"
                subject = _start(engine, work, args.calls + 10, args.event_loop)
                print(f"{engine}: {args.calls} calls at once (pid {subject.server.pid})")
                try:
                    # The whole step, from before the first call until every recording is
                    # linked: set-up, media, BYEs, closing files and, under rtpengine,
                    # converting the captures (which starts as each call ends).
                    relay = subject.relay
                    node_start = subject.server.cpu_seconds()
                    relay_start = relay.cpu_seconds() if relay is not None else 0.0
                    steps[engine] = capacity_step(subject, work / "step", args.calls, args.window)
                    wait_recorded(work, args.calls)
                    whole[engine] = (
                        subject.server.cpu_seconds() - node_start,
                        relay.cpu_seconds() - relay_start if relay is not None else 0.0,
                    )
                    print(
                        f"  whole step until all recorded: node {whole[engine][0]:.1f} s CPU,"
                        f" rtpengine {whole[engine][1]:.1f} s"
                    )
                finally:
                    subject.stop()
            if "memory" not in skip:
                work = Path(tmp) / engine / "memory"
                subject = _start(engine, work, 20, args.event_loop)
                print(f"{engine}: memory, {args.memory_calls:,} calls (pid {subject.server.pid})")
                try:
                    memories[engine] = memory(
                        subject, work / "memory", args.memory_calls, args.memory_rate
                    )
                finally:
                    subject.stop()
    print_table(args, engines, steps, memories, whole)


def call_seconds(calls: int, window: float) -> float:
    """How long each call of the capacity step lasts (capacity_step's schedule)."""
    return calls / CALLS_PER_SECOND_RAMP + SETTLE_SECONDS * 2 + window + 2


def print_table(
    args: argparse.Namespace,
    engines: list[str],
    steps: dict[str, StepFigures],
    memories: dict[str, MemoryFigures],
    whole: dict[str, tuple[float, float]] | None = None,
) -> None:
    whole = whole or {}
    heading = {
        "embedded": "embedded (bridged, recorded)",
        "embedded-python": "embedded, Python relay",
        "rtpengine": "rtpengine (bridged, recorded)",
    }
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, cell: object) -> None:
        rows.append((label, [str(cell(engine)) if callable(cell) else "" for engine in engines]))

    def step(engine: str) -> StepFigures | None:
        return steps.get(engine)

    def per_call(value: float, engine: str) -> str:
        figures = step(engine)
        return f"{value / figures.concurrent:.3f}%" if figures else "—"

    def with_step(format_: object) -> object:
        def cell(engine: str) -> str:
            figures = step(engine)
            return format_(figures) if figures and callable(format_) else "—"

        return cell

    def middle(values: list[float]) -> float:
        return percentile(values, 0.5) if values else 0.0

    if steps:
        window = next(iter(steps.values()))
        row(
            f"calls at once ({window.window:.1f} s window): ok / failed",
            with_step(lambda f: f"{f.result.successful} / {f.result.failed}"),
        )
        row(
            "CPU per call, node process (one core = 100%)",
            lambda e: per_call(step(e).cpu, e) if step(e) else "—",
        )
        row(
            "CPU per call, rtpengine process",
            lambda e: per_call(step(e).relay_cpu, e) if step(e) and e == "rtpengine" else "—",
        )
        row(
            "CPU per call, node + rtpengine",
            lambda e: per_call(step(e).cpu + step(e).relay_cpu, e) if step(e) else "—",
        )
        length = call_seconds(args.calls, args.window)

        def whole_cell(engine: str) -> str:
            if engine not in whole:
                return "—"
            node, relay = whole[engine]
            return f"{node:.1f} s + {relay:.1f} s" if relay else f"{node:.1f} s"

        def whole_per_call(engine: str) -> str:
            if engine not in whole:
                return "—"
            return f"{100 * sum(whole[engine]) / args.calls / length:.3f}%"

        row("CPU, whole step until all recorded: node (+ rtpengine)", whole_cell)
        row(f"CPU per call over its whole {length:.0f} s, recording included", whole_per_call)
        row("node process in all", with_step(lambda f: f"{f.cpu:.0f}% ({f.threads} threads)"))
        row("rtpengine in all", with_step(lambda f: f"{f.relay_cpu:.0f}%" if f.relay_cpu else "—"))
        row("load generator (SIPp callers + phones)", with_step(lambda f: f"{f.load_cpu:.0f}%"))
        row(
            f"machine ({os.cpu_count()} cores = {100 * (os.cpu_count() or 1)}%), load average",
            with_step(lambda f: f"{f.machine:.0f}%, {f.load_average:.1f}"),
        )
        row("streams seen / expected", with_step(lambda f: f"{f.streams} / {f.expected}"))
        row(
            "interarrival p99, median / worst stream",
            with_step(
                lambda f: (
                    f"{1000 * middle(f.gap_p99):.1f} / "
                    f"{1000 * (f.gap_p99[-1] if f.gap_p99 else 0):.1f} ms"
                )
            ),
        )
        row(
            "loss over the window, median / worst stream",
            with_step(
                lambda f: (
                    f"{100 * middle(f.loss):.2f}% / {100 * (f.loss[-1] if f.loss else 0):.2f}%"
                )
            ),
        )
        row(
            "OPTIONS round trip p50 / p99",
            with_step(
                lambda f: (
                    f"{1000 * percentile(f.lag, 0.5):.1f} / {1000 * percentile(f.lag, 0.99):.1f} ms"
                    if f.lag
                    else "—"
                )
            ),
        )
    if memories:

        def growth(engine: str) -> str:
            m = memories.get(engine)
            if m is None:
                return "—"
            text = f"{m.first:.1f} → {m.last:.1f} MiB ({m.last - m.first:+.1f})"
            return text + (f", failed {m.failed}" if m.failed else "")

        def relay_growth(engine: str) -> str:
            m = memories.get(engine)
            if m is None or not m.relay_first:
                return "—"
            grew = m.relay_last - m.relay_first
            return f"{m.relay_first:.1f} → {m.relay_last:.1f} MiB ({grew:+.1f})"

        row(f"node RSS, fresh: after 100 calls → after {args.memory_calls:,}", growth)
        row("rtpengine RSS, fresh: after 100 → after", relay_growth)
    labels = max(len(label) for label, _ in rows)
    widths = [
        max(len(heading.get(engine, engine)), *(len(cells[i]) for _, cells in rows))
        for i, engine in enumerate(engines)
    ]
    print()
    print(
        " " * labels
        + " | "
        + " | ".join(heading.get(e, e).ljust(w) for e, w in zip(engines, widths, strict=True))
    )
    for label, cells in rows:
        print(
            label.ljust(labels)
            + " | "
            + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        )
    if "rtpengine" in engines:
        print("rtpengine column: calls bridged through rtpengine; its pcaps converted by the node.")
    print(
        f"(python bench/bench_gateway.py --engines {args.engines} --calls {args.calls}"
        f" --window {args.window:g} --memory-calls {args.memory_calls} --event-loop"
        f" {args.event_loop} --caller-media {args.caller_media}"
        f"{' --skip ' + args.skip if args.skip else ''}"
        f"{' --code ' + str(args.code) if args.code else ''})",
        flush=True,
    )
