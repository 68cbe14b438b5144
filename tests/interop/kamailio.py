"""Kamailio (Debian's `kamailio`) started by a test with the configuration under
deploy/kamailio, on loopback, ended by its PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.sipp import free_ports

CONFIGS = Path(__file__).resolve().parents[2] / "deploy" / "kamailio"
EDGE = CONFIGS / "edge.cfg"
DISPATCHER = CONFIGS / "dispatcher.cfg"
READY_SECONDS = 15.0


@dataclass
class Kamailio:
    process: subprocess.Popen[bytes]
    address: tuple[str, int]
    log: Path


def _answers(address: tuple[str, int], deadline_s: float) -> bool:
    """Whether Kamailio answers an OPTIONS within the deadline (asked again every 200 ms,
    as its children may still be starting)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        port = sock.getsockname()[1]
        for attempt in range(int(deadline_s / 0.2)):
            probe = (
                f"OPTIONS sip:{address[0]}:{address[1]} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKready{attempt}\r\n"
                f"From: <sip:probe@127.0.0.1>;tag=r\r\nTo: <sip:{address[0]}>\r\n"
                f"Call-ID: ready-{port}\r\nCSeq: {attempt + 1} OPTIONS\r\nMax-Forwards: 5\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            sock.sendto(probe.encode(), address)
            with contextlib.suppress(TimeoutError):
                if sock.recv(65535).startswith(b"SIP/2.0 "):
                    return True
    return False


@contextlib.contextmanager
def kamailio(
    workdir: Path, config: Path = EDGE, defines: dict[str, str] | None = None
) -> Iterator[Kamailio]:
    """Kamailio with `config` on a free loopback port; `defines` are its `-A NAME=value`."""
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not Path(binary).exists():
        raise RuntimeError("kamailio is not installed (apt-get install kamailio; make test-deps)")
    workdir.mkdir(parents=True, exist_ok=True)
    address = ("127.0.0.1", free_ports(1))
    log = workdir / "kamailio.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                binary,
                "-f",
                str(config),
                "-l",
                f"udp:{address[0]}:{address[1]}",
                "-DD",
                "-E",
                "-n",
                "1",
                "-m",
                "32",
                "-M",
                "4",
                "-Y",
                str(workdir),
                "-w",
                str(workdir),
                *(f"-A{name}={value}" for name, value in (defines or {}).items()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its children are ended with it, by its process group
        )
    try:
        if not _answers(address, READY_SECONDS):
            raise RuntimeError(
                f"kamailio did not answer: {log.read_text(errors='replace')[-2000:]}"
            )
        yield Kamailio(process, address, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
