"""Caseframe's test fixtures (database, db, ctx, client), with this package's plugin loaded into ctx."""

import caseframe_unauthorised_encampments
import pytest

pytest_plugins = ["caseframe.testing.pytest_plugin"]


@pytest.fixture
def caseframe_plugins():
    return [caseframe_unauthorised_encampments]
