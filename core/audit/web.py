"""The audit viewer: local admins see their agency's events, system admins everyone's; filters and CSV export."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.response import Template

from core import permissions
from core.agencies.tables import Agency
from core.audit import service as audit
from core.audit.tables import AuditEvent
from core.auth.tables import User
from core.db import MAX_ID
from core.db.tx import transaction
from core.numbers import page_number
from core.web.auth import current_actor
from core.web.csv_export import safe_cell
from core.web.pages import NO_STORE, form_int, html_error, page

PAGE_SIZE = 50
EXPORT_LIMIT = 50000


FIELDS = ("action", "user", "object_type", "object_id", "purpose", "from", "to")


def _filters(request: Request) -> tuple[Any, dict[str, str], list[dict[str, str]]]:
    """The filters asked for as a query, their values, and what is wrong with them (in words, per field)."""
    actor = current_actor(request)
    permissions.require(actor, "audit.read")
    q = request.query_params
    values = {k: (q.get(k) or "").strip()[:100] for k in FIELDS}
    errors: list[dict[str, str]] = []
    where = AuditEvent.id > 0
    if not permissions.can(actor, "audit.read_all"):  # a local admin: their own agency's events
        where &= AuditEvent.agency_id == actor.agency_id
    if values["action"]:
        where &= AuditEvent.action.like(values["action"].replace("%", "") + "%")
    for key, column, label in (("user", AuditEvent.actor_id, "User number"),
                               ("object_id", AuditEvent.object_id, "Object number")):
        if not values[key]:
            continue
        number = form_int(values[key])
        if number is None:
            errors.append({"field": f"/audit-{key}", "message": f"{label} must be a whole number, like 42"})
        else:  # an id too large for the database names nothing: the filter then matches nothing
            where &= (column == number) if number <= MAX_ID else (AuditEvent.id < 0)
    if values["object_type"]:
        where &= AuditEvent.object_type == values["object_type"]
    if values["purpose"]:
        where &= AuditEvent.purpose == values["purpose"]
    days: dict[str, dt.date] = {}
    for key, word in (("from", "From"), ("to", "To")):
        if not values[key]:
            continue
        try:
            days[key] = dt.date.fromisoformat(values[key]) if len(values[key]) == 10 else None
        except ValueError:
            days[key] = None
        if days[key] is None:
            days.pop(key)
            errors.append({"field": f"/audit-{key}",
                           "message": f"{word} must be a real date written YYYY-MM-DD, like 2026-11-30"})
    if "from" in days and "to" in days and days["to"] < days["from"]:
        errors.append({"field": "/audit-to", "message": "To must be the same day as From or later"})
    if "from" in days:
        where &= AuditEvent.at >= dt.datetime.combine(days["from"], dt.time(), tzinfo=dt.UTC)
    if "to" in days:
        where &= AuditEvent.at < dt.datetime.combine(days["to"] + dt.timedelta(days=1), dt.time(),
                                                     tzinfo=dt.UTC)
    return where, values, errors


async def _named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    users = {u["id"]: u["name"] for u in await User.select(User.id, User.name).where(
        User.id.is_in(sorted({r["actor_id"] for r in rows if r["actor_id"]}) or [0]))}
    agencies = {a["id"]: a["name"] for a in await Agency.select(Agency.id, Agency.name).where(
        Agency.id.is_in(sorted({r["agency_id"] for r in rows if r["agency_id"]}) or [0]))}
    return [{**r, "user": users.get(r["actor_id"], "System" if not r["actor_id"] else "Unknown user"),
             "agency": agencies.get(r["agency_id"], ""), "tried": (r["detail"] or {}).get("email", "")
             if r["action"].startswith(("auth.", "sign_in.")) else ""} for r in rows]


def _for_viewer(actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as ``actor`` may read them: a form change's old and new answers only for the agency whose user made
    it (the case's owner); any other reader (a system admin of another agency) sees which questions changed,
    never the answers, as the case's own filter would give it none of them."""
    for r in rows:
        detail = r.get("detail")
        if r["agency_id"] != actor.agency_id and isinstance(detail, dict) and isinstance(detail.get("changes"), list):
            r["detail"] = {**detail, "changes": [{"field": c.get("field")} for c in detail["changes"]
                                                 if isinstance(c, dict)]}
    return rows


class AuditPages(Controller):
    path = "/audit"
    include_in_schema = False

    @get("/")
    async def list_events(self, request: Request) -> Template:
        where, values, errors = _filters(request)
        query = urlencode({k: v for k, v in values.items() if v})
        if errors:  # a filter that cannot be read matches nothing rather than being quietly dropped
            return await page(request, "audit/list.html", status_code=400, events=[], values=values, total=0,
                              number=1, pages=1, query=query, errors=errors)
        total = await AuditEvent.count().where(where)
        number = page_number(request.query_params.get("page"), max(1, -(-total // PAGE_SIZE)))
        rows = await AuditEvent.select().where(where).order_by(AuditEvent.id, ascending=False).limit(
            PAGE_SIZE).offset((number - 1) * PAGE_SIZE).output(load_json=True)
        rows = _for_viewer(current_actor(request), rows)
        return await page(request, "audit/list.html", events=await _named(rows), values=values, total=total,
                          number=number, pages=max(1, -(-total // PAGE_SIZE)), query=query, errors=[])

    @get("/export.csv")
    async def export(self, request: Request) -> Response:
        where, values, errors = _filters(request)
        if errors:
            return html_error(request, 400, "There is a problem",
                              " ".join(e["message"] + "." for e in errors) + " Nothing was exported.")
        rows = await AuditEvent.select().where(where).order_by(AuditEvent.id, ascending=False).limit(
            EXPORT_LIMIT).output(load_json=True)
        async with transaction():
            await audit.record("audit.export", current_actor(request), detail={"filters": values, "rows": len(rows)})
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "when", "user", "agency", "action", "object type", "object id", "purpose", "detail"])
        for r in await _named(_for_viewer(current_actor(request), rows)):
            # detail as JSON, which any tool reads back (a Python repr is not)
            detail = json.dumps(r["detail"] or {}, sort_keys=True, ensure_ascii=False, default=str)
            writer.writerow([safe_cell(v) for v in (r["id"], r["at"].isoformat(), r["user"], r["agency"], r["action"],
                                                r["object_type"], r["object_id"], r["purpose"], detail)])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            **NO_STORE, "Content-Disposition": 'attachment; filename="caseframe-audit.csv"'})
