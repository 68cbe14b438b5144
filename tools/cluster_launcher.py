"""Two hotline nodes behind Kamailio on this machine, sharing one PostgreSQL: what `make
cluster` (tools/cluster.py) runs, and what the cluster tests and benchmarks start on ports of
their own (`Cluster`, `ClusterSettings`).

It starts (each process ended by its PID): PostgreSQL (HOTLINE_CLUSTER_DATABASE_URL, else the
server on 127.0.0.1:5432 with a database `hotline_cluster`, else a private one under the work
directory), rtpengine (deploy/rtpengine/rtpengine.conf, recording into the work directory), two
`hotline serve` nodes on 127.0.0.2 and 127.0.0.3 (all of 127/8 is local on Linux), Kamailio
with deploy/kamailio/cluster.cfg on 127.0.0.1, and nginx with deploy/nginx/hotline.conf when
nginx is installed. The nodes' configs are config/demo.toml with the cluster's addresses,
written into the work directory.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tools.cluster_support import (
    Managed,
    between,
    child_env,
    create_database,
    listening,
    ng_ping,
    options_answered,
    toml_text,
    wait_for,
    wait_for_async,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "config" / "demo.toml"
KAMAILIO_CFG = ROOT / "deploy" / "kamailio" / "cluster.cfg"
RTPENGINE_CONF = ROOT / "deploy" / "rtpengine" / "rtpengine.conf"
NGINX_SITE = ROOT / "deploy" / "nginx" / "hotline.conf"
DATABASE = "hotline_cluster"
READY_SECONDS = 60.0


@dataclass
class ClusterSettings:
    """What and where; every port can be moved (tests take free ones)."""

    workdir: Path = ROOT / "var" / "cluster"
    node_addresses: tuple[str, ...] = ("127.0.0.2", "127.0.0.3")
    node_sip_port: int = 5060
    node_console_port: int = 8080
    rtp_ports: tuple[int, int] = (20000, 21999)  # shared out between the nodes
    proxy: tuple[str, int] = ("127.0.0.1", 5060)
    rtpengine_ng: int = 22222
    rtpengine_cli: int = 22223
    rtpengine_ports: tuple[int, int] = (30000, 30999)
    media_engine: str = "rtpengine"  # or "embedded": no rtpengine started
    nginx_port: int | None = 8000  # None: no nginx even if installed
    database_url: str | None = None  # None: HOTLINE_CLUSTER_DATABASE_URL, local server, private
    private_pg_port: int = 55432
    lease_key: int = 16016
    demo_agents: bool = True
    # Merged into every node's config, section by section (tests: their dispatch core ...).
    overrides: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


@dataclass
class Node:
    name: str
    address: str
    sip_port: int
    console_port: int
    config: Path
    process: Managed | None = None

    @property
    def console_url(self) -> str:
        return f"http://{self.address}:{self.console_port}"

    def kill(self) -> int:
        """kill -9 by its PID (a crash: no drain, no goodbye); the PID killed."""
        assert self.process is not None
        pid = self.process.pid
        os.kill(pid, signal.SIGKILL)
        return pid

    async def role(self, http: aiohttp.ClientSession) -> str | None:
        """'active', 'standby', 'unhealthy' (a part down) or None (not answering)."""
        try:
            async with http.get(
                self.console_url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        if isinstance(body, dict) and body.get("role") == "standby":
            return "standby"
        return "active" if response.status == 200 else "unhealthy"


class Cluster:
    def __init__(self, settings: ClusterSettings | None = None) -> None:
        self.settings = settings or ClusterSettings()
        self.processes: list[Managed] = []
        self.nodes: list[Node] = []
        self.database_url = ""
        self.nginx_url: str | None = None

    @property
    def rtpengine_spool(self) -> Path:
        """rtpengine's recording-dir: its pcaps, turned into WAVs by the active node."""
        return self.settings.workdir.resolve() / "rtpengine-spool"

    @property
    def sip_address(self) -> tuple[str, int]:
        """Where citizens' calls and phones' REGISTERs go: Kamailio."""
        return self.settings.proxy

    # --- start and stop ---------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        settings.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.database_url = await self._database()
            self.write_configs()
            await self._prepare_database()
            if settings.media_engine == "rtpengine":
                await self._start_rtpengine()
            for node in self.nodes:
                await self.start_node(node)
            await self._start_kamailio()
            if settings.nginx_port is not None and shutil.which("nginx"):
                await self._start_nginx()
            await self.wait_for_active(READY_SECONDS)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """End every process started here, by its PID, the last started first."""
        for managed in reversed(self.processes):
            await managed.stop()
        self.processes.clear()

    async def _spawn(
        self,
        name: str,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        group: bool = False,
        cwd: Path = ROOT,
    ) -> Managed:
        log = self.settings.workdir / f"{name}.log"
        with log.open("ab") as output:
            process = await asyncio.create_subprocess_exec(
                *args,
                cwd=cwd,
                env=env or child_env(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=group,
            )
        managed = Managed(name, process, log, group)
        self.processes.append(managed)
        return managed

    # --- PostgreSQL -----------------------------------------------------------------------

    async def _database(self) -> str:
        if self.settings.database_url:
            return self.settings.database_url
        url = os.environ.get("HOTLINE_CLUSTER_DATABASE_URL")
        if url:
            return url
        if listening(("127.0.0.1", 5432)):
            await create_database("postgresql://postgres@127.0.0.1:5432/postgres", DATABASE)
            return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"
        return await self._private_postgres()

    async def _private_postgres(self) -> str:
        """A PostgreSQL of its own under the work directory (Debian's binaries), as the
        `postgres` user when run as root (PostgreSQL refuses to run as root)."""
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        bin_dir, data = bins[-1], self.settings.workdir / "pg"
        as_user: list[str] = []
        if os.geteuid() == 0:
            as_user = ["runuser", "-u", "postgres", "--"]
            data.mkdir(exist_ok=True)
            owner = pwd.getpwnam("postgres")
            os.chown(data, owner.pw_uid, owner.pw_gid)
        if not (data / "PG_VERSION").exists():
            initdb = await asyncio.create_subprocess_exec(
                *as_user,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                stdout=asyncio.subprocess.DEVNULL,
            )
            if await initdb.wait() != 0:
                raise RuntimeError("initdb failed")
        port = self.settings.private_pg_port
        args = [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1"]
        args += ["-p", str(port), "-k", str(data)]
        await self._spawn("postgres", [*as_user, *args])
        await wait_for(lambda: listening(("127.0.0.1", port)), 30, "PostgreSQL")
        await create_database(f"postgresql://postgres@127.0.0.1:{port}/postgres", DATABASE)
        return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{DATABASE}"

    async def _prepare_database(self) -> None:
        commands = [["migrate"]] + ([["demo-agents"]] if self.settings.demo_agents else [])
        for command in commands:
            done = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hotline.cli",
                *command,
                cwd=ROOT,
                env=child_env(HOTLINE_CONFIG=str(self.nodes[0].config)),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await done.communicate()
            if done.returncode != 0:
                raise RuntimeError(f"hotline {command[0]} failed: {output.decode()[-2000:]}")

    # --- the nodes --------------------------------------------------------------------

    def write_configs(self) -> None:
        """Each node's TOML file under the work directory, from config/demo.toml."""
        settings = self.settings
        base = tomllib.loads(DEMO.read_text(encoding="utf-8"))
        low, high = settings.rtp_ports
        share = (high - low + 1) // len(settings.node_addresses)
        work = settings.workdir.resolve()
        self.nodes = []
        for index, address in enumerate(settings.node_addresses):
            name = f"node-{chr(ord('a') + index)}"
            sections: dict[str, dict[str, Any]] = {k: dict(v) for k, v in base.items()}
            local = {
                "sip": {
                    "host": address,
                    "port": settings.node_sip_port,
                    "advertised_host": address,
                    "trunk_peers": [settings.proxy[0]],
                    "nonce_secret": "cluster-demo-nonce",
                    "rtp_port_min": low + index * share,
                    "rtp_port_max": low + (index + 1) * share - 1,
                },
                "console": {
                    "host": address,
                    "port": settings.node_console_port,
                    # nginx (on this machine) names the browser in X-Forwarded-For.
                    "trusted_proxies": ["127.0.0.1"],
                },
                "database": {"url": self.database_url},
                "media": {
                    "engine": settings.media_engine,
                    "rtpengine": f"127.0.0.1:{settings.rtpengine_ng}",
                    # Every bridged call recorded; under rtpengine from its captures in
                    # its recording-dir, which both nodes see (one machine).
                    "recordings_dir": str(work / "recordings"),
                    "rtpengine_recording_dir": (
                        str(self.rtpengine_spool) if settings.media_engine == "rtpengine" else ""
                    ),
                    "voicemail_dir": str(work / "voicemail"),
                },
                # Kamailio relays every phone's REGISTER: per source it is one address.
                "guard": {"exempt_sources": [settings.proxy[0]]},
                "register_lockout": {"source_failures": 0, "source_long_failures": 0},
                "backup": {"dir": ""},
                "nlp": {"model_path": str(work / "nlp-model.json")},
                "cluster": {
                    "enabled": True,
                    "lease_key": settings.lease_key,
                    "poll_seconds": 0.5,
                    "node_name": name,
                },
            }
            for section_map in (local, settings.overrides):
                for section, keys in section_map.items():
                    sections.setdefault(section, {}).update(keys)
            path = work / f"{name}.toml"
            header = f"# {name} of `make cluster` (tools/cluster.py), from config/demo.toml.\n\n"
            path.write_text(header + toml_text(sections), encoding="utf-8")
            node = Node(name, address, settings.node_sip_port, settings.node_console_port, path)
            self.nodes.append(node)

    async def start_node(self, node: Node) -> None:
        """Start (or start again) a node; returns once its console answers (either role)."""
        node.process = await self._spawn(
            node.name,
            [sys.executable, "-m", "hotline.cli", "serve", "--plain-logs"],
            env=child_env(HOTLINE_CONFIG=str(node.config)),
        )
        async with aiohttp.ClientSession() as http:

            async def answers() -> bool:
                if node.process is None or not node.process.running:
                    log = node.process.log.read_text(errors="replace") if node.process else ""
                    raise RuntimeError(f"{node.name} exited: {log[-3000:]}")
                return await node.role(http) is not None

            await wait_for_async(answers, READY_SECONDS, f"{node.name}'s console")

    async def roles(self) -> dict[str, str | None]:
        async with aiohttp.ClientSession() as http:
            found = await asyncio.gather(*(node.role(http) for node in self.nodes))
        return {node.name: role for node, role in zip(self.nodes, found, strict=True)}

    async def wait_for_active(self, timeout: float, besides: Node | None = None) -> Node:
        """The node that says it is active (not `besides`), waiting up to `timeout`."""
        chosen: list[Node] = []

        async def one_active() -> bool:
            roles = await self.roles()
            chosen[:] = [n for n in self.nodes if roles[n.name] == "active" and n is not besides]
            return bool(chosen)

        await wait_for_async(one_active, timeout, "an active node")
        return chosen[0]

    # --- rtpengine, Kamailio, nginx ---------------------------------------------------

    async def _start_rtpengine(self) -> None:
        binary = shutil.which("rtpengine")
        if binary is None:
            raise RuntimeError("rtpengine is not installed (apt-get install rtpengine-daemon)")
        low, high = self.settings.rtpengine_ports
        ng = self.settings.rtpengine_ng
        await self._spawn(
            "rtpengine",
            [
                binary,
                f"--config-file={RTPENGINE_CONF}",
                f"--listen-ng=127.0.0.1:{ng}",
                # Its own CLI port: two rtpengines on their default one clash.
                f"--listen-cli=127.0.0.1:{self.settings.rtpengine_cli}",
                f"--port-min={low}",
                f"--port-max={high}",
                f"--recording-dir={self.rtpengine_spool}",
                "--log-stderr",
            ],
        )
        await wait_for_async(lambda: ng_ping(("127.0.0.1", ng)), 20, "rtpengine")

    async def _start_kamailio(self) -> None:
        binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
        if not Path(binary).exists():
            raise RuntimeError("kamailio is not installed (apt-get install kamailio)")
        work = self.settings.workdir.resolve()
        nodes = work / "cluster.list"
        nodes.write_text(
            '# The hotline nodes of `make cluster`: "setid destination".\n'
            + "".join(f"1 sip:{n.address}:{n.sip_port}\n" for n in self.nodes)
        )
        host, port = self.settings.proxy
        await self._spawn(
            "kamailio",
            [
                binary,
                "-f",
                str(KAMAILIO_CFG),
                "-l",
                f"udp:{host}:{port}",
                "-DD",
                "-E",
                "-m",
                "64",
                "-M",
                "8",
                "-Y",
                str(work),
                "-w",
                str(work),
                f'-ADISPATCHER_LIST="{nodes}"',
            ],
            group=True,
        )
        await wait_for_async(lambda: options_answered((host, port)), 20, "Kamailio")

    def nginx_config(self, port: int) -> Path:
        """A main nginx config under the work directory around deploy/nginx/hotline.conf,
        the nodes' console addresses and the local port put in."""
        work = self.settings.workdir.resolve()
        site = NGINX_SITE.read_text(encoding="utf-8")
        servers = "".join(
            f"    server {n.address}:{n.console_port} max_fails=1 fail_timeout=2s;\n"
            for n in self.nodes
        )
        site = between(site, "# nodes:begin", "# nodes:end", servers)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
        temp = work / "nginx"
        temp.mkdir(exist_ok=True)
        conf = temp / "nginx.conf"
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"{user}pid {temp}/nginx.pid;\nerror_log {temp}/error.log;\ndaemon off;\n"
            "worker_processes 1;\nevents { worker_connections 256; }\nhttp {\n"
            f"  access_log {temp}/access.log;\n"
            f"  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
            f"  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n"
            f"  scgi_temp_path {temp}/scgi;\n{site}\n}}\n"
        )
        return conf

    async def _start_nginx(self) -> None:
        port = self.settings.nginx_port
        assert port is not None
        conf = self.nginx_config(port)
        await self._spawn("nginx", ["nginx", "-c", str(conf), "-p", str(conf.parent)])
        await wait_for(lambda: listening(("127.0.0.1", port)), 20, "nginx")
        self.nginx_url = f"http://127.0.0.1:{port}"
