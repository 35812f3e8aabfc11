"""The audit viewer: local admins see their agency's events, system admins everyone's; filters and CSV export."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.response import Template

from caseframe.core.audit import reading as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.errors import ValidationFailed
from caseframe.core.web.csv_export import safe_cell
from caseframe.core.web.pages import NO_STORE, html_error, page


class AuditPages(Controller):
    path = "/audit"
    include_in_schema = False

    @get("/")
    async def list_events(self, request: Request, actor: Actor) -> Template:
        found = await audit.list_events(actor, request.query_params, request.query_params.get("page"))
        query = urlencode({k: v for k, v in found["values"].items() if v})
        return await page(
            request, "audit/list.html", status_code=400 if found["errors"] else 200, query=query, **found
        )

    @get("/export.csv")
    async def export(self, request: Request, actor: Actor) -> Response:
        try:
            rows = await audit.export_events(actor, request.query_params)
        except ValidationFailed as exc:
            return html_error(
                request,
                400,
                "There is a problem",
                " ".join(e["message"] + "." for e in exc.errors) + " Nothing was exported.",
            )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["id", "when", "user", "agency", "action", "object type", "object id", "purpose", "detail"]
        )
        for r in rows:
            # detail as JSON, which any tool reads back (a Python repr is not)
            detail = json.dumps(r["detail"] or {}, sort_keys=True, ensure_ascii=False, default=str)
            writer.writerow(
                [
                    safe_cell(v)
                    for v in (
                        r["id"],
                        r["at"].isoformat(),
                        r["user"],
                        r["agency"],
                        r["action"],
                        r["object_type"],
                        r["object_id"],
                        r["purpose"],
                        detail,
                    )
                ]
            )
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={**NO_STORE, "Content-Disposition": 'attachment; filename="caseframe-audit.csv"'},
        )
