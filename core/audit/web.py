"""The audit viewer: local admins see their agency's events, system admins everyone's; filters and CSV export."""
from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlencode
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.response import Template

from core.agencies.tables import Agency
from core.audit import service as audit
from core.audit.tables import AuditEvent
from core.auth.tables import User
from core.db import MAX_ID
from core.db.tx import transaction
from core.errors import Forbidden
from core.web.auth import current_actor
from core.web.pages import NO_STORE, page

PAGE_SIZE = 50
EXPORT_LIMIT = 50000


def _filters(request: Request) -> tuple[Any, dict[str, str]]:
    actor = current_actor(request)
    if not actor.has("local_admin", "system_admin"):
        raise Forbidden("Only an admin can read the audit trail")
    q = request.query_params
    values = {k: (q.get(k) or "").strip()[:100] for k in ("action", "user", "object_type", "object_id", "purpose",
                                                          "from", "to")}
    where = AuditEvent.id > 0
    if not actor.has("system_admin"):
        where &= AuditEvent.agency_id == actor.agency_id
    if values["action"]:
        where &= AuditEvent.action.like(values["action"].replace("%", "") + "%")
    # an id too large for the database names no one: the filter then matches nothing
    if values["user"].isdigit():
        where &= AuditEvent.actor_id == int(values["user"]) if int(values["user"]) <= MAX_ID else AuditEvent.id < 0
    if values["object_type"]:
        where &= AuditEvent.object_type == values["object_type"]
    if values["object_id"].isdigit():
        where &= AuditEvent.object_id == int(values["object_id"]) if int(values["object_id"]) <= MAX_ID else AuditEvent.id < 0
    if values["purpose"]:
        where &= AuditEvent.purpose == values["purpose"]
    for key, op in (("from", "ge"), ("to", "lt")):
        if values[key]:
            try:
                day = dt.date.fromisoformat(values[key])
            except ValueError:
                values[key] = ""
                continue
            moment = dt.datetime.combine(day + dt.timedelta(days=1 if key == "to" else 0), dt.time(),
                                         tzinfo=dt.timezone.utc)
            where &= (AuditEvent.at >= moment) if op == "ge" else (AuditEvent.at < moment)
    return where, values


async def _named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    users = {u["id"]: u["name"] for u in await User.select(User.id, User.name).where(
        User.id.is_in(sorted({r["actor_id"] for r in rows if r["actor_id"]}) or [0]))}
    agencies = {a["id"]: a["name"] for a in await Agency.select(Agency.id, Agency.name).where(
        Agency.id.is_in(sorted({r["agency_id"] for r in rows if r["agency_id"]}) or [0]))}
    return [{**r, "user": users.get(r["actor_id"], "System" if not r["actor_id"] else "Unknown user"),
             "agency": agencies.get(r["agency_id"], "")} for r in rows]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # a spreadsheet must never run what a user typed: neutralise formula-like cells
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class AuditPages(Controller):
    path = "/audit"
    include_in_schema = False

    @get("/")
    async def list_events(self, request: Request) -> Template:
        where, values = _filters(request)
        try:
            number = max(int(request.query_params.get("page", "1")), 1)
        except ValueError:
            number = 1
        total = await AuditEvent.count().where(where)
        rows = await AuditEvent.select().where(where).order_by(AuditEvent.id, ascending=False).limit(
            PAGE_SIZE).offset((number - 1) * PAGE_SIZE).output(load_json=True)
        query = urlencode({k: v for k, v in values.items() if v})
        return await page(request, "audit/list.html", events=await _named(rows), values=values, total=total,
                          number=number, pages=max(1, -(-total // PAGE_SIZE)), query=query)

    @get("/export.csv")
    async def export(self, request: Request) -> Response:
        where, values = _filters(request)
        rows = await AuditEvent.select().where(where).order_by(AuditEvent.id, ascending=False).limit(
            EXPORT_LIMIT).output(load_json=True)
        async with transaction():
            await audit.record("audit.export", current_actor(request), detail={"filters": values, "rows": len(rows)})
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "when", "user", "agency", "action", "object type", "object id", "purpose", "detail"])
        for r in await _named(rows):
            writer.writerow([_cell(v) for v in (r["id"], r["at"].isoformat(), r["user"], r["agency"], r["action"],
                                                r["object_type"], r["object_id"], r["purpose"], r["detail"])])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            **NO_STORE, "Content-Disposition": 'attachment; filename="caseframe-audit.csv"'})
