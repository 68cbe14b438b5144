"""What bench_gateway.py drives and watches: SIPp runs, subject processes, an RTP counter.

The RTP counter is a raw loopback socket with a kernel filter that passes only the UDP
packets a subject sends from its RTP port range, so the bench reads ~50 packets per second
per outgoing stream and nothing else.
"""

from __future__ import annotations

import csv
import ctypes
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.sipp import free_ports, sipp_binary

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_TIMESTAMPNS = 35  # Linux: each received frame carries the kernel's receive time
_TIMESPEC = struct.Struct("qq")
SKF_AD_PKTTYPE = 0xFFFFF000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE, as an unsigned offset
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _udp_source_filter(low: int, high: int) -> list[tuple[int, int, int, int]]:
    """Classic BPF: received (not outgoing) IPv4 UDP frames whose source port is in range."""
    drop = 11
    return [
        (0x20, 0, 0, SKF_AD_PKTTYPE),  # A = packet type
        (0x15, 0, drop - 2, 0),  # PACKET_HOST (the loopback copy as received)
        (0x28, 0, 0, 12),  # A = ethertype
        (0x15, 0, drop - 4, 0x0800),
        (0x30, 0, 0, 23),  # A = IP protocol
        (0x15, 0, drop - 6, 17),
        (0xB1, 0, 0, 14),  # X = IP header length
        (0x48, 0, 0, 14),  # A = UDP source port
        (0x35, 0, drop - 9, low),
        (0x25, drop - 10, 0, high),
        (0x06, 0, 0, 96),  # accept the headers
        (0x06, 0, 0, 0),  # drop
    ]


@dataclass(frozen=True)
class Stream:
    port: int
    packets: int
    first: float
    last: float
    # Gaps between consecutive packets, seconds, by the kernel's receive time on loopback.
    gaps: tuple[float, ...] = ()

    def gap_percentile(self, fraction: float) -> float:
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0

    def loss_over(self, window: float, rate: float = 50.0) -> float:
        """The share of the packets due over the whole window that never came."""
        return max(0.0, 1 - self.packets / (rate * window)) if window > 0 else 0.0

    @property
    def rate(self) -> float:
        """Packets per second between the first and last packet seen."""
        span = self.last - self.first
        return (self.packets - 1) / span if span > 0 else 0.0


TAP_PAUSE_SECONDS = 0.01


