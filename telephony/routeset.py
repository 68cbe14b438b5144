"""Route sets of dialogs (RFC 3261 §12.1, §12.2.1.1, §16.12): a proxy in front of the gateway
(Kamailio, an SBC) that record-routes stays on the path of every request within the dialog.

Pure: the set is taken from the dialog-creating request or response, and gives each request
within the dialog its Request-URI, its Route headers and its first hop."""

from __future__ import annotations

import ipaddress

from telephony.sip import NameAddr, SipRequest, SipResponse

RouteSet = tuple[str, ...]


def uas_route_set(request: SipRequest) -> RouteSet:
    """The Record-Route values of a request we answer, in their order (§12.1.1); raises
    SipParseError when one is not a name-addr."""
    values = tuple(request.headers.get_all("Record-Route"))
    for value in values:
        NameAddr.parse(value)
    return values


def uac_route_set(response: SipResponse) -> RouteSet:
    """The Record-Route values of the 2xx answering our request, in reverse (§12.1.2); the
    ones that do not parse are left out, as a response cannot be refused."""
    routes: list[str] = []
    for value in reversed(response.headers.get_all("Record-Route")):
        try:
            NameAddr.parse(value)
        except ValueError:
            continue
        routes.append(value)
    return tuple(routes)


def _loose(route: str) -> bool:
    return "lr" in NameAddr.parse(route).uri.params


def request_target(route_set: RouteSet, remote_target: str) -> tuple[str, list[str]]:
    """The Request-URI and Route values of a request within the dialog: to a loose router the
    remote target with every route; to a strict one (no `lr`) the first route as the
    Request-URI, the rest and then the remote target as Routes (§12.2.1.1)."""
    if not route_set:
        return remote_target, []
    if _loose(route_set[0]):
        return remote_target, list(route_set)
    first = str(NameAddr.parse(route_set[0]).uri)
    return first, [*route_set[1:], f"<{remote_target}>"]


def first_hop(route_set: RouteSet, fallback: tuple[str, int]) -> tuple[str, int]:
    """Where a request within the dialog is sent: the first route's address; `fallback` when
    there is no route or it names a host (no name is resolved on the event loop)."""
    if not route_set:
        return fallback
    uri = NameAddr.parse(route_set[0]).uri
    host = uri.host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return fallback
    return (host, uri.port or 5060)
