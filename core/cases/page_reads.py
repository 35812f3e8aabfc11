"""The case page's reads of the case's own rows, in one statement on PostgreSQL.

The case page shows the case's timeline, tasks, referrals raised, people and documents, and to its owner the
shares and who has viewed it. Each is a fixed statement of its module (``TIMELINE_SQL``, ``TASKS_OF_CASE_SQL``,
...). Sent one by one, each cost the worker a round trip (a socket write, a pool connection and asyncpg's
handling: about as much CPU as the statement cost PostgreSQL) and PostgreSQL a statement's fixed cost. Here the
very same statements are subqueries of one: each one's rows come back as a JSON array, in its own order, and are
turned back into the rows that statement gives (its timestamps and dates as datetimes and dates; a JSON column's
value as the callers' ``_json`` loads it), so the modules' own functions finish them exactly as if they had read them (``rows=``).
``tests/core/test_case_reads.py`` holds the result to the separate statements for every kind of reader.

SQLite is answered in process, where a statement's trip is cheap: there the page sends them one by one
(:func:`case_page_rows` answers None).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from piccolo.columns import JSON, JSONB, Date, Timestamp, Timestamptz

from caseframe.core.cases.service import SUBJECTS_OF_CASE_SQL, TIMELINE_SQL, VIEWERS_SQL
from caseframe.core.cases.tables import Case, CaseEvent
from caseframe.core.documents.service import DOCUMENTS_OF_SQL
from caseframe.core.documents.tables import Document
from caseframe.core.referrals.queries import RAISED_FROM_CASE_SQL
from caseframe.core.referrals.tables import Referral
from caseframe.core.sharing.service import SHARES_OF_SQL
from caseframe.core.tasks.service import TASKS_OF_CASE_SQL
from caseframe.core.tasks.tables import Task

log = logging.getLogger(__name__)

# what a statement's columns are, where JSON does not say it: "at" a timestamp with time zone, "on" a date,
# "json" a JSON column (a raw statement gives its text, which the callers load: an object or array comes loaded
# already, a string is given as its text again)
_TIMELINE_TYPES = {"at": "at", "detail": "json"}
_SUBJECT_TYPES = {"date_of_birth": "on", "flags": "json"}
_SHARE_TYPES = {"shared_at": "at", "starts_on": "on", "ends_on": "on"}
_VIEWER_TYPES = {"at": "at"}


def _types_of(table: Any) -> dict[str, str]:
    """A table's columns that JSON gives as text or objects, for a ``SELECT *`` of it."""
    types = {}
    for column in table._meta.columns:
        name = column._meta.db_column_name
        if isinstance(column, Timestamptz):
            types[name] = "at"
        elif isinstance(column, Timestamp):
            types[name] = "naive"
        elif isinstance(column, Date):
            types[name] = "on"
        elif isinstance(column, (JSON, JSONB)):
            types[name] = "json"
    return types


def _part(name: str, sql: str, order: str) -> str:
    return f"'{name}', (SELECT coalesce(json_agg(x ORDER BY {order}), '[]'::json) FROM ({sql}) x)"


# (name, statement, the order it gives its rows in, how many {} it takes, the column types), the owner's last
_PARTS = (
    ("timeline", TIMELINE_SQL, "x.id DESC", 2, _TIMELINE_TYPES),
    ("tasks", TASKS_OF_CASE_SQL, "x.id", 1, None),
    ("referrals", RAISED_FROM_CASE_SQL, "x.id DESC", 1, None),
    ("subjects", SUBJECTS_OF_CASE_SQL, "x.id", 1, _SUBJECT_TYPES),
    ("documents", DOCUMENTS_OF_SQL, "x.id DESC", 1, None),
    ("shares", SHARES_OF_SQL, "x.id", 1, _SHARE_TYPES),
    ("viewers", VIEWERS_SQL, "x.last_id DESC", 2, _VIEWER_TYPES),
)
_OWNERS_ONLY = {"shares", "viewers"}
_TABLE_TYPES: dict[str, Any] = {"tasks": Task, "referrals": Referral, "documents": Document}


#: bench/profile_case_page.py compares the ways in one run: False sends the statements one by one, as on SQLite
ONE_STATEMENT = True
#: whether the view's audit event and the bell's count go in the one statement (else they are sent alongside)
WITH_VIEW_AND_BELL = True
_STATEMENTS: dict[tuple[bool, str, str], str] = {}


