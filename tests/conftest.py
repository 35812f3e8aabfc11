"""Shared fixtures: Caseframe's pytest plugin (one database per test run, a SQLite file or a PostgreSQL schema,
emptied per test; ctx and client), as a plugin's own tests get it; here ctx loads the noise fixture area."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from tests.fixtures.areas import noise_plugin

pytest_plugins = ["caseframe.testing.pytest_plugin"]


def _journey(nodeid: str) -> bool:
    return nodeid.replace("\\", "/").startswith("tests/e2e/")


def _in_parallel(config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) or hasattr(config, "workerinput")


#: what a test module says when it reaches a database other than through the ``database`` fixture (a server or a
#: command it starts on the run's database, a URL of its own)
_NAMES_A_DATABASE = re.compile(r"CASEFRAME_(TEST_)?DATABASE_URL|database_url|postgres", re.IGNORECASE)


def _touches_no_database(item) -> bool:
    """Whether a test cannot reach the run's database: it is marked ``own_sqlite`` (a command or server it starts on a
    SQLite file of its own), or it asks for no ``database`` fixture (``db`` and ``client`` lead to it) and its
    module never names a database."""
    if item.get_closest_marker("own_sqlite"):
        return True
    if "database" in getattr(item, "fixturenames", ()):
        return False
    return not _module_names_a_database(Path(str(item.fspath)))


@functools.cache
def _module_names_a_database(path: Path) -> bool:
    return bool(_NAMES_A_DATABASE.search(path.read_text(encoding="utf-8")))


def pytest_collection_modifyitems(config, items):
    """Browser journeys run apart from async tests: Playwright's sync API keeps an event loop running while
    its browser is open. In one process they run last, after every async test has finished with its loop.
    Under pytest-xdist (``./dev test`` runs two workers) they are one unit of work (below), put first so
    that one worker starts the five-minute journeys while the other takes the rest; that worker's browser
    closes with the e2e package, before it takes any async test.

    On PostgreSQL (.ci/run's second suite, after the same suite on SQLite) a test that cannot reach the run's
    database is left out: it would run exactly as it did on SQLite, and CI's time is short."""
    # imported here, not above: pytest imports the plugin itself (pytest_plugins), to rewrite its asserts
    from caseframe.testing.pytest_plugin import database_url

    first = _in_parallel(config)
    items.sort(key=lambda item: _journey(item.nodeid) != first)
    if database_url() is not None:
        kept, left_out = [], []
        for item in items:
            (left_out if _touches_no_database(item) else kept).append(item)
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Modules go to workers whole (module fixtures are made once), and the browser journeys all go to one
    worker: they share one demo server, whose state a journey may leave for a later one."""
    from xdist.scheduler import LoadScopeScheduling

    class JourneysTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/e2e" if _journey(nodeid) else super()._split_scope(nodeid)

    return JourneysTogether(config, log)


@pytest.fixture
def caseframe_plugins():
    """The plugins the ``ctx`` fixture loads unless a test module defines its own ``ctx``: the noise area."""
    return [noise_plugin]
