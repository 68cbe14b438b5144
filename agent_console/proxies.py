"""The browser's address when the console is reached through a reverse proxy (nginx in front
of the nodes): every connection then comes from the proxy, and only the proxy's
X-Forwarded-For says who the browser is. It is believed only on a connection from one of
`[console] trusted_proxies`; anyone else could write the header to pass for another address
(and escape the login throttling kept per address)."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_remotes import XForwardedFiltered


def trusted_networks(entries: Sequence[str]) -> list[IPv4Network | IPv6Network]:
    """Addresses or networks ("127.0.0.1", "10.0.0.0/24"); ValueError names a bad one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"[console] trusted_proxies: {entry!r} is not an address or network"
            ) from None
    return networks


def forwarded_for_middleware(entries: Sequence[str]) -> Middleware:
    """request.remote becomes the browser's address (the right-most address in
    X-Forwarded-For that is not a trusted proxy, as aiohttp-remotes picks it), but only when
    the connection itself comes from a trusted proxy; otherwise the header is ignored."""
    networks = trusted_networks(entries)
    behind_proxy = XForwardedFiltered(networks)

    def from_proxy(request: web.Request) -> bool:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if not isinstance(peer, tuple) or not peer:
            return False  # a Unix socket, or a closed transport
        try:
            address = ip_address(peer[0])
        except ValueError:
            return False
        return any(address in network for network in networks)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if networks and from_proxy(request):
            return await behind_proxy.middleware(request, handler)
        return await handler(request)

    return middleware
