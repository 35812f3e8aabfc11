"""My work: the caseworker's home page."""
from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template

from core.dashboards.my_work import my_work
from core.web.auth import current_actor
from core.web.pages import ctx_of, page


class HomePage(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def my_work(self, request: Request) -> Template:
        ctx, actor = ctx_of(request), current_actor(request)
        return await page(request, "home.html", **await my_work(ctx, actor))
