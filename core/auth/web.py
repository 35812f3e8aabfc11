"""Sign-in and sign-out pages."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core.auth import service as auth
from caseframe.core.auth.actor import Actor
from caseframe.core.web import csrf
from caseframe.core.web.auth import session_token
from caseframe.core.web.client_address import request_source
from caseframe.core.web.input_guard import SIGN_IN_MAX_BODY
from caseframe.core.web.pages import NO_STORE, form_data, form_text, safe_next


class SignInPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/sign-in", opt={"public": True})
    async def sign_in_form(self, request: Request) -> Template:
        return _sign_in_page(request, next_url=request.query_params.get("next", ""))

    @post("/sign-in", opt={"public": True}, request_max_body_size=SIGN_IN_MAX_BODY)
    async def sign_in(self, request: Request) -> Template | Redirect:
        data = await form_data(request)
        email, password = form_text(data, "email"), form_text(data, "password")
        try:
            token, _ = await auth.sign_in(email, password, source=request_source(request))
        except auth.SignInFailed as exc:
            return _sign_in_page(
                request,
                error=exc.message,
                email=email,
                status_code=exc.status,
                next_url=form_text(data, "next"),
                retry_after=exc.retry_after,
            )
        settings = request.app.state.settings
        response = Redirect(path=safe_next(form_text(data, "next")), status_code=303, headers=NO_STORE)
        # a new token at every sign-in: a session id planted before sign-in is never trusted after it
        response.set_cookie(
            settings.session_cookie,
            token,
            httponly=True,
            samesite="lax",
            secure=not settings.local_demo,
            path="/",
        )
        response.delete_cookie(csrf.PRESESSION_COOKIE, path="/")
        return response

    @get("/account")
    async def account(self, request: Request, actor: Actor) -> Template:
        from caseframe.core.web.pages import page

        sign_ins = await auth.recent_sign_ins(actor)
        from caseframe.core.auth.mfa import mfa_state
        from caseframe.core.notifications.service import email_preference

        return await page(
            request,
            "auth/account.html",
            sign_ins=sign_ins,
            personal=False,
            notification_email=await email_preference(actor),
            mfa_enabled=(await mfa_state(actor.id))["enabled"],
            ended=request.query_params.get("ended") == "yes",
        )

    @post("/account/sign-out-everywhere")
    async def sign_out_everywhere(self, request: Request, actor: Actor) -> Redirect:
        await auth.sign_out_everywhere(actor)
        response = Redirect(path="/sign-in", status_code=303, headers=NO_STORE)
        response.delete_cookie(request.app.state.settings.session_cookie, path="/")
        return response

    @post(
        "/sign-out",
        opt={
            "before_mou": True,
            "before_mfa": True,
            "during_mfa_setup": True,
            "during_password_change": True,
        },
    )
    async def sign_out(self, request: Request, actor: Actor) -> Redirect:
        await auth.sign_out(session_token(request), actor)
        response = Redirect(path="/sign-in", status_code=303, headers=NO_STORE)
        response.delete_cookie(request.app.state.settings.session_cookie, path="/")
        return response


def _sign_in_page(
    request: Request,
    *,
    error: str = "",
    email: str = "",
    status_code: int = 200,
    next_url: str = "",
    retry_after: int | None = None,
) -> Template:
    token = request.cookies.get(csrf.PRESESSION_COOKIE) or csrf.new_token()
    settings = request.app.state.settings
    headers = {**NO_STORE, **({"Retry-After": str(retry_after)} if retry_after else {})}
    response = Template(
        template_name="auth/sign_in.html",
        status_code=status_code,
        headers=headers,
        context={
            "error": error,
            "email": email,
            "presession_token": token,
            "next": safe_next(next_url),
            "error_title": bool(error),
            "nav": [],
        },
    )
    response.set_cookie(
        csrf.PRESESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=not settings.local_demo,
        path="/",
    )
    return response
