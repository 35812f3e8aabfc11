"""The one parser for a whole number someone sent: an id, a version, a page, a count; in an address, a query, a
form or an API body, everywhere the same.

Python's own tests are too generous for input: ``str.isdigit()`` says yes to a superscript ``²`` (which ``int()``
then refuses with an error), and ``int()`` reads Arabic-Indic ``١``, fullwidth ``１``, ``1_000``, ``+1`` and numbers
of thousands of digits (until it refuses those too). Here only the ASCII digits 0-9 make a number.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from caseframe.core import clock

#: ASCII digits only (``\\d`` would take every script's digits); 30 is far beyond any id, page or count
_DIGITS = re.compile(r"[0-9]{1,30}")


def whole_number(value: Any) -> int | None:
    """``value`` as a whole number when it is ASCII digits (spaces around them allowed), else None.

    None also for a sign, an underscore, other scripts' digits and more than 30 digits. What is too large for
    the purpose (an id beyond ``caseframe.core.db.MAX_ID``, a page past the last) is the caller's to decide.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    raw = value.strip(" \t")
    return int(raw) if _DIGITS.fullmatch(raw) else None


def is_whole_number(value: Any) -> bool:
    return whole_number(value) is not None


def page_number(value: Any, last: int | None = None) -> int:
    """A page asked for in a query: 1 for anything that is not a number, clamped to 1..last."""
    number = max(whole_number(value) or 1, 1)
    return min(number, last) if last is not None else number


def page_links(number: int, pages: int) -> list[int | None]:
    """The page numbers a list's pagination links to, as the GOV.UK pattern has them: the first and last pages,
    the current page and its neighbours, and None for an ellipsis where pages are left out (a gap of one page
    shows that page instead). An area of 10,000 cases has 400 pages: the list linked to every one of them."""
    if pages <= 1:
        return [1] if pages == 1 else []
    number = min(max(number, 1), pages)
    shown = sorted({1, pages, number - 1, number, number + 1} & set(range(1, pages + 1)))
    links: list[int | None] = []
    for n in shown:
        if links and n - (links[-1] or 0) == 2:
            links.append(n - 1)
        elif links and n - (links[-1] or 0) > 2:
            links.append(None)
        links.append(n)
    return links


def date_text(year: Any, month: Any, day: Any) -> str:
    """A date typed as day, month and year boxes, as ISO text for the form's validation to judge: "2027-03-09"
    when each box holds a number (a month 13 is then the validation's to name), else with "?" for what is not."""
    parts = [whole_number(p) for p in (year, month, day)]
    if None in parts:
        return "-".join(
            str(p).strip() or "?" if n is None else str(n)
            for p, n in zip((year, month, day), parts, strict=False)
        )
    y, m, d = parts
    return f"{y:04d}-{m:02d}-{d:02d}"


def far_date(day: dt.date, years: int, what: str) -> str | None:
    """What is wrong with ``day`` if it is more than ``years`` years from today, either way, else None: a date a
    person enters for work to be done (a due date, a meeting, a review) is refused outside, as a year typed wrong
    (0001, 9999), which no later date arithmetic would survive. ``what`` names it: "due date"."""
    if abs((day - clock.today()).days) <= years * 366:
        return None
    return f"The {what} must be within {years} years of today: check the year"


def date_from_parts(year: Any, month: Any, day: Any) -> dt.date | None:
    """The real date the three boxes name, or None (not numbers, or no such day)."""
    try:
        return dt.date.fromisoformat(date_text(year, month, day))
    except ValueError:
        return None


def typed_date(data: Any, name: str) -> str:
    """The date in a form's ``name-year``, ``name-month`` and ``name-day`` boxes as :func:`date_text`; "" when
    all three are empty."""
    parts = [str(data.get(f"{name}-{p}", "") or "").strip() for p in ("year", "month", "day")]
    return date_text(*parts) if any(parts) else ""


def index_or_name(part: str) -> int | str:
    """One step of a JSON pointer: an item's index when it is a number, else a property's name."""
    number = whole_number(part)
    return part if number is None or part != str(number) else number
