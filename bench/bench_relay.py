"""The embedded engine's relay path alone: CPU per relayed packet over a fixed packet count.

    python bench/bench_relay.py                          # 250 bridged, recorded calls, 10 s
    python bench/bench_relay.py --calls 250 --seconds 10 --runs 3
    python bench/bench_relay.py --calls 20 --seconds 5 --callgrind    # instructions per packet
    python bench/bench_relay.py --relay python,native --runs 3        # the two relays in turn

A fresh subject process opens two legs per call on the embedded `MediaEngine`, bridges them
and records each call (stereo WAV, as `hotline serve` does), nothing else: no SIP, no
database. This process is the load generator: from one UDP socket it sends every leg an
A-law stream at 50 packets a second (the streams spread over each 20 ms), exactly
`--seconds` × 50 packets per stream, and never reads what the subject relays back (the
subject's `sendto` still runs the whole loopback delivery, as it would towards a phone).

The subject's CPU seconds (all threads, user and kernel) from the first packet until every
recording is closed, divided by the packets it received, is the figure; unlike CPU per call
over a wall-clock window it does not depend on how fast a busy machine let the packets
through. `--callgrind` runs the subject under valgrind and counts user-space instructions
from the first packet to the end (slow: use few calls), which repeats to a fraction of a
percent. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PCMA = 8
FRAME_SECONDS = 0.02
SPREAD_SLOTS = 10  # each 20 ms is cut in this many slots, each sending a tenth of the streams


async def serve(calls: int, recordings: Path, port_min: int, relay: str) -> None:
    """The subject: `calls` bridged, recorded calls on the embedded engine, fed over UDP."""
    from telephony.media import MediaEngine, Prompt
    from telephony.recording import CallRecorder

    ports = (port_min, port_min + 4 * calls + 10)
    # An older checkout (--code) knows only the Python relay: asked for it, it gets no flag.
    native = {"native": True} if relay == "native" else {}
    engine = MediaEngine("127.0.0.1", *ports, Prompt(b"", b""), **native)
    pairs = []
    for number in range(calls):
        caller = await engine.open_leg(PCMA)
        agent = await engine.open_leg(PCMA)
        engine.bridge(caller, agent)
        recorder = CallRecorder(recordings / f"call-{number}.wav")
        engine.record(caller, agent, recorder)
        pairs.append((caller, agent, recorder))
    legs = [leg for caller, agent, _ in pairs for leg in (caller, agent)]
    print(json.dumps({"ports": [leg.port for leg in legs]}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.readline()  # "go": the generator starts now
    start = os.times()
    await reader.readline()  # "sent": every packet has left the generator
    # What is still in flight arrives within a few ms; wait until the count stops moving.
    settled, previous = 0, -1
    while settled < 5:
        received = sum(leg.received for leg in legs)
        settled = settled + 1 if received == previous else 0
        previous = received
        await asyncio.sleep(0.02)
    for _, _, recorder in pairs:
        await recorder.finish()
    end = os.times()
    print(
        json.dumps(
            {
                "user": end.user - start.user,
                "system": end.system - start.system,
                "received": sum(leg.received for leg in legs),
                "sent": sum(leg.sent for leg in legs),
            }
        ),
        flush=True,
    )
    await engine.close()


def generate(ports: list[int], seconds: float) -> float:
    """Send every port its stream for `seconds`; the seconds it took (late if it fell behind)."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # relayed packets: dropped
    ticks = int(seconds / FRAME_SECONDS)
    # Built up front so the generator's own work per packet is one sendto.
    header = struct.Struct("!BBHII")
    payload = bytes([0xD5]) * 160
    addresses = [("127.0.0.1", port) for port in ports]
    slots = [list(range(slot, len(ports), SPREAD_SLOTS)) for slot in range(SPREAD_SLOTS)]
    started = time.monotonic()
    for tick in range(ticks):
        for slot, members in enumerate(slots):
            due = started + tick * FRAME_SECONDS + slot * FRAME_SECONDS / SPREAD_SLOTS
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the load, not synchronising a test
            for stream in members:
                packet = header.pack(0x80, PCMA, tick & 0xFFFF, 160 * tick, 0x1000 + stream)
                sender.sendto(packet + payload, addresses[stream])
    sender.close()
    return time.monotonic() - started


