"""docs/testing.md's examples run: each python block, in order, as one test, so the page cannot go stale."""

from __future__ import annotations

import ast
import inspect
import os
import re
import sys
from pathlib import Path

from caseframe.core import testing
from caseframe.core.db.engine import bind
from tests.fixtures.areas import noise_plugin

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


async def test_every_example_in_the_testing_guide_runs(database, monkeypatch):
    # the guide's plugin is the noise fixture under the name a plugin author would import
    monkeypatch.setitem(sys.modules, "caseframe_noise", noise_plugin)
    suite_url = (
        os.environ.get("CASEFRAME_TEST_DATABASE_URL") or os.environ.get("CASEFRAME_DATABASE_URL") or ""
    )
    # the guide's fresh_database() then makes a schema on the same server
    if suite_url.startswith("postgres"):
        monkeypatch.setenv("CASEFRAME_TEST_DATABASE_URL", suite_url)
    namespace: dict = {"__name__": "docs_testing"}
    try:
        for i, source in enumerate(blocks()):
            code = compile(source, f"{DOC}:block {i + 1}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)  # noqa: S307 - our own documentation's examples
            if inspect.isawaitable(result):
                await result
    finally:
        bind(database)  # the guide made (and dropped) a database of its own: give the suite's back
        await testing.empty_tables()
    assert namespace["case"]["state"] == "visited"


def test_the_guide_names_every_helper():
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in testing.__all__ if f"`{name}" not in text and name not in text]
    assert not missing, f"docs/testing.md does not describe: {', '.join(missing)}"
    assert len(blocks()) >= 8
