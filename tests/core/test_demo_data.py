"""demo_data has one documented shape (DemoData, generated into docs/hooks.md), and the loader holds plugins to it:
every built-in and example plugin's demo data fits it, and a mistake is listed, with where it is, before anything
is written. A load that stops part-way leaves nothing behind."""

from __future__ import annotations

import asyncio
import sys
import typing
from pathlib import Path

import pytest

from caseframe.core import hookimpl, payloads
from caseframe.core.agencies.tables import Agency
from caseframe.core.demo import check_demo_data, demo_contributions, is_empty, load_demo
from caseframe.core.errors import DemoDataError
from caseframe.core.testing import make_context

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [ROOT / "examples/caseframe-fly-tipping", ROOT / "examples/caseframe-unauthorised-encampments"]


@pytest.fixture(scope="module")
def examples():
    sys.path[:0] = [str(p) for p in EXAMPLES]
    import caseframe_fly_tipping
    import caseframe_unauthorised_encampments

    yield [caseframe_fly_tipping, caseframe_unauthorised_encampments]
    for p in EXAMPLES:
        sys.path.remove(str(p))


def test_every_built_in_and_example_plugin_s_demo_data_has_the_documented_shape(examples):
    ctx = make_context(*examples, builtins=True)
    named = demo_contributions(ctx)
    assert {"caseframe.areas.asb", "caseframe_fly_tipping", "caseframe_unauthorised_encampments"} <= {
        n for n, _ in named
    }
    assert check_demo_data(ctx, named) == []
    # and the shapes cover every key they use, nested ones too: nothing is read that is not documented
    used = {key for _, data in named for case in data.get("cases", []) for key in case}
    assert used <= set(payloads.DemoCase.__annotations__)


def test_the_loader_reads_only_documented_keys():
    """Every key core/demo.py reads from a plugin's data (spec["..."], .get("...")) is in a demo shape."""
    import re

    source = (ROOT / "core/demo.py").read_text(encoding="utf-8")
    start = source.index("async def load_demo")
    read = set(
        re.findall(
            r'(?:spec|p|panel|agency|subject|task|document|contribution|con)(?:\.get\(|\[)"(\w+)"',
            source[start:],
        )
    )
    documented = {key for shape in payloads.DEMO_SHAPES for key in typing.get_type_hints(shape)}
    assert read and read <= documented, f"read but not documented: {sorted(read - documented)}"


class Broken:
    CASEFRAME_PLUGIN_NAME = "broken_demo"

    @hookimpl
    def demo_data(self):
        return {
            "persons": [{"key": "p1", "given_name": "Ada", "family_name": "Lane", "adresses": []}],
            "cases": [
                {
                    "key": "b-1",
                    "area": "asb",
                    "agency": "ashdown-council",
                    "opened_days_ago": "ten",
                    "forms": {"incident": {}},
                    "subjects": [{"person": "p2", "role": "perpetrator"}],
                },
                {
                    "key": "b-2",
                    "area": "asb",
                    "agency": "nowhere-council",
                    "forms": {"report": {}},
                    "transitions": ["fly"],
                    "subjects": [{"person": "p1", "role": "landlord"}],
                },
            ],
            "panels": [
                {
                    "slug": "p",
                    "name": "P",
                    "chair": "ashdown-council",
                    "members": ["nobody"],
                    "frequency": "daily",
                }
            ],
            "agencies": [{"slug": "x", "name": "X", "agency_type": "wizards"}],
        }


