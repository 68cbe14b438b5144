"""`make cluster`: two hotline nodes behind Kamailio on this machine, sharing one PostgreSQL.

    python tools/cluster.py [--workdir var/cluster] [--no-nginx] [--media embedded]

Starts (each process ended by its PID on Ctrl-C): PostgreSQL (HOTLINE_CLUSTER_DATABASE_URL,
else the server on 127.0.0.1:5432 with a database `hotline_cluster`, else a private one under
the work directory), rtpengine (deploy/rtpengine/rtpengine.conf), two `hotline serve` nodes on
127.0.0.2 and 127.0.0.3 (all of 127/8 is local on Linux), Kamailio with
deploy/kamailio/cluster.cfg on 127.0.0.1, and nginx with deploy/nginx/hotline.conf when nginx
is installed. The nodes' configs are config/demo.toml with the cluster's addresses, written
into the work directory. Tests start the same cluster on ports of their own (`Cluster`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

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


def _supports_cluster_section() -> bool:
    from hotline.config import HotlineConfig

    return hasattr(HotlineConfig(), "cluster")


def _listening(address: tuple[str, int]) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(address) == 0


def _child_env(**extra: str) -> dict[str, str]:
    """The environment of the processes started: the config is in the file, whole."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(extra)
    return env


class Cluster:
    def __init__(self, settings: ClusterSettings | None = None) -> None:
        self.settings = settings or ClusterSettings()
        self.processes: list[Managed] = []
        self.nodes: list[Node] = []
        self.database_url = ""
        self.nginx_url: str | None = None

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
                env=env or _child_env(),
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
        if _listening(("127.0.0.1", 5432)):
            await _create_database("postgresql://postgres@127.0.0.1:5432/postgres", DATABASE)
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
        await _wait_for(lambda: _listening(("127.0.0.1", port)), 30, "PostgreSQL")
        await _create_database(f"postgresql://postgres@127.0.0.1:{port}/postgres", DATABASE)
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
                env=_child_env(HOTLINE_CONFIG=str(self.nodes[0].config)),
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
        cluster_keys = _supports_cluster_section()
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
                "console": {"host": address, "port": settings.node_console_port},
                "database": {"url": self.database_url},
                "media": {
                    "engine": settings.media_engine,
                    "rtpengine": f"127.0.0.1:{settings.rtpengine_ng}",
                    # Recording needs the embedded engine (it taps the relayed RTP).
                    "recordings_dir": (
                        str(work / "recordings") if settings.media_engine == "embedded" else ""
                    ),
                    "voicemail_dir": str(work / "voicemail"),
                },
                # Kamailio relays every phone's REGISTER: per source it is one address.
                "guard": {"exempt_sources": [settings.proxy[0]]},
                "register_lockout": {"source_failures": 0, "source_long_failures": 0},
                "backup": {"dir": ""},
                "nlp": {"model_path": str(work / "nlp-model.json")},
            }
            if cluster_keys:
                local["cluster"] = {
                    "enabled": True,
                    "lease_key": settings.lease_key,
                    "poll_seconds": 0.5,
                    "node_name": name,
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
            env=_child_env(HOTLINE_CONFIG=str(node.config)),
        )
        async with aiohttp.ClientSession() as http:

            async def answers() -> bool:
                if node.process is None or not node.process.running:
                    log = node.process.log.read_text(errors="replace") if node.process else ""
                    raise RuntimeError(f"{node.name} exited: {log[-3000:]}")
                return await node.role(http) is not None

            await _wait_for_async(answers, READY_SECONDS, f"{node.name}'s console")

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

        await _wait_for_async(one_active, timeout, "an active node")
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
                f"--port-min={low}",
                f"--port-max={high}",
                "--log-stderr",
            ],
        )
        await _wait_for_async(lambda: _ng_ping(("127.0.0.1", ng)), 20, "rtpengine")

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
        await _wait_for_async(lambda: _options_answered((host, port)), 20, "Kamailio")

    def nginx_config(self, port: int) -> Path:
        """A main nginx config under the work directory around deploy/nginx/hotline.conf,
        the nodes' console addresses and the local port put in."""
        work = self.settings.workdir.resolve()
        site = NGINX_SITE.read_text(encoding="utf-8")
        servers = "".join(
            f"    server {n.address}:{n.console_port} max_fails=1 fail_timeout=2s;\n"
            for n in self.nodes
        )
        site = _between(site, "# nodes:begin", "# nodes:end", servers)
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
        await _wait_for(lambda: _listening(("127.0.0.1", port)), 20, "nginx")
        self.nginx_url = f"http://127.0.0.1:{port}"


