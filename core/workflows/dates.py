"""Date conditions an area declares ("7 days since the notice was served"), checked against core.clock's today."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def answer_at(answers: dict[str, Any] | None, form: str, field: str) -> Any:
    """The answer at JSON pointer ``field`` of ``form`` in a case's answers, or None."""
    node: Any = (answers or {}).get(form)
    for part in field.strip("/").split("/"):
        if isinstance(node, list) and part.isdigit():
            node = node[int(part)] if int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def parse_date(value: Any) -> dt.date | None:
    """A form's date answer ("2026-12-01") as a date; None for anything else, never an exception."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _shift(day: dt.date, days: int) -> dt.date | None:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:  # a date near year 9999: no day to name
        return None


def _possible_from(day: dt.date | None) -> str:
    return f"Possible from {long_date(day)}." if day else "Not possible yet."


def _possible_until(day: dt.date | None) -> str:
    return f"Only possible until {long_date(day)}." if day else "No longer possible."


@dataclass(frozen=True)
class DaysSince:
    """Whole days from a date answer to today (``days_since``), or from today to a date answer
    (``until=True``, ``days_until``), within ``at_least``..``at_most`` (either may be open).

    ``at_least = 0`` reads "today is on or after that date" (or, until, "on or before").
    A missing or malformed answer never holds.
    """

    form: str
    field: str
    at_least: int | None = None
    at_most: int | None = None
    #: the question's title and its form's, for messages
    question: str = ""
    form_title: str = ""
    until: bool = False

    def days(self, answers: dict[str, Any] | None, today: dt.date) -> int | None:
        day = parse_date(answer_at(answers, self.form, self.field))
        return None if day is None else self._days(day, today)

    def _days(self, day: dt.date, today: dt.date) -> int:
        return (day - today).days if self.until else (today - day).days

    def holds(self, answers: dict[str, Any] | None, today: dt.date) -> bool:
        return self.why_not(answers, today) is None

    def why_not(self, answers: dict[str, Any] | None, today: dt.date) -> str | None:
        """None when the condition holds, else a sentence saying why not (and from or until when)."""
        value = answer_at(answers, self.form, self.field)
        where = f"\u2018{self.question or self.field.strip('/')}\u2019 in {self.form_title or self.form}"
        if value is None or value == "":
            return f"{where} is not recorded yet."
        day = parse_date(value)
        if day is None:
            return f"{where} is not a date."
        days = self._days(day, today)
        if self.until:  # days to go: too many is too early, too few (or past) too late
            if self.at_most is not None and days > self.at_most:
                return _possible_from(_shift(day, -self.at_most))
            if self.at_least is not None and days < self.at_least:
                return _possible_until(_shift(day, -self.at_least))
        else:  # days gone: too few is too early, too many too late
            if self.at_least is not None and days < self.at_least:
                return _possible_from(_shift(day, self.at_least))
            if self.at_most is not None and days > self.at_most:
                return _possible_until(_shift(day, self.at_most))
        return None

    def looks_for(self) -> str:
        """What the condition needs, in words, for explaining why a rule fired."""
        if self.at_least == 0 and self.at_most is None:
            return f"the rule needs today to be on or {'before' if self.until else 'after'} this date"
        parts = []
        if self.at_least is not None:
            parts.append(f"{self.at_least} day{'s' if self.at_least != 1 else ''} or more")
        if self.at_most is not None:
            parts.append(f"{self.at_most} day{'s' if self.at_most != 1 else ''} or fewer")
        return (
            "the rule needs "
            + " and ".join(parts)
            + (" until this date" if self.until else " since this date")
        )
