"""The Litestar application factory: pages, API, static assets, errors and start-up checks in one place."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import secrets
from pathlib import Path
from typing import Any

from litestar import Controller, Litestar, Request, Response, Router, get, head
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.exceptions import (
    HTTPException,
    ImproperlyConfiguredException,
    InternalServerException,
    NotAuthorizedException,
)
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from caseframe.core import __version__, assets
from caseframe.core.agencies.web import AdminPages, AgencyAdminPages, UserAdminPages
from caseframe.core.audit import service as audit_service
from caseframe.core.audit.denied import record_denied
from caseframe.core.audit.web import AuditPages
from caseframe.core.auth import service as auth_service
from caseframe.core.auth.mfa_web import MfaSettingsPages, MfaSignInPage, SecurityPages
from caseframe.core.auth.password_web import PasswordPages, PasswordResetPages
from caseframe.core.auth.web import SignInPages
from caseframe.core.cases.web import AreaPages, CasePages, TaskPages
from caseframe.core.context import Context, build_context
from caseframe.core.dashboards.web import DashboardPages
from caseframe.core.db.engine import bind, close, database_answers, engine_from_url, is_sqlite, migrate
from caseframe.core.documents import storage as documents_storage
from caseframe.core.documents.web import document_pages
from caseframe.core.errors import AreaError, CaseClosed, Problem, ServiceError
from caseframe.core.notifications import email as notification_email
from caseframe.core.notifications.web import NotificationPages
from caseframe.core.panels import live
from caseframe.core.panels.pack_web import PackPages
from caseframe.core.panels.web import MeetingPages, PanelPages
from caseframe.core.persons.web import PersonMergeAdminPages, PersonPages
from caseframe.core.plugins import hook_lists
from caseframe.core.referrals.web import ReferralPages
from caseframe.core.retention.web import RetentionPages
from caseframe.core.sar.web import SarPages
from caseframe.core.settings import Settings
from caseframe.core.sharing.mou_web import MouPages
from caseframe.core.sharing.national_web import NationalSearchPage
from caseframe.core.sharing.requests_web import AccessRequestPages
from caseframe.core.sharing.web import AgreementPages
from caseframe.core.templating import build_environment
from caseframe.core.web import problems
from caseframe.core.web.api import API_CONTROLLERS
from caseframe.core.web.auth import SignInStepPending, is_api, require_user
from caseframe.core.web.dependencies import ROUTE_DEPENDENCIES, check_public_routes
from caseframe.core.web.headers import security_headers
from caseframe.core.web.home import HomePage
from caseframe.core.web.input_guard import refuse_unstorable_input
from caseframe.core.web.pages import html_error, sign_in_redirect

log = logging.getLogger("caseframe")

STATIC_DIR = Path(__file__).parent / "static"
HTML_CONTROLLERS = [
    SignInPages,
    MfaSignInPage,
    PasswordPages,
    PasswordResetPages,
    SecurityPages,
    MfaSettingsPages,
    HomePage,
    PersonPages,
    PersonMergeAdminPages,
    AreaPages,
    CasePages,
    TaskPages,
    AdminPages,
    UserAdminPages,
    AgencyAdminPages,
    PackPages,
    AgreementPages,
    NationalSearchPage,
    MouPages,
    AuditPages,
    AccessRequestPages,
    ReferralPages,
    PanelPages,
    MeetingPages,
    DashboardPages,
    NotificationPages,
    RetentionPages,
    SarPages,
]
#: script-src also names a fresh nonce per response (CspNonceMiddleware); there is no inline script at all
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


class CspNonceMiddleware:
    """A new nonce for every response: in the Content-Security-Policy header and on the page's script tags."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def send_with_csp(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"
                ]
                headers.append((b"content-security-policy", CSP.format(nonce=nonce).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_csp)


async def csp_before_send(message: Any, scope: Any) -> None:
    """Every response, also those no route answered (404s), carries the policy with this request's nonce."""
    if message["type"] != "http.response.start":
        return
    headers = message.setdefault("headers", [])
    if any(k.lower() == b"content-security-policy" for k, _ in headers):
        return
    nonce = scope.setdefault("state", {}).setdefault("csp_nonce", secrets.token_urlsafe(18))
    headers.append((b"content-security-policy", CSP.format(nonce=nonce).encode()))


@get("/health", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
def health() -> dict[str, Any]:
    """Liveness: the process answers (a monitor restarts a worker that does not)."""
    return {"status": "ok", "version": __version__}


@head("/health", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
def health_head() -> Response[None]:
    """Uptime monitors often ask with HEAD: the same answer, without a body."""
    return Response(content=None, status_code=200)


def readiness_handlers(engine: Any) -> list[Any]:
    """``/health/ready``: whether this worker's database answers, for a load balancer to send it requests or not.
    The answer is kept for a second, so a flood of checks sends the database a statement a second at most; it says
    "ready" or "unavailable" and never why (no driver message, host or URL reaches an anonymous caller)."""
    asked_at, answer = float("-inf"), False
    asking = asyncio.Lock()  # only readiness checks wait on it, never a page

    async def ready() -> bool:
        nonlocal asked_at, answer
        async with asking:
            loop = asyncio.get_running_loop()
            if loop.time() - asked_at >= READY_KEEP_SECONDS:
                answer = await database_answers(engine)
                asked_at = loop.time()
            return answer

    @get("/health/ready", opt={"public": True}, include_in_schema=False)
    async def readiness() -> Response[dict[str, Any]]:
        ok = await ready()
        return Response(
            {"status": "ready" if ok else "unavailable", "database": "ok" if ok else "unreachable"},
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store"},
        )

    @head("/health/ready", opt={"public": True}, include_in_schema=False)
    async def readiness_head() -> Response[None]:
        return Response(content=None, status_code=200 if await ready() else 503)

    return [readiness, readiness_head]


#: how long a readiness answer is kept (seconds)
READY_KEEP_SECONDS = 1.0


def _static_routers() -> list[Any]:
    public = {"public": True}
    routers = [
        create_static_files_router(
            path="/static/cf",
            directories=[STATIC_DIR],
            opt=public,
            include_in_schema=False,
            name="static-caseframe",
        )
    ]
    node = assets.require()  # missing, start-up stops saying how to install them (caseframe assets)
    for url, folder in (
        ("/static/govuk", node / "govuk-frontend/dist/govuk"),
        ("/assets", node / "govuk-frontend/dist/govuk/assets"),
        ("/static/moj", node / "@ministryofjustice/frontend/moj"),
        ("/static/htmx", node / "htmx.org/dist"),
        ("/static/htmx-ext-sse", node / "htmx-ext-sse/dist"),
    ):
        routers.append(
            create_static_files_router(
                path=url,
                directories=[folder],
                opt=public,
                include_in_schema=False,
                name=f"static{url.replace('/', '-')}",
            )
        )
    return routers


def _error_handler(request: Request, exc: Exception) -> Response:
    """API callers get problem details; people get a page in the product's style, never a traceback."""
    if isinstance(exc, InternalServerException) and exc.detail == "client disconnected prematurely":
        # the client went away before its request's body was read (a closed tab; a load tool stopping with
        # requests queued): no one is left to answer and nothing was done, so it is no fault of the service's
        log.info("client went away before %s %s was read", request.method, request.url.path)
        return Response(content="", status_code=400)
    if isinstance(exc, ServiceError):
        return _service_error_response(request, exc)
    if isinstance(exc, HTTPException):
        response = _http_error_response(request, exc)
        if response is not None:
            return response
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        # no room for an upload's temporary file or a write (a full disk): the service is out of room, not broken
        log.warning("no room on disk for %s %s", request.method, request.url.path)
        message = "The server has no room to store this just now. Nothing was saved. Try again later."
        if is_api(request):
            return problems.problem(503, message, retry_after=60)
        return html_error(request, 503, "Sorry, the service cannot take this just now", message)
    unstorable = unstorable_value(exc)
    if unstorable:
        if is_api(request):
            return problems.problem(400, unstorable)
        return html_error(request, 400, "There is a problem", unstorable + " Nothing has been saved.")
    problems.internal_error_handler(request, exc)
    if is_api(request):
        return problems.problem(500, "Something went wrong. Try again later.")
    return html_error(
        request,
        500,
        "Sorry, there is a problem with the service",
        "Try again later. Nothing you entered has been saved if you did not see a confirmation.",
    )


def _service_error_response(request: Request, exc: ServiceError) -> Response:
    """A service's refusal (not found, forbidden, conflict, invalid...): problem details or a page saying it."""
    if is_api(request):
        return problems.service_error_handler(request, exc)
    headings = {
        404: "Page not found",
        403: "You cannot do that",
        409: "Someone else changed this",
        410: "This record was erased",
        422: "There is a problem",
    }
    heading = exc.title or headings.get(exc.status, "There is a problem")
    # a refused write on a closed case leads back to it, where the reader may see it (its raiser said so)
    case_id = exc.case_id if isinstance(exc, CaseClosed) else None
    back = (f"/cases/{case_id}", "Back to the case") if case_id else None
    response = html_error(request, exc.status, heading, exc.message, back=back)
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _http_error_response(request: Request, exc: HTTPException) -> Response | None:
    """Litestar's HTTP errors below 500 in words (or a way to sign in); None for a server error."""
    if is_api(request):
        return problems.http_error_handler(request, exc)
    if isinstance(exc, NotAuthorizedException):
        return sign_in_redirect(request)
    if isinstance(exc, SignInStepPending):
        return _sign_in_step_redirect(request, exc)
    status = exc.status_code
    if status == 404:
        return html_error(request, 404, "Page not found", "There is nothing at this address.")
    if status == 403:
        return html_error(request, 403, "You cannot do that", exc.detail or "You are not allowed to do that.")
    if status == 413:
        from caseframe.core.documents.storage import CONFIG

        return html_error(
            request,
            413,
            "The file is too large",
            f"A document can be at most {CONFIG.max_bytes // (1024 * 1024)} MB. Nothing has been "
            "saved: go back and choose a smaller file.",
        )
    if status == 405:
        return html_error(request, 405, "Page not found", "This address does not accept that request.")
    if status < 500:
        return html_error(request, status, "There is a problem", "The request could not be understood.")
    return None


def _sign_in_step_redirect(request: Request, exc: SignInStepPending) -> Response:
    """To the sign-in step still to do, then back to the page asked for, its query too (a search, a filter,
    a notice)."""
    from urllib.parse import quote

    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = exc.page + ("?next=" + quote(wanted, safe="/") if request.method == "GET" else "")
    if request.headers.get("hx-request") == "true":
        return Response(content="", status_code=403, headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


def unstorable_value(exc: BaseException) -> str:
    """What in the request the database driver could not take, in words for the person who sent it; "" when the
    error is the service's own. The request is at fault (a number or character no column can hold, sent where
    ``refuse_unstorable_input`` does not look), and its transaction was rolled back."""
    name = type(exc).__name__
    if isinstance(exc, OverflowError) or (name == "DataError" and "out of int" in str(exc)):
        return "A number in the request is too large."
    if name in ("CharacterNotInRepertoireError", "UntranslatableCharacterError"):
        return "The request contains a character that cannot be stored."
    return ""


def settle_heap() -> None:
    """Put what start-up made (modules, areas and their validators, templates, the app) out of the cyclic garbage
    collector's reach, as a server's last step of start-up.

    Those objects live as long as the process, yet every full collection walked all of them: a pause of about
    50 ms for each request in flight when one came, in a worker that serves eight at a time (measured with
    gc.callbacks on the case page). Frozen, a full collection walks only what requests have made since.
    Reference counting still frees them as usual; only cycles among them would stay (none are expected: they
    are the process's own)."""
    gc.collect()
    gc.freeze()


def _restore_binding(app: Litestar) -> None:
    """At shutdown, point the tables back at what they pointed at before start-up bound them to the app's engine:
    in a process that goes on (a test run, say) they are not left on an engine this app has closed."""
    previous = getattr(app.state, "previous_binding", None)
    if previous is not None:  # None: start-up stopped before it bound
        previous.restore()


def _is_route(value: Any) -> bool:
    return isinstance(value, (BaseRouteHandler, Router)) or (
        isinstance(value, type) and issubclass(value, Controller)
    )


def _plugin_route_handlers(ctx: Context) -> list[tuple[str, list[Any]]]:
    """Each plugin's ``register_routes()``, by plugin name, checked: a hook that fails or returns anything but a
    list of route handlers, controllers or routers stops start-up naming the plugin (Litestar's own message named
    none, and a failing hook was a bare traceback)."""
    out: list[tuple[str, list[Any]]] = []
    problems: list[Problem] = []
    for where, result in hook_lists(ctx.pm, "register_routes", "route handlers", problems):
        wrong = [(i, h) for i, h in enumerate(result) if not _is_route(h)]
        for i, handler in wrong:
            problems.append(
                Problem(
                    where,
                    f"/{i}",
                    f"register_routes(): {getattr(handler, '__name__', type(handler).__name__)!r} is not a route "
                    "handler: decorate it with litestar's @get, @post (or another method), or give a Controller",
                )
            )
        if not wrong:
            out.append((where, list(result)))
    if problems:
        raise AreaError(problems)
    return out


def _plugin_web(ctx: Context) -> tuple[list[tuple[str, list[Any]]], Any]:
    """The plugins' route handlers and the template environment, checked together, so one start-up lists every
    problem with a plugin's routes and templates."""
    problems: list[Problem] = []
    handlers: list[tuple[str, list[Any]]] = []
    environment = None
    try:
        handlers = _plugin_route_handlers(ctx)
    except AreaError as exc:
        problems += exc.problems
    try:
        environment = build_environment(ctx)
    except AreaError as exc:
        problems += exc.problems
    if problems:
        raise AreaError(problems)
    return handlers, environment


def _register_plugin_routes(app: Litestar, plugin_handlers: list[tuple[str, list[Any]]]) -> None:
    """Mount each plugin's handlers; one whose path and method the core or another plugin already serves stops
    start-up naming the plugin and the path."""
    problems: list[Problem] = []
    for where, handlers in plugin_handlers:
        for i, handler in enumerate(handlers):
            try:
                app.register(handler)
            except ImproperlyConfiguredException as exc:
                problems.append(Problem(where, f"/{i}", f"register_routes(): {exc.detail}"))
    if problems:
        raise AreaError(problems)


def check_app(settings: Settings, ctx: Context) -> None:
    """Build the app as each worker will, without touching a database, so what would stop the workers (a plugin's
    routes or templates that cannot be mounted) stops ``caseframe serve`` before it makes or migrates one."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        create_app(settings, ctx, engine=_NO_DATABASE)
    finally:  # building a Litestar app sets up logging for the workers; this process keeps its own quiet
        root.handlers[:] = handlers
        root.setLevel(level)


#: the engine :func:`check_app` builds with: the app is never run, so nothing asks it for a connection
_NO_DATABASE = object()


def create_app(settings: Settings | None = None, ctx: Context | None = None, engine=None) -> Litestar:
    """Build the web app. Loading areas happens here, so a broken plugin stops start-up, not a request.

    Pass ``engine`` to use a database someone else has prepared and will close (tests do).
    """
    settings = settings or Settings()
    ctx = ctx or build_context(settings.plugins)
    documents_storage.configure(settings)
    auth_service.configure(settings)
    owned = engine is None
    engine = engine or engine_from_url(settings.database_url)

    notification_email.configure(notification_email.config_from_settings(settings))

    async def on_startup(app: Litestar) -> None:
        if not owned:
            app.state.previous_binding = bind(engine)
            return
        if settings.migrate_on_start:
            await migrate(engine)
        if not is_sqlite(engine):
            await engine.start_connection_pool()
        app.state.previous_binding = bind(engine)  # until shutdown: _restore_binding
        app.state.audit_sealer = asyncio.create_task(audit_service.run_sealer())
        if notification_email.enabled():
            app.state.email_sender = asyncio.create_task(notification_email.run_sender())
        settle_heap()

    async def on_shutdown(app: Litestar) -> None:
        email_sender = getattr(app.state, "email_sender", None)
        if email_sender is not None:
            email_sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await email_sender
        sealer = getattr(app.state, "audit_sealer", None)
        if sealer is not None:
            sealer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sealer
            with contextlib.suppress(Exception):  # what is left is sealed by the next start
                await audit_service.seal(checkpoint=True)
        if owned:
            await live.stop()  # the live minutes' LISTEN connection (PostgreSQL) or news poller (SQLite)
            await (close(engine) if is_sqlite(engine) else engine.close_connection_pool())
        _restore_binding(app)

    handlers: list[Any] = [
        health,
        health_head,
        *readiness_handlers(engine),
        *API_CONTROLLERS,
        *HTML_CONTROLLERS,
        document_pages(settings.documents_max_bytes),
        *_static_routers(),
    ]
    plugin_handlers, environment = _plugin_web(ctx)

    app = Litestar(
        route_handlers=handlers,
        guards=[require_user],
        # handlers name what they need (``ctx``, ``actor``) and are given it: core/web/dependencies.py
        dependencies=dict(ROUTE_DEPENDENCIES),
        before_request=refuse_unstorable_input,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        exception_handlers={Exception: _error_handler},
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
        plugins=[HTMXPlugin()],
        middleware=[CspNonceMiddleware],
        before_send=[csp_before_send, security_headers(https=not settings.local_demo), record_denied],
        openapi_config=OpenAPIConfig(
            title="Caseframe API", version=__version__, path="/schema", render_plugins=[ScalarRenderPlugin()]
        ),
        debug=settings.debug,
        request_max_body_size=2 * 1024 * 1024,
    )
    app.state.settings = settings
    app.state.ctx = ctx
    _register_plugin_routes(app, plugin_handlers)
    check_public_routes(app)  # a public route asking for the signed-in user stops start-up, not a request
    return app
