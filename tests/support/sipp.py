"""Running SIPp as a real peer (caller trunk, agent phones) from async tests."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[1] / "sipp"


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise RuntimeError(
            "SIPp is not installed (Debian package sip-tester); `make test` installs it"
        )
    return path


def _bindable(port: int) -> bool:
    # TCP too: SIPp over TCP (-t t1) listens and connects from its -p port.
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


_next_block = 42000 + (os.getpid() % 500) * 40


def free_ports(count: int = 1) -> int:
    """The first of `count` consecutive free ports on loopback (SIPp media uses p..p+3)."""
    global _next_block
    for _ in range(2000):
        start = _next_block
        _next_block += count + (count % 2)
        if _next_block > 64000:
            _next_block = 42000
        if all(_bindable(start + i) for i in range(count)):
            return start
    raise RuntimeError("no free ports")


@dataclass
class SippRun:
    """One SIPp process; ended by its PID only."""

    name: str
    process: asyncio.subprocess.Process
    cwd: Path
    args: list[str] = field(default_factory=list)

    async def wait(self, timeout: float) -> tuple[int, str]:
        """Wait for SIPp to exit; return its exit code and what it printed (and its error log)."""
        try:
            out, _ = await asyncio.wait_for(self.process.communicate(), timeout)
        except TimeoutError:
            self.stop()
            out, _ = await self.process.communicate()
        errors = "".join(
            p.read_text(errors="replace")[-4000:] for p in self.cwd.glob("*_errors.log")
        )
        return int(self.process.returncode or 0), out.decode(errors="replace")[-4000:] + errors

    def stop(self) -> None:
        if self.process.returncode is None:
            try:
                self.process.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass


async def start_sipp(
    name: str,
    scenario: str,
    *,
    cwd: Path,
    local_port: int,
    remote: tuple[str, int] | None = None,
    calls: int = 1,
    extra: list[str] | None = None,
    timeout_s: int = 60,
) -> SippRun:
    """Start SIPp with a scenario of tests/sipp on loopback, bounded in calls and time."""
    cwd.mkdir(parents=True, exist_ok=True)
    args = [
        sipp_binary(),
        "-sf",
        str(SCENARIOS / scenario),
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
        "-timeout",
        f"{timeout_s}s",
        "-timeout_error",
        "-max_recv_loops",
        "1000",
        *(extra or []),
    ]
    if remote is not None:
        args.append(f"{remote[0]}:{remote[1]}")
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    return SippRun(name, process, cwd, args)
