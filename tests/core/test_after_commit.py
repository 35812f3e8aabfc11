"""Event hooks run after the outermost transaction commits, never for a rolled-back change; async ones too."""

from __future__ import annotations

import asyncio
import logging

import pytest

from caseframe.core import hookimpl
from caseframe.core.audit import service as audit
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case
from caseframe.core.db.tx import after_commit, in_transaction, transaction
from caseframe.core.testing import make_agency, make_context, make_user
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


class Listener:
    """A plugin that notes each case it hears of, and whether a transaction was still open then."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, bool]] = []

    @hookimpl
    def case_created(self, case, actor):
        self.heard.append((case["reference"], in_transaction()))


class AsyncListener:
    def __init__(self) -> None:
        self.heard: list[str] = []

    @hookimpl
    async def case_created(self, case, actor):
        await asyncio.sleep(0)
        self.heard.append(case["reference"])


class BrokenListener:
    @hookimpl
    def case_created(self, case, actor):
        raise ValueError("this plugin is broken")


@pytest.fixture
def plugins():
    return Listener(), AsyncListener(), BrokenListener()


@pytest.fixture
def ctx(plugins):
    return make_context(noise_plugin, *plugins)


@pytest.fixture
async def worker(db, ctx):
    council = await make_agency(ctx, "ashdown-council")
    return await make_user(council, ("caseworker",))


async def test_a_plugin_hears_of_a_case_once_it_is_committed(ctx, worker, plugins, caplog):
    listener, async_listener, _ = plugins
    with caplog.at_level(logging.ERROR, logger="caseframe"):
        case = await cases.open_case(ctx, worker, "noise", REPORT)
    assert listener.heard == [(case["reference"], False)]
    assert async_listener.heard == [case["reference"]]  # an async def implementation is awaited
    assert "BrokenListener failed in case_created: ValueError" in caplog.text
    assert "Kestrel" not in caplog.text


async def test_a_case_opened_inside_a_transaction_that_rolls_back_is_never_announced(ctx, worker, plugins):
    listener, async_listener, _ = plugins
    with pytest.raises(RuntimeError):
        async with transaction():
            await cases.open_case(ctx, worker, "noise", REPORT)
            assert listener.heard == []  # not yet: the outer transaction has not committed
            raise RuntimeError("something later in the same change failed")
    assert listener.heard == [] and async_listener.heard == []
    assert await Case.count() == 0


async def test_inside_an_outer_transaction_events_wait_for_its_commit(ctx, worker, plugins):
    listener, _, _ = plugins
    async with transaction():
        case = await cases.open_case(ctx, worker, "noise", REPORT)
        assert listener.heard == []
    assert listener.heard == [(case["reference"], False)]


async def test_after_commit_outside_a_transaction_runs_at_once(db):
    ran: list[str] = []
    after_commit(lambda: ran.append("plain"))

    async def later():
        ran.append("async")

    after_commit(later)
    await asyncio.sleep(0.01)
    assert ran == ["plain", "async"]


async def test_the_audit_refuses_an_event_outside_a_transaction(db, worker):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        await audit.record("case.view", worker, object_type="case", object_id=1)
    async with transaction():
        await audit.record("case.view", worker, object_type="case", object_id=1)


async def test_notify_from_code_that_cannot_await_still_waits_for_the_commit(ctx, worker, plugins):
    listener, _, _ = plugins
    async with transaction():
        ctx.notify("case_created", case={"reference": "NOI-TEST"}, actor=worker.as_dict())
        assert listener.heard == []
    assert listener.heard == [("NOI-TEST", False)]
