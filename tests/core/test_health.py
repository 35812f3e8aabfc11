"""The health checks a monitor or load balancer asks, over HTTP: liveness (``/health``) and readiness
(``/health/ready``, whether the database answers), each also as HEAD, anonymous, and telling an anonymous caller
nothing about the database beyond "unreachable"."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from caseframe.core.db.engine import database_answers, engine_from_url
from caseframe.core.settings import Settings
from caseframe.core.web import app as web_app
from caseframe.core.web.app import create_app

SETTINGS = Settings(local_demo=True, database_url="sqlite:///unused.sqlite")


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local")


@pytest.fixture
async def client(db, ctx):
    async with _client(create_app(SETTINGS, ctx=ctx, engine=db)) as c:
        yield c


async def test_liveness_answers_get_and_head_without_signing_in(client):
    got = await client.get("/health")
    assert got.status_code == 200 and got.json()["status"] == "ok"
    headed = await client.head("/health")
    assert headed.status_code == 200
    assert headed.content == b""


async def test_readiness_says_ready_when_the_database_answers(client):
    got = await client.get("/health/ready")
    assert got.status_code == 200, got.text
    assert got.json() == {"status": "ready", "database": "ok"}
    assert got.headers["cache-control"] == "no-store"
    headed = await client.head("/health/ready")
    assert headed.status_code == 200 and headed.content == b""


@pytest.mark.parametrize("kind", ["postgresql-refused", "sqlite-a-folder"])
async def test_readiness_says_unavailable_and_never_why(ctx, tmp_path, kind):
    if kind == "postgresql-refused":
        url = "postgresql://nobody:secret-word@127.0.0.1:1/nowhere"
    else:  # a file SQLite cannot open: the database's name is a folder
        (tmp_path / "nowhere").mkdir()
        url = f"sqlite:///{tmp_path / 'nowhere'}"
    engine = engine_from_url(url)
    async with _client(create_app(SETTINGS, ctx=ctx, engine=engine)) as client:
        got = await client.get("/health/ready")
        headed = await client.head("/health/ready")
        live = await client.get("/health")
    assert got.status_code == 503
    assert got.json() == {"status": "unavailable", "database": "unreachable"}
    for word in ("127.0.0.1", "secret-word", "nowhere", str(tmp_path), "Error", "Traceback"):
        assert word not in got.text
    assert headed.status_code == 503 and headed.content == b""
    assert live.status_code == 200  # the process itself is alive: a monitor should not restart it for this


async def test_a_flood_of_readiness_checks_asks_the_database_once_a_second(ctx, db, monkeypatch):
    asked = []

    async def counting(engine, timeout=2.0):
        asked.append(engine)
        await asyncio.sleep(0.01)
        return True

    monkeypatch.setattr(web_app, "database_answers", counting)
    async with _client(create_app(SETTINGS, ctx=ctx, engine=db)) as client:
        answers = await asyncio.gather(*(client.get("/health/ready") for _ in range(40)))
    assert {a.status_code for a in answers} == {200}
    assert len(asked) == 1


class _SlowEngine:
    async def run_querystring(self, querystring, in_pool=True):
        await asyncio.sleep(5)


class _BrokenEngine:
    async def run_querystring(self, querystring, in_pool=True):
        raise OSError("connection refused by 10.0.0.7")


async def test_a_database_that_hangs_or_fails_is_not_ready_within_the_timeout_and_the_log_says_why(caplog):
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level("WARNING", logger="caseframe.health"):
        assert await database_answers(_SlowEngine(), timeout=0.1) is False
        assert loop.time() - started < 1
        assert await database_answers(_BrokenEngine()) is False
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "the database did not answer within 0.1 s",
        "the database did not answer: OSError: connection refused by 10.0.0.7",
    ]


async def test_the_database_answers_on_the_runs_database(db):
    assert await database_answers(db) is True
