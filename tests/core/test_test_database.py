"""The ``db`` fixture gives every test the run's database, whatever a test before it left the tables pointed at."""

from __future__ import annotations

import tempfile
from pathlib import Path

import caseframe.core.db.piccolo_conf as conf
from caseframe.core.cases.tables import Case
from caseframe.core.db.engine import bind, engine_from_url


def test_a_test_that_points_the_tables_elsewhere_and_leaves_them(database):
    """As a command or an app's start-up does in process: bind() another database, and do not bind back."""
    other = engine_from_url(f"sqlite:///{Path(tempfile.mkdtemp(prefix='cf-elsewhere-')) / 'db.sqlite'}")
    bind(other)
    assert conf.DB is other and Case._meta.db is other


async def test_the_next_test_gets_the_runs_database_again(db, database):
    assert conf.DB is database and Case._meta.db is database
    assert await Case.count() == 0  # and reads it
