"""baresip (Debian's `baresip-core`) as a real SIP user agent in tests: an agent's phone that
registers with the gateway by digest and answers by itself, or a citizen's phone that dials
the hotline through the trunk side. Its voice is a sine tone; with a control port it takes
commands (dial, hold, resume, hangup) and reports its call events over ctrl_tcp. Started by a
test on loopback with a configuration of its own, ended by its PID."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODULES = ("g711.so", "ausine.so", "aubridge.so", "account.so")
CONTROL_MODULES = ("menu.so", "ctrl_tcp.so")  # the commands, and the TCP channel for them
MODULE_PATHS = (Path("/usr/lib/baresip/modules"), Path("/usr/lib/x86_64-linux-gnu/baresip/modules"))


@dataclass
class BaresipControl:
    """baresip's ctrl_tcp: JSON commands in netstrings out, responses and events back."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    events: list[dict[str, Any]] = field(default_factory=list)
    _responses: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _token: int = 0

    async def command(self, name: str, params: str = "", timeout: float = 10.0) -> dict[str, Any]:
        """Run one menu command (`dial`, `hold`, `resume`, `hangup`); baresip's response."""
        self._token += 1
        body = json.dumps({"command": name, "params": params, "token": str(self._token)}).encode()
        self.writer.write(b"%d:%s," % (len(body), body))
        await self.writer.drain()
        while True:
            response = await asyncio.wait_for(self._responses.get(), timeout)
            if response.get("token") == str(self._token):
                return response

    async def event(self, kind: str, timeout: float = 30.0, after: int = 0) -> dict[str, Any]:
        """The first event of `kind` (CALL_ESTABLISHED, CALL_CLOSED …) from index `after` on."""

        async def found() -> dict[str, Any]:
            while True:
                for event in self.events[after:]:
                    if event.get("type") == kind:
                        return event
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(found(), timeout)

    async def read(self) -> None:
        """Sort what baresip sends into responses and events, until it closes."""
        while True:
            try:
                length = await self.reader.readuntil(b":")
                data = await self.reader.readexactly(int(length[:-1]) + 1)  # and the ","
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                return
            message = json.loads(data[:-1])
            if message.get("event"):
                self.events.append(message)
                self._changed.set()
            elif message.get("response"):
                self._responses.put_nowait(message)


@dataclass
class Baresip:
    process: asyncio.subprocess.Process
    rtp_ports: range
    log: Path
    control: BaresipControl | None = None


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
    control_port: int | None = None,
) -> AsyncIterator[Baresip]:
    """A phone registered as `agent` over `transport` (udp or tcp), answering every call, its
    voice a `tone_hz` sine; its log traces every SIP message it sends and receives."""
    account = (
        f"<sip:{agent}@{gateway[0]}:{gateway[1]};transport={transport}>;auth_pass={password};"
        "regint=60;answermode=auto;audio_codecs=PCMA,PCMU"
    )
    async with _baresip(workdir, account, sip_port, rtp_ports, tone_hz, control_port) as ua:
        yield ua


@contextlib.asynccontextmanager
async def baresip_caller(
    workdir: Path, number: str, sip_port: int, rtp_ports: range, tone_hz: int, control_port: int
) -> AsyncIterator[Baresip]:
    """A citizen's phone with the number `number` that registers nowhere: it dials when told
    (`control.command("dial", "sip:12319@host:port")`), its voice a `tone_hz` sine."""
    account = f"<sip:{number}@127.0.0.1:{sip_port}>;regint=0;audio_codecs=PCMA,PCMU"
    async with _baresip(workdir, account, sip_port, rtp_ports, tone_hz, control_port) as ua:
        yield ua


@contextlib.asynccontextmanager
async def _baresip(
    workdir: Path,
    account: str,
    sip_port: int,
    rtp_ports: range,
    tone_hz: int,
    control_port: int | None,
) -> AsyncIterator[Baresip]:
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
    modules = list(MODULES)
    if control_port is not None:
        settings["ctrl_tcp_listen"] = f"127.0.0.1:{control_port}"
        modules += CONTROL_MODULES
    lines = [f"{key}\t{value}" for key, value in settings.items()]
    lines += [f"module\t{name}" for name in modules]
    (workdir / "config").write_text("\n".join(lines) + "\n")
    (workdir / "accounts").write_text(account + "\n")
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
    ua = Baresip(process, rtp_ports, log)
    reading: asyncio.Task[None] | None = None
    try:
        if control_port is not None:
            ua.control = await _connect(control_port, process)
            reading = asyncio.create_task(ua.control.read())
        yield ua
    finally:
        if ua.control is not None:
            ua.control.writer.close()
        if reading is not None:
            reading.cancel()
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _connect(port: int, process: asyncio.subprocess.Process) -> BaresipControl:
    """Connect to ctrl_tcp once baresip listens (it starts in well under a second)."""
    for _ in range(100):
        if process.returncode is not None:
            break
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            await asyncio.sleep(0.05)  # polling for the listener, bounded by the loop
            continue
        return BaresipControl(reader, writer)
    raise RuntimeError("baresip's control port did not open")
