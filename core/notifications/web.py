"""Notification pages: the list behind the bell, one notice, following a link, marking read, the e-mail choice."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.notifications import email
from caseframe.core.notifications import service as notifications
from caseframe.core.web.pages import form_data, form_text, page, safe_next, see_other


class NotificationPages(Controller):
    path = "/notifications"
    include_in_schema = False

    @get("/")
    async def list_notifications(self, request: Request, actor: Actor) -> Template:
        rows = await notifications.list_for(actor)
        return await page(request, "notifications/list.html", rows=rows, personal=False)

    @get("/{notification_id:int}")
    async def show(self, request: Request, ctx: Context, actor: Actor, notification_id: int) -> Template:
        """One notice, read only: a GET never marks it read (a link scanner or a prefetch would); its buttons do."""
        from caseframe.core.notifications.notices import notice_view

        row = await notifications.get_for(actor, notification_id)
        view = await notice_view(ctx, actor, row)
        return await page(
            request,
            "notifications/show.html",
            note=row,
            view=view,
            kind_label=notifications.KINDS.get(row["kind"], "Notification"),
        )

    @get("/{notification_id:int}/open")
    async def open_page(self, actor: Actor, notification_id: int) -> Redirect:
        """An e-mail's link: to the notice's page, unchanged (its buttons mark it read and follow it)."""
        await notifications.get_for(actor, notification_id)
        return see_other(f"/notifications/{notification_id}")

    @post("/{notification_id:int}/open")
    async def follow(self, actor: Actor, notification_id: int) -> Redirect:
        """Mark it read and go where it points; that page checks, as always, what the reader may see."""
        row = await notifications.mark_read(actor, notification_id)
        target = row["link"] if row["kind"] != "rule_notice" else f"/notifications/{row['id']}"
        return see_other(safe_next(target))

    @post("/{notification_id:int}/read")
    async def read_one(self, request: Request, actor: Actor, notification_id: int) -> Redirect:
        await notifications.mark_read(actor, notification_id)
        back = safe_next(str((await form_data(request)).get("next") or "/notifications"))
        return see_other(back + ("&" if "?" in back else "?") + "done=read")

    @post("/read-all")
    async def read_all(self, actor: Actor) -> Redirect:
        await notifications.mark_all_read(actor)
        return see_other("/notifications?done=all-read")

    @get("/settings")
    async def settings_form(self, request: Request, actor: Actor) -> Template:
        return await page(
            request,
            "notifications/settings.html",
            personal=False,
            email_available=email.enabled(),
            email_on=await notifications.email_preference(actor),
        )

    @post("/settings")
    async def save_settings(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        choice = form_text(data, "email")
        if choice not in ("yes", "no"):
            return await page(
                request,
                "notifications/settings.html",
                personal=False,
                status_code=400,
                email_available=email.enabled(),
                email_on=await notifications.email_preference(actor),
                errors=[{"field": "/email", "message": "Select whether to get e-mails"}],
            )
        await notifications.set_email_preference(actor, choice == "yes")
        return see_other("/notifications?done=settings")
