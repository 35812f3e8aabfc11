"""Changing a password: the user's own (required at once when an admin set it), and an admin's reset."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core.agencies.web import local_admin_only
from caseframe.core.auth import passwords
from caseframe.core.auth import service as auth
from caseframe.core.auth.actor import Actor
from caseframe.core.errors import ValidationFailed
from caseframe.core.web.auth import session_token
from caseframe.core.web.client_address import request_source
from caseframe.core.web.pages import form_data, form_text, page, safe_next, see_other


class PasswordPages(Controller):
    """The user's own password; while the session is at the temporary-password step, the only page that works."""

    path = "/account/password"
    include_in_schema = False

    @get("/", opt={"during_password_change": True})
    async def form(self, request: Request) -> Template:
        return await self._page(request, [], safe_next(request.query_params.get("next")))

    async def _page(
        self,
        request: Request,
        errors: list[dict],
        next_url: str,
        status_code: int = 200,
        headers: dict | None = None,
    ) -> Template:
        forced = getattr(request.state, "pending", "") == "password"
        response = await page(
            request,
            "auth/change_password.html",
            errors=errors,
            next=next_url,
            forced=forced,
            personal=False,
            error_title=bool(errors),
            status_code=status_code,
            changed=request.query_params.get("changed") == "yes",
            **({"nav": []} if forced else {}),
        )
        response.headers.update(headers or {})
        return response

    @post("/", opt={"during_password_change": True})
    async def change(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        next_url = safe_next(form_text(data, "next"))
        forced = getattr(request.state, "pending", "") == "password"
        try:
            await auth.change_password(
                actor,
                await auth.session_id_for_token(session_token(request)),
                form_text(data, "current_password"),
                form_text(data, "new_password"),
                form_text(data, "confirm_password"),
                source=request_source(request),
            )
        except ValidationFailed as exc:
            return await self._page(request, exc.errors, next_url, status_code=400)
        except (auth.SignInLocked, passwords.HashingBusy) as exc:
            return await self._page(
                request,
                [{"field": "/current_password", "message": exc.message}],
                next_url,
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        return see_other(next_url if forced else "/account/password?changed=yes")


class PasswordResetPages(Controller):
    """A local admin sets a temporary password for a user of their agency who has forgotten theirs."""

    path = "/admin/users/{user_id:int}/password"
    include_in_schema = False
    guards = [local_admin_only]

    async def _page(
        self, request: Request, actor: Actor, user_id: int, errors: list[dict], status_code: int = 200
    ) -> Template:
        user = await auth.user_for_password_reset(actor, user_id)
        return await page(
            request,
            "admin/user_password.html",
            user=user,
            errors=errors,
            personal=False,
            error_title=bool(errors),
            status_code=status_code,
        )

    @get("/")
    async def form(self, request: Request, actor: Actor, user_id: int) -> Template:
        return await self._page(request, actor, user_id, [])

    @post("/")
    async def reset(self, request: Request, actor: Actor, user_id: int) -> Template | Redirect:
        data = await form_data(request)
        try:
            await auth.set_temporary_password(actor, user_id, form_text(data, "password"))
        except ValidationFailed as exc:
            return await self._page(request, actor, user_id, exc.errors, status_code=400)
        return see_other("/admin/users?done=password-reset")
