"""Which network a request comes from, for limits counted per source (failed sign-ins).

The address is the direct peer's, unless that peer is one of the reverse proxies named in
CASEFRAME_TRUSTED_PROXIES: then it is the right-most address in X-Forwarded-For that is not a trusted proxy
(each proxy appends the address it was reached from, so everything left of that was written by the client
and proves nothing). From an untrusted peer the header is ignored, so a client cannot choose its source.
uvicorn's own reading of the header is turned off (core/web/serving.py): this is the one place it is read.

A source is an IPv4 address, or the /64 network of an IPv6 address (one household or server is usually
given a whole /64, so counting single IPv6 addresses would let one machine try from millions).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar import Request

from caseframe.core.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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
    peer: str | None, forwarded_for: Iterable[str], trusted: Iterable[IPNetwork]
) -> IPAddress | None:
    """The client's address: ``peer`` (the direct connection's), or behind trusted proxies the right-most
    untrusted address in the X-Forwarded-For values. None when the peer has no IP address (a Unix socket)."""
    trusted = tuple(trusted)
    address = _parse(peer)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
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


def request_source(request: Request) -> str | None:
    """The source of a request (``source_of`` its client address), or None when it has no IP address."""
    address = client_address(
        request.client.host if request.client else None,
        request.headers.getall("x-forwarded-for", []),
        request.app.state.settings.trusted_proxies,
    )
    return source_of(address) if address is not None else None
