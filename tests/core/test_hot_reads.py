"""The pages caseworkers open all day read the tables that grow without end (cases, their events, tasks, referrals,
the audit trail, notifications, persons, agendas) through an index, never by walking the whole table: such a read
costs nothing in a test database and makes every page dearer with every case anyone records.

The owner, the panel chair, a partner, a local admin and a system admin walk My work, a case page, the area list,
referrals (waiting, decided, sent), a person, the person search, panels, a meeting, notifications, the dashboard,
the audit trail and the admin pages, and the same through the API; every SELECT the pages sent is explained by
SQLite, and a full scan of a growing table fails the test, naming the statement. SQLite's plans follow from the
schema alone (no statistics are gathered), so this holds each index to the read it serves.
"""

from __future__ import annotations

import sqlite3

import pytest

from caseframe.core.cases.tables import Case, CaseSubject
from caseframe.core.db.engine import SharedConnectionSQLiteEngine, is_sqlite
from caseframe.core.testing import TEST_PASSWORD, make_context, make_user, sign_in, web_client
from tests.fixtures.areas import noise_plugin
from tests.fixtures.partnership import make_panel_world

#: tables that grow with the work recorded; the others hold an agency's set-up (agencies, users, panels, ISAs)
GROWING = {
    "cf_audit",
    "cf_case",
    "cf_case_event",
    "cf_case_share",
    "cf_case_subject",
    "cf_document",
    "cf_agenda_item",
    "cf_meeting",
    "cf_minute",
    "cf_notification",
    "cf_person",
    "cf_person_name_word",
    "cf_referral",
    "cf_referral_message",
    "cf_rule_firing",
    "cf_session",
    "cf_task",
}


@pytest.fixture
def ctx():
    return make_context(noise_plugin)


def _scans(plan: list[tuple], aliases: dict[str, str], limited: bool) -> list[str]:
    """The growing tables a plan reads whole (``SCAN t``, also ``SCAN t USING INDEX`` over all of an index). A walk
    of an index in its order under a LIMIT (the newest 200 decided referrals) stops when it has enough: allowed."""
    out = []
    for row in plan:
        detail = str(row[3])
        if detail.startswith("SCAN ") and not (limited and " USING INDEX " in detail):
            name = detail.split()[1]
            table = aliases.get(name, name)
            if table in GROWING:
                out.append(detail)
    return out


def _aliases(sql: str) -> dict[str, str]:
    """``FROM cf_case_event e`` and ``JOIN cf_task t``: each alias to its table."""
    words = sql.replace("(", " ").replace(")", " ").replace(",", " ").split()
    out = {}
    for before, table, alias in zip(words, words[1:], words[2:], strict=False):
        if before.upper() in ("FROM", "JOIN") and table.strip('"').startswith("cf_"):
            out[alias.strip('"')] = table.strip('"')
    return out


async def test_the_everyday_pages_read_no_growing_table_whole(db, ctx, monkeypatch):
    if not is_sqlite(Case._meta.db):
        pytest.skip("SQLite's plans follow from the schema alone; PostgreSQL's from statistics")
    world = await make_panel_world(ctx)
    case_id = world["case"]["id"]
    subject = await CaseSubject.select(CaseSubject.person).where(CaseSubject.case == case_id).first()
    sent: list[tuple[str, str, list]] = []
    page = [""]
    original = SharedConnectionSQLiteEngine._run_in_existing_connection

    async def recorded(self, connection, query, args=None, query_type="generic", table=None):
        sent.append((page[0], query, list(args or [])))
        return await original(self, connection, query, args, query_type, table)

    monkeypatch.setattr(SharedConnectionSQLiteEngine, "_run_in_existing_connection", recorded)
    paths = [
        "/",
        f"/cases/{case_id}",
        "/areas/noise",
        "/referrals",
        "/persons",
        f"/persons/{subject['person']}",
        "/panels",
        f"/meetings/{world['meeting']['id']}",
        "/notifications",
        "/dashboard",
        "/referrals?box=decided",
        "/referrals?box=sent",
        "/audit",
        "/admin/users",
        "/admin/agencies",
    ]
    api = [
        "/api/v1/cases",
        f"/api/v1/cases/{case_id}",
        f"/api/v1/cases/{case_id}/referrals",
        "/api/v1/referrals",
        "/api/v1/referrals?box=decided",
        "/api/v1/referrals?box=sent",
        f"/api/v1/persons/{subject['person']}",
        "/api/v1/persons?name=Smith",
    ]
    world["local_admin"] = await make_user(world["council"], ("local_admin",), name="Lou Admin")
    walked = 0
    for who in ("owner", "chair", "officer", "local_admin", "admin"):
        async with web_client(ctx, db) as client:
            page[0] = f"{who} signing in"
            await sign_in(client, world[who])
            for path in paths:
                page[0] = f"{who} {path}"
                response = await client.get(path)
                assert response.status_code in (200, 403, 404), (page[0], response.status_code)
                walked += response.status_code == 200
            page[0] = f"{who} person search"
            token = (await client.get("/persons")).text.split('name="csrf_token" value="')[1].split('"')[0]
            response = await client.post("/persons/search", data={"name": "Smith", "csrf_token": token})
            assert response.status_code == 200
            signed_in = await client.post(
                "/api/v1/session", json={"email": world[who].email, "password": TEST_PASSWORD}
            )
            bearer = {"Authorization": f"Bearer {signed_in.json()['token']}"}
            for path in api:
                page[0] = f"{who} {path}"
                response = await client.get(path, headers=bearer)
                assert response.status_code in (200, 403, 404), (page[0], response.status_code)
                walked += response.status_code == 200
    assert walked >= 60  # the walk reached the pages, not only refusals
    con = sqlite3.connect(Case._meta.db.path)
    try:
        found = []
        for where, sql, args in sent:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            plan = con.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
            scans = _scans(plan, _aliases(sql), " LIMIT " in sql.upper())
            if scans:
                found.append(f"{where}: {', '.join(scans)} in {' '.join(sql.split())[:300]}")
    finally:
        con.close()
    assert not found, "reads that scan a growing table whole:\n" + "\n".join(sorted(set(found)))
