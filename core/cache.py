"""Short-lived caches, per server process, of lists pages only display.

A cached list is never a permission check: the service that acts on a choice checks it again (sharing
with a partner, referring to a target). Each process forgets at once when it changes what a list
shows; another server process may show the old list for up to the cache's lifetime.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any


class TTLCache:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable) -> Any | None:
        hit = self._items.get(key)
        if hit is None or hit[0] <= time.monotonic():
            return None
        return hit[1]

    def put(self, key: Hashable, value: Any) -> Any:
        if len(self._items) > 1000:  # many agencies and areas: start again rather than grow
            self._items.clear()
        self._items[key] = (time.monotonic() + self.seconds, value)
        return value

    def clear(self) -> None:
        self._items.clear()


_OTHERS: list[Any] = []


def register(clear) -> None:
    """Another per-process cache of database rows (``clear`` empties it), forgotten with the rest."""
    _OTHERS.append(clear)


def forget_everything() -> None:
    """Another database is bound (a test's, a benchmark's): nothing read from the last one may be shown."""
    DIRECTORY.clear()
    for clear in _OTHERS:
        clear()


#: agencies, panels and sharing agreements as the case page offers them (where to refer, whom to share
#: with); cleared by every change to an agency, a panel or an agreement in this process
DIRECTORY = TTLCache(10.0)
