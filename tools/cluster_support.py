"""The processes of a cluster on this machine (tools/cluster_launcher.py): starting and ending
them by PID, waiting for them to answer, and the small writers of their configuration."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Managed:
    """A process this launcher started; `group`: it forks, so its process group is ended."""

    name: str
    process: asyncio.subprocess.Process
    log: Path
    group: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    async def stop(self, timeout: float = 15.0) -> None:
        if self.running:
            self._signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self._signal(signal.SIGKILL)
                await self.process.wait()
        elif self.group:
            self._signal(signal.SIGKILL)  # children left behind by a leader that died

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if self.group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)


def toml_text(sections: Mapping[str, Mapping[str, Any]]) -> str:
    """A config's sections as TOML (strings, numbers, booleans, lists of strings)."""

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int | float):
            return repr(item)
        if isinstance(item, str):
            return json.dumps(item, ensure_ascii=False)
        if isinstance(item, list | tuple):
            return "[" + ", ".join(value(x) for x in item) + "]"
        raise TypeError(f"cannot write {item!r} as TOML")

    lines: list[str] = []
    for name, keys in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{json.dumps(str(k))} = {value(v)}" for k, v in keys.items())
        lines.append("")
    return "\n".join(lines)


def listening(address: tuple[str, int]) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(address) == 0


def child_env(**extra: str) -> dict[str, str]:
    """The environment of the processes started: the config is in the file, whole."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(extra)
    return env


def between(text: str, begin: str, end: str, replacement: str) -> str:
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    if not rest:
        raise ValueError(f"no {begin} … {end} in the text")
    return f"{head}{begin}\n{replacement}    {end}{tail}"


async def create_database(admin_dsn: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_dsn)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def wait_for(check: Any, timeout: float, what: str) -> None:
    async def wrapped() -> bool:
        return bool(check())

    await wait_for_async(wrapped, timeout, what)


async def wait_for_async(check: Any, timeout: float, what: str) -> None:
    """Wait until `check()` is true, asking every 100 ms; RuntimeError after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout:.0f} s")
        await asyncio.sleep(0.1)


async def ng_ping(address: tuple[str, int]) -> bool:
    from telephony.ng import NgClient

    client = NgClient(address, timeout_seconds=1.0)
    try:
        await client.command("ping")
    except Exception:
        return False
    finally:
        client.close()
    return True


async def options_answered(address: tuple[str, int]) -> bool:
    """Whether a SIP OPTIONS to `address` is answered within 300 ms."""
    return await asyncio.to_thread(options_status, address, 0.3) is not None


def options_status(address: tuple[str, int], timeout: float) -> int | None:
    """The status of an OPTIONS sent to `address`, or None without an answer in time."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        port = sock.getsockname()[1]
        probe = (
            f"OPTIONS sip:{address[0]}:{address[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKprobe{port};rport\r\n"
            f"From: <sip:probe@127.0.0.1>;tag=p{port}\r\nTo: <sip:{address[0]}>\r\n"
            f"Call-ID: probe-{port}-{os.getpid()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(probe.encode(), address)
        try:
            answer = sock.recv(65535)
        except OSError:  # timed out, or the port is closed (ICMP)
            return None
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
