"""My work: the caseworker's home page."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template

from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.dashboards.my_work import my_work
from caseframe.core.web.pages import page


class HomePage(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def my_work(self, request: Request, ctx: Context, actor: Actor) -> Template:
        return await page(request, "home.html", **await my_work(ctx, actor))