class StreamCounter:
    """Counts packets per source port in [low, high] while a window is open."""

    def __init__(self, low: int, high: int) -> None:
        self._socket = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024 * 1024)
        program = _udp_source_filter(low, high)
        self._program = (ctypes.c_ubyte * (8 * len(program)))(
            *b"".join(struct.pack("HBBI", *instruction) for instruction in program)
        )
        fprog = struct.pack("HL", len(program), ctypes.addressof(self._program))
        self._socket.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        self._socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._socket.bind(("lo", 0))
        # Read without waiting on the socket: a reader asleep in recv is woken by every frame,
        # and on loopback that wake-up runs in the sender's sendto, charging the subject's CPU
        # (a tenth of the node's, measured). The thread drains, then sleeps outside the socket.
        self._socket.setblocking(False)
        self._counts: Counter[int] = Counter()
        self._gaps: dict[int, list[float]] = {}
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._counting = False
        # The window by the kernel's receive time (CLOCK_REALTIME, as time.time()).
        self._start = 0.0
        self._end = float("inf")
        self._past_end = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self.opened_at = self.closed_at = 0.0

    def _run(self) -> None:
        counts, first, last, gaps = self._counts, self._first, self._last, self._gaps
        while not self._stop.is_set():
            try:
                frame, ancillary, _, _ = self._socket.recvmsg(96, 64)
            except BlockingIOError:
                # Pacing the tap, not synchronising: frames keep their kernel receive time
                # and wait in the 32 MiB buffer (some 250 frames in this pause at full load).
                time.sleep(TAP_PAUSE_SECONDS)
                continue
            if self._counting:
                # The kernel's receive time: this thread's own delays do not count as jitter.
                seconds, nanoseconds = _TIMESPEC.unpack_from(ancillary[0][2])
                at = seconds + nanoseconds / 1e9
                if at < self._start:
                    continue
                if at > self._end:
                    self._past_end.set()  # every frame of the window has been read
                    continue
                header = (frame[14] & 0x0F) * 4
                port = int.from_bytes(frame[14 + header : 16 + header], "big")
                counts[port] += 1
                previous = last.get(port)
                if previous is None:
                    first[port] = at
                    gaps[port] = []
                else:
                    gaps.setdefault(port, []).append(at - previous)
                last[port] = at

    def open_window(self) -> None:
        self._counts.clear()
        self._gaps.clear()
        self._first.clear()
        self._last.clear()
        self.opened_at = time.monotonic()
        self._start, self._end = time.time(), float("inf")
        self._past_end.clear()
        self._counting = True

    @property
    def window_seconds(self) -> float:
        return self._end - self._start

    def close_window(self) -> dict[int, Stream]:
        """Each source port seen in the window: its packets and their span. The window is
        cut by the kernel's receive time, so every stream is counted over the same span."""
        self._end = time.time()
        self._past_end.wait(2.0)  # the tap reads frames received before the end
        self._counting = False
        self.closed_at = time.monotonic()
        return {
            port: Stream(
                port, count, self._first[port], self._last[port], tuple(self._gaps.get(port, ()))
            )
            for port, count in self._counts.items()
        }

    def dropped(self) -> int:
        """Frames the kernel dropped because this counter fell behind (should be 0)."""
        raw = self._socket.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        return int(struct.unpack("II", raw)[1])

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


@dataclass
class Process:
    """A process this bench started; ended by its PID only."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"{self.name} has no VmRSS")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def system_cpu_seconds(self) -> float:
        """The part of cpu_seconds spent in the kernel (on loopback: sending and delivering)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[12]) / CLOCK_TICKS

    def threads(self) -> int:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[17])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_process(name: str, args: list[str], cwd: Path, env: dict[str, str]) -> Process:
    cwd.mkdir(parents=True, exist_ok=True)
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    return Process(name, popen, log)


@dataclass
class SippResult:
    code: int
    successful: int
    failed: int
    response_ms: list[float] = field(default_factory=list)
    output: str = ""


def sipp_args(
    scenario: Path, local_port: int, calls: int, extra: list[str], remote: str | None = None
) -> list[str]:
    args = [
        sipp_binary(),
        "-sf",
        str(scenario),
        "-i",
        "127.0.0.1",
        "-p",
        str(local_port),
        "-cp",
        str(free_ports(1)),
        "-m",
        str(calls),
        "-nostdin",
        "-trace_err",
        "-trace_stat",
        "-stf",
        "stats.csv",
        "-fd",
        "1",
        "-max_recv_loops",
        "1000",
        *extra,
    ]
    return [*args, remote] if remote else args


# SippResult.returncode when SIPp had to be stopped at its time limit.
TIMED_OUT = -1


def run_sipp(args: list[str], cwd: Path, timeout_s: float) -> SippResult:
    """Run SIPp to the end (bounded in time) and read its final counters."""
    return SippLoad(args, cwd, timeout_s).finish()