def _callgrind_total(out: Path) -> int:
    text = out.read_text(errors="replace")
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if found is None:
        raise RuntimeError(f"no totals in {out}")
    return int(found.group(1))


def run_once(args: argparse.Namespace, work: Path, port_min: int, relay: str) -> dict[str, float]:
    recordings = work / "recordings"
    code = str((args.code or ROOT).resolve())
    command = [sys.executable, __file__, "--serve", str(args.calls), str(recordings), str(port_min)]
    command += ["--relay", relay]
    command += ["--code", code]
    out = work / "callgrind.out"
    if args.callgrind:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            *command,
        ]
    env = {**os.environ, "PYTHONPATH": code}
    subject = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert subject.stdin is not None and subject.stdout is not None
    try:
        ports = json.loads(subject.stdout.readline())["ports"]
        if args.callgrind:
            subprocess.run(
                ["callgrind_control", "-i", "on", str(subject.pid)], check=True, capture_output=True
            )
        subject.stdin.write("go\n")
        subject.stdin.flush()
        took = generate(ports, args.seconds)
        subject.stdin.write("sent\n")
        subject.stdin.flush()
        figures = json.loads(subject.stdout.readline())
        subject.stdin.close()
        subject.wait(120)
    finally:
        if subject.poll() is None:
            subject.kill()
            subject.wait()
    figures["took"] = took
    figures["expected"] = len(ports) * int(args.seconds / FRAME_SECONDS)
    if args.callgrind:
        figures["instructions"] = _callgrind_total(out)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=250)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--port-min", type=int, default=24000)
    parser.add_argument("--callgrind", action="store_true", help="count instructions (valgrind)")
    parser.add_argument("--code", type=Path, help="the subject runs this checkout's telephony")
    parser.add_argument(
        "--relay",
        default="python",
        help="python, native or python,native (each in its own fresh subjects, in turn)",
    )
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.code:
            sys.path.insert(0, str(args.code))
        calls, recordings, port_min = args.serve
        asyncio.run(serve(int(calls), Path(recordings), int(port_min), args.relay))
        return
    for relay in args.relay.split(","):
        measure(args, relay)


def measure(args: argparse.Namespace, relay: str) -> None:
    """`--runs` fresh subjects relaying with `relay`: CPU per packet and per call."""
    if args.callgrind and shutil.which("valgrind") is None:
        sys.exit("--callgrind needs valgrind")
    print(
        f"{relay} relay: {args.calls} bridged, recorded calls ({2 * args.calls} streams in),"
        f" {args.seconds:g} s of 50 packets/s each; {args.runs} fresh subject(s)"
        f"{' under callgrind' if args.callgrind else ''}; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    per_packet: list[float] = []
    per_call: list[float] = []
    instructions: list[float] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-relay-") as scratch:
            figures = run_once(args, Path(scratch), args.port_min, relay)
        received = figures["received"]
        cpu = figures["user"] + figures["system"]
        per_packet.append(1e6 * cpu / received)
        # A call relays 100 packets a second (both directions): its share of one core.
        per_call.append(100 * per_packet[-1] * 100 / 1e6)
        line = (
            f"  run {run + 1}: received {received:,} of {figures['expected']:,}, relayed"
            f" {figures['sent']:,}; CPU {cpu:.2f} s (kernel {figures['system']:.2f} s):"
            f" {per_packet[-1]:.2f} µs a packet, {per_call[-1]:.3f}% of a core a call"
            f" (generator took {figures['took']:.1f} s; load {os.getloadavg()[0]:.1f})"
        )
        if args.callgrind:
            instructions.append(figures["instructions"] / received)
            line += f"; {instructions[-1]:,.0f} user-space instructions a packet"
        print(line, flush=True)
    if args.runs > 1:
        print(
            f"  CPU a packet min / median / max: {min(per_packet):.2f} /"
            f" {statistics.median(per_packet):.2f} / {max(per_packet):.2f} µs"
            f" (a call: {min(per_call):.3f} / {statistics.median(per_call):.3f} /"
            f" {max(per_call):.3f}% of a core)"
            + (
                f"; instructions a packet {min(instructions):,.0f} /"
                f" {statistics.median(instructions):,.0f} / {max(instructions):,.0f}"
                if instructions
                else ""
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
