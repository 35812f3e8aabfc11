"""Dashboard pages: an agency's figures, a panel chair's partnership view, each figure also as CSV."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.response import Template

from caseframe.core import clock
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.service import enabled_areas
from caseframe.core.context import Context
from caseframe.core.dashboards import service as figures
from caseframe.core.dashboards.service import Figure, Filters
from caseframe.core.errors import NotFound
from caseframe.core.web.auth import requires
from caseframe.core.web.csv_export import csv_response
from caseframe.core.web.pages import html_error, page

dashboard_readers_only = requires("dashboard.read")


async def _area_choices(ctx: Context, actor: Actor, slugs: list[str] | None = None) -> dict[str, str]:
    allowed = set(slugs) if slugs is not None else await enabled_areas(actor.agency_id)
    return {a.slug: a.title for a in ctx.areas if a.slug in allowed}


def _bad_filters(request: Request, errors: list[dict[str, str]]) -> Response:
    return html_error(
        request,
        400,
        "There is a problem",
        " ".join(e["message"] + "." for e in errors) + " Nothing was exported.",
    )


def _figure(found: list[Figure], key: str) -> Figure:
    for f in found:
        if f.key == key:
            return f
    raise NotFound("No such figure")


def _filename(stem: str, filters: Filters) -> str:
    return f"caseframe-{stem}-{filters.start.isoformat()}-to-{filters.end.isoformat()}.csv"


class DashboardPages(Controller):
    path = "/dashboard"
    include_in_schema = False
    guards = [dashboard_readers_only]

    async def _render(
        self,
        request: Request,
        *,
        title: str,
        found: list[Figure],
        values: dict[str, str],
        errors: list[dict[str, str]],
        choices: dict[str, str],
        export_base: str,
        panels: list[dict[str, Any]],
        panel: dict[str, Any] | None = None,
    ) -> Template:
        query = urlencode({k: v for k, v in values.items() if v})
        return await page(
            request,
            "dashboards/dashboard.html",
            status_code=400 if errors else 200,
            title=title,
            figures=found,
            values=values,
            errors=errors,
            area_choices=choices,
            query=query,
            export_base=export_base,
            panels=panels,
            panel=panel,
            today=clock.today(),
        )

    @get("/")
    async def agency(self, request: Request, ctx: Context, actor: Actor) -> Template:
        choices = await _area_choices(ctx, actor)
        filters, values, errors = figures.parse_filters(request.query_params, choices)
        found = [] if errors else await figures.agency_figures(ctx, actor, filters)
        await audit.record_read(
            "dashboard.view",
            actor,
            "agency",
            actor.agency_id,
            detail={"filters": values, "refused": bool(errors)},
        )
        return await self._render(
            request,
            title=f"{actor.agency_name or 'Your agency'}: dashboard",
            found=found,
            values=values,
            errors=errors,
            choices=choices,
            export_base="/dashboard/export",
            panels=await figures.chaired_panels(actor),
        )

    @get("/export/{figure:str}")
    async def agency_export(self, request: Request, ctx: Context, actor: Actor, figure: str) -> Response:
        filters, values, errors = figures.parse_filters(request.query_params, await _area_choices(ctx, actor))
        if errors:
            return _bad_filters(request, errors)
        chosen = _figure(await figures.agency_figures(ctx, actor, filters), figure)
        await audit.record_read(
            "dashboard.export",
            actor,
            "agency",
            actor.agency_id,
            detail={"figure": chosen.key, "filters": values, "rows": len(chosen.rows)},
        )
        return csv_response(chosen.columns, chosen.rows, _filename(chosen.key, filters))

    async def _panel(self, actor: Actor, panel_id: int) -> dict[str, Any]:
        for panel in await figures.chaired_panels(actor):
            if panel["id"] == panel_id:
                return panel
        raise NotFound("No such panel, or your agency does not chair it")

    @get("/panels/{panel_id:int}")
    async def partnership(self, request: Request, ctx: Context, actor: Actor, panel_id: int) -> Template:
        panel = await self._panel(actor, panel_id)
        choices = await _area_choices(ctx, actor, panel["areas"] or [])
        filters, values, errors = figures.parse_filters(request.query_params, choices)
        found = [] if errors else await figures.partnership_figures(ctx, actor, panel, filters)
        await audit.record_read(
            "dashboard.view", actor, "panel", panel_id, detail={"filters": values, "refused": bool(errors)}
        )
        return await self._render(
            request,
            title=f"{panel['name']}: partnership dashboard",
            found=found,
            values=values,
            errors=errors,
            choices=choices,
            export_base=f"/dashboard/panels/{panel_id}/export",
            panels=await figures.chaired_panels(actor),
            panel=panel,
        )

    @get("/panels/{panel_id:int}/export/{figure:str}")
    async def partnership_export(
        self, request: Request, ctx: Context, actor: Actor, panel_id: int, figure: str
    ) -> Response:
        panel = await self._panel(actor, panel_id)
        filters, values, errors = figures.parse_filters(
            request.query_params, await _area_choices(ctx, actor, panel["areas"] or [])
        )
        if errors:
            return _bad_filters(request, errors)
        chosen = _figure(await figures.partnership_figures(ctx, actor, panel, filters), figure)
        await audit.record_read(
            "dashboard.export",
            actor,
            "panel",
            panel_id,
            detail={"figure": chosen.key, "filters": values, "rows": len(chosen.rows)},
        )
        return csv_response(chosen.columns, chosen.rows, _filename(f"{panel['slug']}-{chosen.key}", filters))
