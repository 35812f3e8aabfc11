"""Pages for two-step verification: the code at sign-in, setting it up and off, and the roles that must use it."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core import permissions
from caseframe.core.auth import mfa
from caseframe.core.auth import service as auth
from caseframe.core.auth.actor import Actor
from caseframe.core.errors import Forbidden, ValidationFailed
from caseframe.core.numbers import whole_number
from caseframe.core.permissions import ROLES
from caseframe.core.web.auth import requires, session_token
from caseframe.core.web.client_address import request_source
from caseframe.core.web.pages import form_data, form_list, form_text, page, safe_next, see_other


def _pending(request: Request) -> str:
    return getattr(request.state, "pending", "")


class MfaSignInPage(Controller):
    """The second step of signing in: only this page and sign-out work until the code is right."""

    path = "/sign-in/mfa"
    include_in_schema = False

    @get("/", opt={"before_mfa": True})
    async def form(self, request: Request) -> Template | Redirect:
        if _pending(request) != "mfa":
            return see_other(safe_next(request.query_params.get("next")))
        return await self._page(request, "", safe_next(request.query_params.get("next")))

    async def _page(
        self, request: Request, error: str, next_url: str, status_code: int = 200, recovery: bool = False
    ) -> Template:
        return await page(
            request,
            "auth/mfa_code.html",
            error=error,
            next=next_url,
            personal=False,
            nav=[],
            recovery_error=error if recovery else "",
            error_title=bool(error),
            status_code=status_code,
        )

    @post("/", opt={"before_mfa": True})
    async def check(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        next_url = safe_next(form_text(data, "next"))
        if _pending(request) != "mfa":
            return see_other(next_url)
        recovery = "recovery_code" in data  # the form under "I cannot use my authenticator app"
        code = form_text(data, "recovery_code" if recovery else "code")
        try:
            left = await mfa.verify_sign_in(
                actor,
                await auth.session_id_for_token(session_token(request)),
                code,
                source=request_source(request),
            )
        except auth.SignInLocked as exc:
            response = await self._page(request, exc.message, next_url, status_code=429, recovery=recovery)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except ValidationFailed as exc:
            message = exc.errors[0]["message"]
            if recovery:
                message = mfa.WRONG_RECOVERY_CODE if code.strip() else mfa.ENTER_RECOVERY_CODE
            return await self._page(request, message, next_url, status_code=400, recovery=recovery)
        if left is not None:  # say the code is spent and how many are left
            return see_other("/account/security?changed=recovery-used")
        return see_other(next_url)


class SecurityPages(Controller):
    """The user's own two-step verification: set it up (QR code and key), or turn it off."""

    path = "/account/security"
    include_in_schema = False

    @get("/")
    async def show(self, request: Request, actor: Actor) -> Template:
        state = await mfa.mfa_state(actor.id)
        required = bool(actor.roles & await mfa.required_roles(actor.agency_id))
        return await page(
            request,
            "auth/security.html",
            enabled=state["enabled"],
            required=required,
            codes_left=state["recovery_codes_left"],
            personal=False,
            error="",
            error_title=False,
            changed=request.query_params.get("changed", ""),
        )

    @get("/setup", opt={"during_mfa_setup": True})
    async def setup_form(self, request: Request, actor: Actor) -> Template | Redirect:
        """The key and QR code once set-up has started; before, a button that starts it. Making the key writes it
        on the user's record, so a GET (a prefetch, another site's <img>) never does: the button's POST does."""
        if (await mfa.mfa_state(actor.id))["enabled"]:
            return see_other("/account/security")
        next_url = safe_next(request.query_params.get("next"))
        secret = await mfa.pending_secret(actor)
        if secret is None:
            forced = _pending(request) == "mfa_setup"
            return await page(
                request,
                "auth/mfa_setup.html",
                start=True,
                error="",
                next=next_url,
                forced=forced,
                personal=False,
                error_title=False,
                **({"nav": []} if forced else {}),
            )
        return await self._setup_page(request, actor, "", next_url, secret=secret)

    @post("/setup/start", opt={"during_mfa_setup": True})
    async def start_setup(self, request: Request, actor: Actor) -> Redirect:
        """Make the user's key (kept until confirmed; starting again keeps it) and show it."""
        next_url = safe_next(str((await form_data(request)).get("next", "")))
        if not (await mfa.mfa_state(actor.id))["enabled"]:
            await mfa.begin_setup(actor)
        return see_other("/account/security/setup?" + urlencode({"next": next_url}))

    async def _setup_page(
        self,
        request: Request,
        actor: Actor,
        error: str,
        next_url: str,
        status_code: int = 200,
        secret: str | None = None,
    ) -> Template:
        secret = secret or await mfa.begin_setup(actor)
        forced = _pending(request) == "mfa_setup"
        return await page(
            request,
            "auth/mfa_setup.html",
            error=error,
            next=next_url,
            forced=forced,
            personal=False,
            error_title=bool(error),
            status_code=status_code,
            **({"nav": []} if forced else {}),
            **mfa.provisioning(actor, secret),
        )

    @post("/setup", opt={"during_mfa_setup": True})
    async def confirm(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        next_url = safe_next(form_text(data, "next"))
        forced = _pending(request) == "mfa_setup"
        try:
            codes = await mfa.confirm_setup(
                actor,
                form_text(data, "code"),
                await auth.session_id_for_token(session_token(request)) if forced else None,
            )
        except ValidationFailed as exc:
            if exc.message == "Two-step verification is already on":
                return see_other("/account/security")
            return await self._setup_page(request, actor, exc.errors[0]["message"], next_url, status_code=400)
        # shown once, on this response only (no-store): the codes are not kept anywhere they could be read again
        return await page(
            request,
            "auth/recovery_codes.html",
            codes=codes,
            turned_on=True,
            replaced=False,
            continue_url=next_url if forced else "/account/security",
            personal=False,
        )

    @post("/recovery-codes")
    async def renew_codes(self, request: Request, actor: Actor) -> Template:
        data = await form_data(request)
        try:
            codes = await mfa.renew_recovery_codes(
                actor, form_text(data, "code"), source=request_source(request)
            )
        except (ValidationFailed, auth.SignInLocked) as exc:
            return await self._security_with_error(request, actor, exc, "renew")
        return await page(
            request,
            "auth/recovery_codes.html",
            codes=codes,
            turned_on=False,
            replaced=True,
            continue_url="/account/security",
            personal=False,
        )

    async def _security_with_error(self, request: Request, actor: Actor, exc, form: str) -> Template:
        state = await mfa.mfa_state(actor.id)
        required = bool(actor.roles & await mfa.required_roles(actor.agency_id))
        response = await page(
            request,
            "auth/security.html",
            enabled=state["enabled"],
            required=required,
            codes_left=state["recovery_codes_left"],
            personal=False,
            error=exc.errors[0]["message"] if exc.errors else exc.message,
            error_form=form,
            error_title=True,
            changed="",
            status_code=400 if exc.status == 422 else exc.status,
        )
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @post("/disable")
    async def disable(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        try:
            await mfa.disable(actor, form_text(data, "code"), source=request_source(request))
        except (ValidationFailed, Forbidden, auth.SignInLocked) as exc:
            return await self._security_with_error(request, actor, exc, "disable")
        return see_other("/account/security?changed=off")


admins_only = requires("mfa.configure")


class MfaSettingsPages(Controller):
    """Which roles of an agency must use two-step verification: a local admin for their own agency, a
    system admin for any."""

    path = "/admin/mfa"
    include_in_schema = False
    guards = [admins_only]

    async def _agencies(self, actor: Actor) -> list[dict]:
        return await mfa.configurable_agencies(actor)

    def _agency_id(self, actor: Actor, raw: str | None) -> int:
        return whole_number(raw) or actor.agency_id

    async def _page(
        self,
        request: Request,
        actor: Actor,
        agency_id: int,
        error: str = "",
        status_code: int = 200,
        saved: bool = False,
    ) -> Template:
        permissions.require(actor, "mfa.configure", agency_id)
        agencies = await self._agencies(actor)
        agency = next((a for a in agencies if a["id"] == agency_id), None)
        if agency is None:
            raise Forbidden("There is no such agency")
        return await page(
            request,
            "admin/mfa.html",
            agencies=agencies,
            agency=agency,
            roles=ROLES,
            required=await mfa.required_roles(agency_id),
            error=error,
            error_title=bool(error),
            personal=False,
            saved=saved,
            status_code=status_code,
            tab="mfa",
        )

    @get("/")
    async def show(self, request: Request, actor: Actor) -> Template:
        return await self._page(
            request,
            actor,
            self._agency_id(actor, request.query_params.get("agency")),
            saved=request.query_params.get("saved") == "yes",
        )

    @post("/")
    async def save(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        agency_id = self._agency_id(actor, form_text(data, "agency_id"))
        roles = form_list(data, "roles")
        try:
            await mfa.set_required_roles(actor, agency_id, [str(r) for r in roles])
        except ValidationFailed as exc:
            return await self._page(request, actor, agency_id, exc.errors[0]["message"], status_code=400)
        return see_other(f"/admin/mfa?agency={agency_id}&saved=yes")
