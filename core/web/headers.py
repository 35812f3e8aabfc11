"""The same protective headers on every response: pages, API, redirects, errors, static files and 404s.

They are added as each response starts (``before_send``), after everything else has had its say, so no
route, error handler or file server can send a response without them. A response that set one itself keeps
its own value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: paths whose responses are the product's own files, the same for everyone: they may be cached
STATIC_PREFIXES = ("/static/", "/assets/")

COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"permissions-policy",
        b"accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
        b"microphone=(), payment=(), usb=()",
    ),
    (b"cross-origin-opener-policy", b"same-origin"),
]
#: browsers use HTTPS only for a year once they have seen this (not sent for a local plain-HTTP demo)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
#: everything but the static files is personal or depends on who asks: never kept by a browser or proxy
NO_STORE = (b"cache-control", b"no-store")


def security_headers(*, https: bool) -> Callable[[Any, Any], Any]:
    """A ``before_send`` hook adding the headers; ``https`` adds Strict-Transport-Security."""
    always = COMMON + ([HSTS] if https else [])

    async def add_headers(message: Any, scope: Any) -> None:
        if message["type"] != "http.response.start":
            return
        headers = message.setdefault("headers", [])
        present = {bytes(k).lower() for k, _ in headers}
        wanted = always if scope.get("path", "").startswith(STATIC_PREFIXES) else always + [NO_STORE]
        headers.extend((k, v) for k, v in wanted if k not in present)

    return add_headers
