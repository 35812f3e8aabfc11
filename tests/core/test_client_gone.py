"""A client that goes away before its request's body is read (a closed tab, a load tool stopping) is no fault of
the service's: it is logged as information, not as an unhandled error, and nothing is written."""

from __future__ import annotations

import logging

from caseframe.core.settings import Settings
from caseframe.core.testing import make_context


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_client_gone_before_its_form_was_read_is_no_server_error(db):
    from caseframe.core.web.app import create_app

    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=make_context(), engine=db
    )
    sent: list[dict] = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/sign-in",
        "raw_path": b"/sign-in",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"40"),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }
    kept, logger = Kept(), logging.getLogger("caseframe")  # the app's loggers write to their own handler
    logger.addHandler(kept)
    try:
        await app(scope, receive, send)
    finally:
        logger.removeHandler(kept)
    assert not [r for r in kept.records if r.levelno >= logging.ERROR], [r.getMessage() for r in kept.records]
    assert [r.levelno for r in kept.records if "went away" in r.getMessage()] == [logging.INFO]
    assert sent[0]["status"] == 400
