"""Shared fixtures: Caseframe's pytest plugin (one database per test run, a SQLite file or a PostgreSQL schema,
emptied per test; ctx and client), as a plugin's own tests get it; here ctx loads the noise fixture area."""
from __future__ import annotations

import pytest

from tests.fixtures.areas import noise_plugin

pytest_plugins = ["caseframe.testing.pytest_plugin"]


def pytest_collection_modifyitems(config, items):
    """Browser journeys run last, after every async test has finished with its event loop."""
    items.sort(key=lambda item: "tests/e2e/" in str(item.fspath).replace("\\", "/"))


@pytest.fixture
def caseframe_plugins():
    """The plugins the ``ctx`` fixture loads unless a test module defines its own ``ctx``: the noise area."""
    return [noise_plugin]
