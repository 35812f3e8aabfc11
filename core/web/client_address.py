"""Which network a request comes from, for limits counted per source (failed sign-ins).

The address is the direct peer's, unless that peer is one of the reverse proxies named in
CASEFRAME_TRUSTED_PROXIES: then it is the right-most address in X-Forwarded-For that is not a trusted proxy
(each proxy appends the address it was reached from, so everything left of that was written by the client
and proves nothing). From an untrusted peer the header is ignored, so a client cannot choose its source.
uvicorn's own reading of the header is turned off (core/web/serving.py): this is the one place it is read.

A source is an IPv4 address, or the /64 network of an IPv6 address (one household or server is usually
given a whole /64, so counting single IPv6 addresses would let one machine try from millions). A request whose
connection has no IP address (a Unix socket, or an ASGI server that gives no client) is the one source
``UNKNOWN_SOURCE``: it is limited like any other, never left uncounted. A proxy reaching the server over a Unix
socket is trusted only when CASEFRAME_TRUSTED_PROXIES names ``unix``; then its X-Forwarded-For is read as above.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar import Request

from caseframe.core.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: the source of every request whose client has no IP address: one network for all of them
UNKNOWN_SOURCE = "unknown"


def _parse(text: str | None) -> IPAddress | None:
    """An address as a peer or a proxy gives it ("[2001:db8::1]:443" and "192.0.2.1:80" too); None if not one."""
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address(
    peer: str | None,
    forwarded_for: Iterable[str],
    trusted: Iterable[IPNetwork],
    *,
    trust_unix_socket: bool = False,
) -> IPAddress | None:
    """The client's address: ``peer`` (the direct connection's), or behind trusted proxies the right-most
    untrusted address in the X-Forwarded-For values. None when the peer has no IP address (a Unix socket)
    and is not trusted (``trust_unix_socket``) or forwarded no address."""
    trusted = tuple(trusted)
    address = _parse(peer)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    if address is None and not (peer or "").strip() and trust_unix_socket and hops:
        address = _parse(hops.pop())  # the proxy on the socket appended its client last
    while address is not None and hops and any(address in network for network in trusted):
        hop = _parse(hops.pop())
        if hop is None:  # a proxy would not write that: stop at the last address known to be true
            break
        address = hop
    return address


def source_of(address: IPAddress) -> str:
    """The source an address counts as: itself for IPv4, its /64 for IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def request_source(request: Request) -> str:
    """The source of a request: ``source_of`` its client address, or ``UNKNOWN_SOURCE`` when it has none."""
    settings = request.app.state.settings
    address = client_address(
        request.client.host if request.client else None,
        request.headers.getall("x-forwarded-for", []),
        settings.trusted_proxies,
        trust_unix_socket=settings.trust_unix_socket,
    )
    return source_of(address) if address is not None else UNKNOWN_SOURCE
