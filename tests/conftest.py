"""Shared fixtures: Caseframe's pytest plugin (one database per test run, a SQLite file or a PostgreSQL schema,
emptied per test; ctx and client), as a plugin's own tests get it; here ctx loads the noise fixture area."""

from __future__ import annotations

import pytest

from tests.fixtures.areas import noise_plugin

pytest_plugins = ["caseframe.testing.pytest_plugin"]


def _journey(nodeid: str) -> bool:
    return nodeid.replace("\\", "/").startswith("tests/e2e/")


def _in_parallel(config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) or hasattr(config, "workerinput")


def pytest_collection_modifyitems(config, items):
    """Browser journeys run apart from async tests: Playwright's sync API keeps an event loop running while
    its browser is open. In one process they run last, after every async test has finished with its loop.
    Under pytest-xdist (``./dev test`` runs two workers) they are one unit of work (below), put first so
    that one worker starts the five-minute journeys while the other takes the rest; that worker's browser
    closes with the e2e package, before it takes any async test."""
    first = _in_parallel(config)
    items.sort(key=lambda item: _journey(item.nodeid) != first)


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
