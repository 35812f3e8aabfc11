"""The ``db`` fixture gives every test the run's database, whatever a test before it left the tables pointed at; and
what binds a database of its own in the test run's process (an app from start-up to shutdown, a command) points the
tables back at the run's database when it ends."""

from __future__ import annotations

import tempfile
from pathlib import Path

from piccolo.apps.migrations.tables import Migration

import caseframe.core.db.piccolo_conf as conf
from caseframe.core.cases.tables import Case
from caseframe.core.db.engine import bind, engine_from_url
from caseframe.core.db.piccolo_app import TABLES


def test_a_test_that_points_the_tables_elsewhere_and_leaves_them(database):
    """As a command or an app's start-up did in process: bind() another database, and do not bind back."""
    other = engine_from_url(f"sqlite:///{Path(tempfile.mkdtemp(prefix='cf-elsewhere-')) / 'db.sqlite'}")
    bind(other)
    assert conf.DB is other and Case._meta.db is other


async def test_the_next_test_gets_the_runs_database_again(db, database):
    assert conf.DB is database and Case._meta.db is database
    assert await Case.count() == 0  # and reads it


def _binding() -> list:
    """What Piccolo's default engine and every table point at, in order."""
    return [conf.DB, *(table._meta.db for table in [*TABLES, Migration])]


def _same(before: list, after: list) -> bool:
    return len(before) == len(after) and all(a is b for a, b in zip(before, after, strict=True))


def test_an_app_on_a_database_of_its_own_points_the_tables_back_when_it_stops(db, tmp_path):
    """tests/core/test_serving.py's served app (its own SQLite file) left the PostgreSQL suite's later tests on that
    file: its start-up bound the tables to it and its shutdown closed it without binding back."""
    import gc

    from litestar.testing import TestClient

    from caseframe.core.settings import Settings
    from caseframe.core.testing import make_context
    from caseframe.core.web.app import create_app

    before = _binding()
    app = create_app(
        Settings(local_demo=True, database_url=f"sqlite:///{tmp_path / 'own.sqlite'}"), ctx=make_context()
    )
    try:
        with TestClient(app) as client:
            assert conf.DB is not db and Case._meta.db is conf.DB  # while it runs, on its own database
            assert client.get("/health").status_code == 200
    finally:
        gc.unfreeze()  # start-up froze the heap (settle_heap)
    assert _same(before, _binding())
    assert conf.DB is db


async def test_a_command_run_in_process_points_the_tables_back_when_it_ends(db, tmp_path, capsys):
    """A command migrates and binds a database of its own (here ``caseframe audit verify``); run in process it
    leaves the tables where they were."""
    from caseframe.core.cli import _cmd_audit_verify

    before = _binding()
    assert await _cmd_audit_verify(f"sqlite:///{tmp_path / 'own.sqlite'}") == 0
    assert "Audit trail intact" in capsys.readouterr().out
    assert _same(before, _binding())
    assert conf.DB is db
    assert await Case.count() == 0  # and the run's database is read
