"""baresip (Debian's `baresip-core`) as an agent's phone: registers with the gateway by
digest, answers by itself, and sends a sine tone as its voice; started by a test on
loopback with a configuration of its own, ended by its PID."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

MODULES = ("g711.so", "ausine.so", "aubridge.so", "account.so")
MODULE_PATHS = (Path("/usr/lib/baresip/modules"), Path("/usr/lib/x86_64-linux-gnu/baresip/modules"))


@dataclass
class Baresip:
    process: asyncio.subprocess.Process
    rtp_ports: range
    log: Path


def module_path() -> Path:
    for path in MODULE_PATHS:
        if (path / "account.so").exists():
            return path
    raise RuntimeError("baresip modules not found (apt-get install baresip-core; make test-deps)")


@contextlib.asynccontextmanager
async def baresip_phone(
    workdir: Path,
    agent: str,
    password: str,
    gateway: tuple[str, int],
    sip_port: int,
    rtp_ports: range,
    tone_hz: int,
    transport: str = "udp",
) -> AsyncIterator[Baresip]:
    """A phone registered as `agent` over `transport` (udp or tcp), answering every call, its
    voice a `tone_hz` sine; its log traces every SIP message it sends and receives."""
    binary = shutil.which("baresip")
    if binary is None:
        raise RuntimeError("baresip is not installed (apt-get install baresip-core)")
    workdir.mkdir(parents=True, exist_ok=True)
    settings = {
        "sip_listen": f"127.0.0.1:{sip_port}",
        "audio_player": "aubridge,nil",  # no sound card: what it hears goes nowhere
        "audio_source": f"ausine,{tone_hz}",
        "ausrc_srate": "48000",  # ausine makes 48 kHz only; baresip resamples to G.711's 8
        "ausrc_channels": "2",  # and in stereo
        "audio_alert": "aubridge,nil",
        "rtp_ports": f"{rtp_ports.start}-{rtp_ports.stop - 1}",
        "module_path": str(module_path()),
    }
    lines = [f"{key}\t{value}" for key, value in settings.items()]
    lines += [f"module\t{name}" for name in MODULES]
    (workdir / "config").write_text("\n".join(lines) + "\n")
    (workdir / "accounts").write_text(
        f"<sip:{agent}@{gateway[0]}:{gateway[1]};transport={transport}>;auth_pass={password};"
        "regint=60;answermode=auto;audio_codecs=PCMA,PCMU\n"
    )
    log = workdir / "baresip.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            binary,
            "-f",
            str(workdir),
            "-n",
            "127.0.0.1",  # its only address: loopback
            "-s",
            "-t",
            "120",  # bounded even if the test does not end it
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield Baresip(process, rtp_ports, log)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
