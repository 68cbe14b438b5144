"""X-Forwarded-For is believed only from `[console] trusted_proxies`: a real aiohttp server
on loopback, where the test's connections come from 127.0.0.1."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agent_console.proxies import forwarded_for_middleware, trusted_networks


async def remote_seen(trusted: list[str], forwarded_for: str | None) -> str:
    """request.remote as a handler behind the middleware sees it."""

    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=str(request.remote))

    app = web.Application(middlewares=[forwarded_for_middleware(trusted)])
    app.router.add_get("/", echo)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.make_url("/"), headers=headers) as response:
                assert response.status == 200
                return await response.text()
    finally:
        await server.close()


async def test_a_trusted_proxy_names_the_browser() -> None:
    assert await remote_seen(["127.0.0.1"], "203.0.113.7") == "203.0.113.7"
    assert await remote_seen(["127.0.0.0/8"], "203.0.113.7") == "203.0.113.7"


async def test_what_the_browser_wrote_before_the_proxy_is_not_believed() -> None:
    # nginx appends the address it saw to whatever the browser sent.
    assert await remote_seen(["127.0.0.1"], "198.51.100.9, 203.0.113.7") == "203.0.113.7"


async def test_a_forged_header_from_an_untrusted_peer_is_ignored() -> None:
    assert await remote_seen(["10.0.0.4"], "203.0.113.7") == "127.0.0.1"
    assert await remote_seen([], "203.0.113.7") == "127.0.0.1"


async def test_without_the_header_the_connection_is_the_address() -> None:
    assert await remote_seen(["127.0.0.1"], None) == "127.0.0.1"


def test_a_bad_entry_is_named() -> None:
    with pytest.raises(ValueError, match=r"nginx\.local"):
        trusted_networks(["127.0.0.1", "nginx.local"])
