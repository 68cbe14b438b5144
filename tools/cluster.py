"""`make cluster`: two hotline nodes behind Kamailio on this machine, sharing one PostgreSQL
(tools/cluster_launcher.py starts them); prints where to call and sign in, reports role
changes, and starts a node that died again. Ctrl-C ends every process it started, by PID.

    python tools/cluster.py [--workdir var/cluster] [--no-nginx] [--media embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.cluster_launcher import READY_SECONDS, Cluster, ClusterSettings, Node

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
    raise SystemExit(asyncio.run(main()))
