"""The one place the core reads the time, so tests and demo data can set it."""

from __future__ import annotations

import datetime as dt

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    """The time now, in UTC (moved by :class:`travel`)."""
    return dt.datetime.now(dt.UTC) + _offset


def today() -> dt.date:
    """Today's date in UTC (moved by :class:`travel`)."""
    return now().date()


class travel:
    """Context manager moving the clock by ``days`` (negative: into the past), for demo data and tests."""

    def __init__(self, days: float):
        self.delta = dt.timedelta(days=days)

    def __enter__(self):
        global _offset
        self._saved = _offset
        _offset = _offset + self.delta
        return self

    def __exit__(self, *exc):
        global _offset
        _offset = self._saved