def test_a_broken_contribution_lists_every_problem_with_where_it_is():
    ctx = make_context(Broken(), builtins=True)
    shape = check_demo_data(ctx, [("broken_demo", Broken().demo_data())])
    assert shape == [
        "plugin broken_demo: demo_data().persons[0]: unknown key 'adresses' (did you mean 'addresses'?)",
        "plugin broken_demo: demo_data().cases[0].opened_days_ago: should be a whole number, not 'ten'",
    ]
    data = Broken().demo_data()
    data["persons"][0].pop("adresses")
    data["cases"][0]["opened_days_ago"] = 10
    names = check_demo_data(ctx, [("broken_demo", data)])
    where = "plugin broken_demo: demo_data()"
    assert names == [
        f"{where}.agencies[0].agency_type: 'wizards' is not a kind of agency",
        f"{where}.panels[0].frequency: 'daily' is not one of weekly, fortnightly, monthly, quarterly, as_needed",
        f"{where}.panels[0].members[0]: no demo agency 'nobody'",
        f"{where}.cases[0] (b-1).subjects[0].person: no demo person has the key 'p2'",
        f"{where}.cases[0] (b-1).forms: asb opens a case with the form 'report', which is missing",
        f"{where}.cases[0] (b-1).forms.incident: asb has no form 'incident'",
        f"{where}.cases[1] (b-2).agency: no demo agency 'nowhere-council'; add it in agencies",
        f"{where}.cases[1] (b-2).transitions[0]: asb has no transition 'fly'",
        f"{where}.cases[1] (b-2).subjects[0].role: asb has no role 'landlord'",
    ]


async def test_demo_load_stops_before_writing_anything(db):
    ctx = make_context(Broken(), builtins=True)
    with pytest.raises(DemoDataError) as stopped:
        await load_demo(ctx)
    assert "unknown key 'adresses'" in str(stopped.value)
    assert await is_empty() and await Agency.count() == 0


async def test_a_demo_load_that_stops_part_way_leaves_the_database_empty_for_the_next_start(db, monkeypatch):
    """Ctrl+C while ``caseframe serve --demo`` loads (asyncio cancels the load), after the agencies, users, cases and
    shares are written and before the panels' history: nothing is left, so the next start loads the whole demo
    rather than saying the database already holds data and serving half of one."""
    from caseframe.core.cases.tables import Case
    from caseframe.core.panels import demo as panel_demo
    from caseframe.core.persons.tables import Person

    ctx = make_context(builtins=True)
    reached = []

    async def stopped(*args, **kwargs):
        reached.append(
            await Case.count()
        )  # everything before this step is written, in the load's transaction
        raise asyncio.CancelledError

    monkeypatch.setattr(panel_demo, "load_panel_demo", stopped)
    with pytest.raises(asyncio.CancelledError):
        await load_demo(ctx)
    assert reached and reached[0] > 0
    assert await is_empty()
    assert (await Agency.count(), await Person.count(), await Case.count()) == (0, 0, 0)

    monkeypatch.undo()
    counts = await load_demo(ctx)
    assert counts["cases"] == await Case.count() > 0 and counts["panel cases"] > 0


#: ``caseframe demo load`` with the Broken plugin as the only extra one (run in its own process, on its own database)
COMMAND = """
import sys
import caseframe.core.context
from caseframe.core.testing import make_context
from tests.core.test_demo_data import Broken
caseframe.core.context.build_context = lambda *a, **k: make_context(Broken(), builtins=True)
from caseframe.core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_command_lists_the_problems_one_a_line(tmp_path):
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CASEFRAME_DATABASE_URL", None)
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            COMMAND,
            "--database",
            f"sqlite:///{tmp_path / 'demo.sqlite'}",
            "demo",
            "load",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr[-2000:]
    err = run.stderr.strip().splitlines()
    assert (
        err[0] == "caseframe: plugin broken_demo: demo_data().persons[0]: unknown key 'adresses' "
        "(did you mean 'addresses'?)"
    )
    assert err[-1] == "caseframe: demo data not loaded, nothing written: fix the plugin's demo_data above"
    assert "Traceback" not in run.stderr
    assert "Loading demo data..." in run.stdout and "Demo data loaded" not in run.stdout


def test_the_demo_shapes_are_in_the_hook_reference():
    from caseframe.core import docs

    text = docs.hooks_markdown()
    for shape in payloads.DEMO_SHAPES:
        assert f"### `{shape.__name__}`" in text
    assert "| `transitions` | `list[str]` | optional | workflow transitions to make" in text
    assert "| `from` | `str` | optional | when they moved in (ISO date) |" in text
