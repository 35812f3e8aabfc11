"""The Litestar application factory: API, health, errors and start-up checks in one place."""
from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar, get
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from core import __version__
from core.context import Context, build_context
from core.db.engine import bind, engine_from_url, is_sqlite, migrate
from core.errors import ServiceError
from core.settings import Settings
from core.web.api import API_CONTROLLERS
from core.web.auth import require_user
from core.web.problems import http_error_handler, internal_error_handler, service_error_handler

log = logging.getLogger("caseframe")


@get("/health", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


def create_app(settings: Settings | None = None, ctx: Context | None = None, engine=None) -> Litestar:
    """Build the web app. Loading areas happens here, so a broken plugin stops start-up, not a request.

    Pass ``engine`` to use a database someone else has prepared and will close (tests do).
    """
    settings = settings or Settings()
    ctx = ctx or build_context(settings.plugins)
    owned = engine is None
    engine = engine or engine_from_url(settings.database_url)

    async def on_startup(app: Litestar) -> None:
        if not owned:
            bind(engine)
            return
        if settings.migrate_on_start:
            await migrate(engine)
        if not is_sqlite(engine):
            await engine.start_connection_pool()
        bind(engine)

    async def on_shutdown(app: Litestar) -> None:
        if owned and not is_sqlite(engine):
            await engine.close_connection_pool()

    handlers: list[Any] = [health, *API_CONTROLLERS]
    for extra in ctx.pm.hook.register_routes():
        handlers.extend(extra or [])

    app = Litestar(
        route_handlers=handlers,
        guards=[require_user],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        exception_handlers={ServiceError: service_error_handler, HTTPException: http_error_handler,
                            Exception: internal_error_handler},
        openapi_config=OpenAPIConfig(title="Caseframe API", version=__version__, path="/schema",
                                     render_plugins=[ScalarRenderPlugin()]),
        debug=settings.debug,
        request_max_body_size=2 * 1024 * 1024,
    )
    app.state.settings = settings
    app.state.ctx = ctx
    return app