class SippLoad:
    """A SIPp run in the background (its CPU can be read while it runs), then its counters."""

    def __init__(self, args: list[str], cwd: Path, timeout_s: float) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        for old in cwd.glob("*.csv"):
            old.unlink()
        self._cwd = cwd
        self._deadline = time.monotonic() + timeout_s
        self._out = cwd / "sipp.out"
        with self._out.open("wb") as out:
            popen = subprocess.Popen(
                args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        self.process = Process("sipp", popen, self._out)

    def finish(self) -> SippResult:
        try:
            returncode = self.process.popen.wait(max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # A saturated subject never finishes some calls: SIPp is stopped, its last
            # counters (dumped every second) still say how far it got.
            self.process.popen.kill()
            self.process.popen.wait()
            returncode = TIMED_OUT
        successful = failed = 0
        stats = self._cwd / "stats.csv"
        if stats.exists():
            rows = list(csv.DictReader(stats.open(), delimiter=";"))
            if rows:
                successful = int(rows[-1]["SuccessfulCall(C)"])
                failed = int(rows[-1]["FailedCall(C)"])
        response_ms: list[float] = []
        for rtt in self._cwd.glob("*_rtt.csv"):
            for row in csv.DictReader(rtt.open(), delimiter=";"):
                response_ms.append(float(row["response_time_ms"]))
        output = self._out.read_bytes()[-2000:].decode(errors="replace")
        return SippResult(returncode, successful, failed, response_ms, output)


def start_sipp(name: str, args: list[str], cwd: Path) -> Process:
    return start_process(name, args, cwd, dict(os.environ))


class PyVoipServer:
    """What pyVoIP needs as its "server": a registrar, and a relay for its responses.

    pyVoIP 1.6.8 sends every response to its configured server, never to the Via of the
    request (a defect the baseline lists), so SIPp callers would never hear its 200 OK. This
    stand-in challenges and accepts REGISTER and passes every other message on to the address
    in its top Via, which is where a compliant UA would have sent it.
    """

    def __init__(self, port: int) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", port))
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self._socket.recvfrom(65535)
            except TimeoutError:
                continue
            text = data.decode(errors="replace")
            if os.environ.get("BENCH_DEBUG"):
                print("stand-in got", source, text[:300], flush=True)
            if text.startswith("REGISTER "):
                self._socket.sendto(self._register_answer(text), source)
                continue
            via = next((h for h in text.split("\r\n") if h.lower().startswith("via:")), "")
            parts = via.split()  # "Via:", "SIP/2.0/UDP", "host:port;branch=…"
            sent_by = parts[2].split(";")[0] if len(parts) > 2 else ""
            if ":" in sent_by:
                host, port = sent_by.rsplit(":", 1)
                self._socket.sendto(data, (host, int(port)))

    @staticmethod
    def _register_answer(request: str) -> bytes:
        lines = request.split("\r\n")
        keep = [
            h
            for h in lines
            if h.split(":", 1)[0].lower() in {"via", "from", "to", "call-id", "cseq", "contact"}
        ]
        if any(h.lower().startswith("authorization:") for h in lines):
            status = "200 OK"
            extra = ["Expires: 3600"]
        else:
            status = "401 Unauthorized"
            extra = ['WWW-Authenticate: Digest realm="bench", nonce="bench-nonce", algorithm=MD5']
        return (
            "\r\n".join([f"SIP/2.0 {status}", *keep, *extra, "Content-Length: 0", "", ""])
        ).encode()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


class OptionsProbe:
    """An OPTIONS every 50 ms to the subject's SIP port from a thread: the round trip is how
    long a request waits for the subject's event loop (its lag, seen from outside)."""

    INTERVAL = 0.05

    def __init__(self, sip_port: int) -> None:
        self._gateway = ("127.0.0.1", sip_port)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(1.0)
        self.round_trips: list[float] = []
        self.lost = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        source = self._socket.getsockname()
        host, port = self._gateway
        number = 0
        while not self._stop.wait(self.INTERVAL):
            number += 1
            call_id = f"lag-{number}"
            request = (
                f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {source[0]}:{source[1]};branch=z9hG4bK-lag-{number};rport\r\n"
                f"From: <sip:probe@{source[0]}>;tag=lag\r\nTo: <sip:{host}>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            ).encode()
            sent = time.monotonic()
            self._socket.sendto(request, self._gateway)
            try:
                while call_id.encode() not in self._socket.recv(65535):
                    pass  # a late answer to an earlier probe
            except TimeoutError:
                self.lost += 1
                continue
            self.round_trips.append(time.monotonic() - sent)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()
