"""Several nodes on one PostgreSQL: the standby phase of `hotline serve`, and its fencing.

A standby holds no SIP port (a proxy's OPTIONS probes find it down) and answers every console
request 503 with Retry-After, so a proxy in front goes on to the active node. When the lease
is its own, it stops that answer and the whole system starts on the same ports.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable

from aiohttp import web

from agent_console.app import NodeRole, cluster_key
from hotline.config import HotlineConfig
from hotline.lease import Lease

log = logging.getLogger(__name__)

STANDBY_ERROR = "备用节点，等待接管"
# `hotline serve` exits with this status when its lease was lost (EX_TEMPFAIL): a supervisor
# restarting it (systemd Restart=on-failure) brings it back as a standby.
LEASE_LOST_EXIT = 75
# After the lease is lost the normal shutdown runs (the console closes at once, connected
# calls drain for [sip] drain_seconds); this much longer and the process exits regardless.
FENCE_MARGIN_SECONDS = 15.0


class LeaseLost(Exception):
    """The active node's lease failed: it has stopped serving."""


def standby_app(node: str) -> web.Application:
    """Every request: 503, Retry-After 1, and what this node is."""
    body = json.dumps({"role": "standby", "error": STANDBY_ERROR, "node": node}, ensure_ascii=False)

    async def answer(_request: web.Request) -> web.Response:
        return web.Response(
            text=body,
            status=503,
            content_type="application/json",
            headers={"Retry-After": "1"},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


def lease_of(config: HotlineConfig) -> Lease:
    cluster = config.cluster
    return Lease(config.database.url, cluster.lease_key, cluster.poll_seconds, cluster.node)


async def wait_until_active(config: HotlineConfig) -> Lease:
    """Serve the standby answer on the console's port until this node holds the lease."""
    lease = lease_of(config)
    node = lease.node
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        if await lease.try_acquire():
            log.info("lease taken: this node is active", extra={"node": node})
            return lease
        if lease.problem is None:
            log.info("standby: another node is active", extra={"node": node, "key": lease.key})
        else:
            log.warning(
                "standby: PostgreSQL unreachable", extra={"node": node, "error": lease.problem}
            )
        runner = web.AppRunner(standby_app(node), handle_signals=True, shutdown_timeout=1)
        await runner.setup()
        try:
            await web.TCPSite(runner, config.console.host, config.console.port).start()
            await lease.acquire()
        finally:
            await runner.cleanup()
    except BaseException:
        await lease.release()
        raise
    log.warning(
        "lease taken: this standby takes over",
        extra={
            "node": node,
            "waited_seconds": round(loop.time() - began, 1),
        },
    )
    return lease


def mark_active(app: web.Application, lease: Lease) -> None:
    """/healthz and /metrics say which node this is and that it is the active one."""
    app[cluster_key] = NodeRole(lease.node, "active")


async def fenced_shutdown(stopping: Awaitable[None], config: HotlineConfig) -> None:
    """The normal shutdown after the lease was lost, bounded: its database may be gone."""
    try:
        async with asyncio.timeout(config.sip.drain_seconds + FENCE_MARGIN_SECONDS):
            await stopping
    except TimeoutError:
        log.error("shutdown after the lease was lost did not finish; exiting regardless")