def _between(text: str, begin: str, end: str, replacement: str) -> str:
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    if not rest:
        raise ValueError(f"no {begin} … {end} in {NGINX_SITE}")
    return f"{head}{begin}\n{replacement}    {end}{tail}"


async def _create_database(admin_dsn: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_dsn)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _wait_for(check: Any, timeout: float, what: str) -> None:
    async def wrapped() -> bool:
        return bool(check())

    await _wait_for_async(wrapped, timeout, what)


async def _wait_for_async(check: Any, timeout: float, what: str) -> None:
    """Wait until `check()` is true, asking every 100 ms; RuntimeError after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout:.0f} s")
        await asyncio.sleep(0.1)


async def _ng_ping(address: tuple[str, int]) -> bool:
    from telephony.ng import NgClient

    client = NgClient(address, timeout_seconds=1.0)
    try:
        await client.command("ping")
    except Exception:
        return False
    finally:
        client.close()
    return True


async def _options_answered(address: tuple[str, int]) -> bool:
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


# --- `make cluster` -------------------------------------------------------------------


ROLE_NAMES = {"active": "主用", "standby": "备用", "unhealthy": "异常", None: "未响应"}


def _summary(cluster: Cluster, active: Node) -> str:
    proxy_host, proxy_port = cluster.sip_address
    console = cluster.nginx_url or active.console_url
    lines = [
        "热线集群已启动：两个节点共用 PostgreSQL，Kamailio 在前，同一时刻只有一个节点主用。",
        f"  市民呼叫：sip:12319@{proxy_host}:{proxy_port}（经 Kamailio 送到主用节点）",
        f"  坐席话机注册：1001@{proxy_host}:{proxy_port}，SIP 密码 sip-1001（1002、1003 同理）",
        f"  控制台：{console}/"
        + ("（nginx，总是指向主用节点）" if cluster.nginx_url else "（主用节点；未装 nginx）"),
        "  节点："
        + "、".join(
            f"{n.name} {n.console_url}/（SIP {n.address}:{n.sip_port}）" for n in cluster.nodes
        ),
        "  演示账号（坐席号 / 控制台密码）：1001 / demo-1001，1002、1003 同理；"
        "值班长 9001 / demo-9001",
        f"  主用节点：{active.name}（{active.address}）",
        f"  数据库：{cluster.database_url}",
        f"  配置与日志：{cluster.settings.workdir}/",
        "  试一试故障切换：kill -9 主用节点的进程，备用节点约 1 秒内接管。按 Ctrl-C 全部停止。",
    ]
    return "\n".join(lines)


async def _watch(cluster: Cluster, stop: asyncio.Event) -> None:
    """Report role changes; a node that died is started again (as systemd's Restart=always
    does), and comes back as the standby."""
    last: dict[str, str | None] = {}
    while not stop.is_set():
        roles = await cluster.roles()
        for node in cluster.nodes:
            if roles[node.name] != last.get(node.name):
                print(
                    f"[{node.name}] {ROLE_NAMES.get(roles[node.name], roles[node.name])}",
                    flush=True,
                )
            if node.process is not None and not node.process.running:
                print(
                    f"[{node.name}] 进程已退出（{node.process.process.returncode}），重新启动",
                    flush=True,
                )
                cluster.processes.remove(node.process)
                with contextlib.suppress(RuntimeError):
                    await cluster.start_node(node)
        last = roles
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=ClusterSettings.workdir)
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--media", choices=("rtpengine", "embedded"), default="rtpengine")
    parser.add_argument("--proxy-port", type=int, default=5060)
    args = parser.parse_args(argv)
    settings = ClusterSettings(
        workdir=args.workdir,
        media_engine=args.media,
        nginx_port=None if args.no_nginx else 8000,
        proxy=("127.0.0.1", args.proxy_port),
    )
    cluster = Cluster(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("正在启动热线集群……", flush=True)
    try:
        await cluster.start()
        active = await cluster.wait_for_active(READY_SECONDS)
        print(_summary(cluster, active), flush=True)
        await _watch(cluster, stop)
    except RuntimeError as error:
        print(f"启动失败：{error}", file=sys.stderr)
        return 1
    finally:
        print("正在停止……", flush=True)
        await cluster.stop()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(asyncio.run(main()))