def _statement(owner: bool, view: str, unread: str) -> str:
    """The one statement: the view's event inserted (``view``, an ``INSERT``, or none), then every part's rows and
    the bell's count (``unread``, a statement of one row with ``unread``, or none)."""
    key = (owner, view, unread)
    found = _STATEMENTS.get(key)
    if found is None:
        parts = [_part(n, s, o) for n, s, o, _, _ in _PARTS if owner or n not in _OWNERS_ONLY]
        if unread:
            parts.append(f"'unread', (SELECT u.unread FROM ({unread}) u)")
        found = f"SELECT json_build_object({', '.join(parts)})::text AS page"
        if view:
            # a data-modifying WITH runs whether or not the rest reads it, in the statement's transaction
            found = f"WITH viewed AS ({view}) {found}"
        if len(_STATEMENTS) < 64:  # a text per reading (owner or not) and per number of roles
            _STATEMENTS[key] = found
    return found


# PostgreSQL's infinite dates and times, as asyncpg gives them when it reads a column itself: it stores Python's
# first and last date as -infinity and infinity (a task due on 0001-01-01 is one), which JSON gives as those words
_INFINITE: dict[str, dict[str, Any]] = {
    "at": {
        "-infinity": dt.datetime.min.replace(tzinfo=dt.UTC),
        "infinity": dt.datetime.max.replace(tzinfo=dt.UTC),
    },
    "naive": {"-infinity": dt.datetime.min, "infinity": dt.datetime.max},
    "on": {"-infinity": dt.date.min, "infinity": dt.date.max},
}


def _typed(rows: list[dict[str, Any]], types: dict[str, str]) -> list[dict[str, Any]]:
    for row in rows:
        for name, kind in types.items():
            value = row.get(name)
            if value is None:
                continue
            if kind in _INFINITE and value in _INFINITE[kind]:
                row[name] = _INFINITE[kind][value]
            elif kind == "at":
                row[name] = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
            elif kind == "naive":
                row[name] = dt.datetime.fromisoformat(value)
            elif kind == "on":
                row[name] = dt.date.fromisoformat(value)
            elif isinstance(value, str):  # a JSON string: its text, as a raw statement gives it
                row[name] = json.dumps(value)
    return rows


def uses_one_statement() -> bool:
    return ONE_STATEMENT and Case._meta.db.engine_type == "postgres"


async def case_page_rows(
    case_id: int,
    *,
    owner: bool,
    view: tuple[str, list[Any]] | None = None,
    unread: tuple[str, list[Any]] | None = None,
    timeline_limit: int = 200,
    recent_views: int = 200,
) -> dict[str, Any] | None:
    """The rows of the case page's statements, by name (``timeline``, ``tasks``, ``referrals``, ``subjects``,
    ``documents``, and for the ``owner`` ``shares`` and ``viewers``), as each statement gives them; None on SQLite,
    where the caller reads them one by one. The caller has found that the reader may see the case.

    ``view``: the view's audit event (``cases.view_statement``), inserted by the same statement, so atomic with it;
    ``unread``: the bell's count (``notifications.unread_statement``), given as ``unread``."""
    if not uses_one_statement():
        return None
    args: list[Any] = list(view[1]) if view else []
    for name, _, _, placeholders, _ in _PARTS:
        if owner or name not in _OWNERS_ONLY:
            args.extend(
                [int(case_id)]
                + [int(timeline_limit if name == "timeline" else recent_views)] * (placeholders - 1)
            )
    if unread:
        args.extend(unread[1])
    statement = _statement(owner, view[0] if view else "", unread[0] if unread else "")
    found = await CaseEvent.raw(statement, *args)
    page = json.loads(found[0]["page"])
    try:
        for name, _, _, _, types in _PARTS:
            if name in page:
                table = _TABLE_TYPES.get(name)
                page[name] = _typed(page[name], types if table is None else _table_types(table))
    except ValueError:
        # a value JSON gives in a form Python's types do not take back (none is known: infinite dates are read
        # above): the view is recorded and the bell counted, and the caller reads the case's rows one by one, as on
        # SQLite (each part's own statement)
        log.warning(
            "case %s: the case page's one statement gave a value it cannot read back; read one by one",
            case_id,
        )
        return {"unread": page.get("unread")}
    return page


_TABLE_TYPES_CACHE: dict[Any, dict[str, str]] = {}


def _table_types(table: Any) -> dict[str, str]:
    types = _TABLE_TYPES_CACHE.get(table)
    if types is None:
        types = _TABLE_TYPES_CACHE[table] = _types_of(table)
    return types
