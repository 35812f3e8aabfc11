"""``caseframe new-area``: write a working plugin package for a new business area, with its test."""

from __future__ import annotations

import json
import re
from pathlib import Path

SLUG = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

PYPROJECT = """[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "caseframe-{dash}"
version = "0.1.0"
description = "{title}: a Caseframe business area"
requires-python = ">=3.11"
# the Caseframe versions this area was written against: the plugin contract holds within a major version
dependencies = ["{requires}"]

[project.optional-dependencies]
# what the tests need beside Caseframe: pip install -e '.[test]'
test = {test_requirements}

[project.entry-points.caseframe]
{slug} = "caseframe_{slug}"

[tool.setuptools.packages.find]
include = ["caseframe_{slug}*"]

[tool.setuptools.package-data]
"*" = ["*.toml", "*.json", "*.html"]

[tool.ruff]
# Caseframe's own line length, so `ruff format` leaves the generated files as they are
line-length = 110

[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "session"
asyncio_default_test_loop_scope = "session"
# the warnings Caseframe's own tests ignore (its web framework's deprecations, not yours)
filterwarnings = {filterwarnings}
"""

INIT = '''"""{title}: a Caseframe business area."""

from pathlib import Path

from caseframe.api import hookimpl


@hookimpl
def register_areas():
    return [Path(__file__).parent / "area"]
'''

AREA = """# {title}: see the area format reference in Caseframe's docs/area-reference.md
slug = "{slug}"
title = "{title}"
summary = "Describe the casework this area covers in a sentence or two."
version = "0.1.0"
reference_prefix = "{prefix}"

[case]
opening_form = "report"
forms = ["report", "review"]
risk_levels = ["standard", "medium", "high"]
risk_from = {{ form = "review", field = "/risk_level" }}

[[roles]]
name = "reporter"
label = "Reporter"

[[roles]]
name = "subject"
label = "Subject"

# How long a closed case is kept before your local admin reviews it for erasure; set what your
# organisation's retention schedule says (a local admin may move it between min_years and max_years).
[retention]
years_after_closure = 6
min_years = 2
max_years = 10
basis = "Six years after closure (replace with your retention schedule)"

[workflow]
initial = "reported"

[[workflow.states]]
name = "reported"
label = "Reported"

[[workflow.states]]
name = "reviewed"
label = "Reviewed"

[[workflow.states]]
name = "closed"
label = "Closed"
terminal = true

[[workflow.transitions]]
name = "review"
label = "Record the review"
from = ["reported"]
to = "reviewed"
guards = [{{ form = "review", message = "Fill in the review before recording it" }}]

# a date guard: whole days since a date answer, with today from caseframe.api.clock (tests travel with clock.travel)
[[workflow.transitions]]
name = "close"
label = "Close the case"
from = ["reviewed"]
to = "closed"
guards = [{{ days_since = {{ form = "review", field = "/reviewed_on" }}, at_least = 28, message = "Wait 28 days after the review to check the problem has stopped" }}]

[[counts]]
name = "reports_90d"
window_days = 90
role = "subject"

# evaluated for each person on the case with the role "subject", at most once per person per case
[[rules]]
id = "repeat-subject"
on = ["case_created", "subject_added"]
subject_roles = ["subject"]
when = {{ properties = {{ counts = {{ properties = {{ reports_90d = {{ minimum = 3 }} }} }} }} }}
then = {{ panel = "complex-case-panel", reason = "Three or more reports about the same person within 90 days" }}

# about the case, not a person on it: one referral per case, however many people are on it
[[rules]]
id = "high-risk"
on = ["form_saved"]
once = "case"
when = {{ properties = {{ case = {{ properties = {{ risk_level = {{ const = "high" }} }} }} }} }}
then = {{ panel = "complex-case-panel", reason = "The review found a high risk" }}

# a notice, not a referral: the police are told, without being asked to take the case on, once per case
[[rules]]
id = "medium-risk-tell-police"
on = ["form_saved"]
once = "case"
when = {{ properties = {{ case = {{ properties = {{ risk_level = {{ const = "medium" }} }} }} }} }}
then = {{ notify = {{ agency_type = "police", message = "For information: a case was assessed as medium risk" }}, reason = "The review found a medium risk" }}
"""

REPORT = """{{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Report",
  "type": "object",
  "additionalProperties": false,
  "required": ["date_reported", "description"],
  "properties": {{
    "date_reported": {{"title": "Date reported", "type": "string", "format": "date",
                      "x-errors": {{"required": "Enter the date it was reported"}}}},
    "description": {{"title": "What happened", "type": "string", "minLength": 1, "maxLength": 5000,
                    "x-widget": "textarea", "x-summary": true,
                    "x-errors": {{"required": "Enter what happened", "minLength": "Enter what happened"}}}}
  }}
}}
"""

REVIEW = """{{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Review",
  "type": "object",
  "additionalProperties": false,
  "required": ["reviewed_on", "risk_level"],
  "properties": {{
    "reviewed_on": {{"title": "Date of the review", "type": "string", "format": "date",
                    "x-errors": {{"required": "Enter the date of the review"}}}},
    "risk_level": {{"title": "Risk", "type": "string", "enum": ["standard", "medium", "high"],
                   "x-labels": ["Standard", "Medium", "High"], "x-widget": "radios"}},
    "notes": {{"title": "Review notes", "type": "string", "x-widget": "textarea"}}
  }}
}}
"""

CONFTEST = '''"""Caseframe's test fixtures (database, db, ctx, client), with this package's plugin loaded into ctx."""

import pytest

import caseframe_{slug}

pytest_plugins = ["caseframe.testing.pytest_plugin"]


@pytest.fixture
def caseframe_plugins():
    return [caseframe_{slug}]


@pytest.fixture
def caseframe_builtins():
    # True loads Caseframe's built-in areas into ctx beside yours: needed when a rule refers into one of them
    # (then = {{ area = "hate_crime" }}) or a count counts its cases
    return False
'''

TEST = '''"""Tests for the {title} area.

It loads, opens cases, its rules fire (a referral about a person, one about the case, a notice), and its
date guard waits for the clock.

The fixtures (database, db, ctx with this plugin loaded, client) come from caseframe.testing's pytest plugin,
loaded by conftest.py; import Caseframe only through caseframe.api and caseframe.testing.
"""

import pytest
from caseframe import api
from caseframe.api import Forbidden, clock
from caseframe.testing import fire, make_agency, make_person, make_user, notifications_of, referrals_from

AREA = "{slug}"
AGENCY = "{dash}"  # the end of each test agency's slug
REPORT = {{"date_reported": "2026-11-01", "description": "Reported at the front desk"}}


async def test_area_loads(ctx):
    assert AREA in ctx.areas.areas


async def test_third_report_about_a_person_is_referred(db, ctx):
    agency = await make_agency(ctx, f"test-agency-{{AGENCY}}")
    worker = await make_user(agency)
    person = await make_person(worker)
    for _ in range(2):
        assert await fire(ctx, worker, AREA, REPORT, [(person["id"], "subject")]) == []
    fired = await fire(ctx, worker, AREA, REPORT, [(person["id"], "subject")])
    assert [f["rule"] for f in fired] == [f"{{AREA}}:repeat-subject"]
    assert fired[0]["facts"]["counts"]["reports_90d"] == 3


async def test_review_guard(db, ctx):
    agency = await make_agency(ctx, f"guard-agency-{{AGENCY}}")
    worker = await make_user(agency)
    case = await api.open_case(ctx, worker, AREA, REPORT)
    with pytest.raises(Forbidden, match="Fill in the review"):
        await api.transition_case(ctx, worker, case["id"], "review")


async def test_closing_waits_28_days_after_the_review_and_high_risk_is_referred_once(db, ctx):
    agency = await make_agency(ctx, f"date-agency-{{AGENCY}}")
    worker = await make_user(agency)
    people = [(await make_person(worker))["id"], (await make_person(worker, given_name="Sam"))["id"]]
    case = await api.open_case(ctx, worker, AREA, REPORT, subjects=[(p, "subject") for p in people])
    review = {{"reviewed_on": clock.today().isoformat(), "risk_level": "high"}}
    await api.save_form(ctx, worker, case["id"], "review", review, expected_version=None)
    await api.save_form(ctx, worker, case["id"], "review", review, expected_version=None)
    fired = [(r["rule_id"], r["person_id"]) for r in await referrals_from(case)]
    assert fired == [(f"{{AREA}}:high-risk", None)]  # once for the case, not per person or per save
    await api.transition_case(ctx, worker, case["id"], "review")
    with clock.travel(days=27), pytest.raises(Forbidden, match="Wait 28 days after the review"):
        await api.transition_case(ctx, worker, case["id"], "close")
    with clock.travel(days=28):
        assert (await api.transition_case(ctx, worker, case["id"], "close"))["state"] == "closed"


async def test_medium_risk_tells_the_police_once_without_a_referral(db, ctx):
    worker = await make_user(await make_agency(ctx, f"notify-agency-{{AGENCY}}"))
    police_agency = await make_agency(ctx, f"notify-police-{{AGENCY}}", agency_type="police", areas=[])
    police = await make_user(police_agency)
    case = await api.open_case(ctx, worker, AREA, REPORT)
    review = {{"reviewed_on": clock.today().isoformat(), "risk_level": "medium"}}
    for _ in range(2):
        await api.save_form(ctx, worker, case["id"], "review", review, expected_version=None)
    assert await referrals_from(case) == []  # told, not referred
    told = [n["text"] for n in await notifications_of(police)]
    assert told == [f"For information: a case was assessed as medium risk: {{case['reference']}}"]
'''

README = """# {title}

A Caseframe business area. Install it into the same Python environment as Caseframe and restart
Caseframe; a local admin then enables it for their agency.

```sh
pip install -e '.[test]'                     # the plugin, and pytest for its tests
caseframe areas check caseframe_{slug}/area  # every start-up check, with file, pointer and reason
pytest
```

To try it in the app (a throwaway SQLite file, the fictional demo data):

```sh
caseframe areas                                              # lists {slug} beside the built-in areas
caseframe --database sqlite:///$PWD/try.sqlite serve --demo --port 8001
```

Sign in as `admin@ashdown-council.example` (password `demo-password-2026`), **Admin → Business areas →
Enable** beside {title} (the demo enables it already for an agency your `demo_data` gives cases to), then
as `casey.morgan@ashdown-council.example` open a case from its list in the menu.

Edit `caseframe_{slug}/area/area.toml` (workflow, counts, rules) and the forms in
`caseframe_{slug}/area/forms/`. The reference of every key and hint is in Caseframe's
`docs/area-reference.md`; the hooks are in `docs/hooks.md`.
"""


#: what a scaffolded plugin's tests need beside Caseframe (its ``test`` extra); the core's own ``test`` extra holds
#: the same (tests/core/test_cli.py checks)
TEST_REQUIREMENTS = ["pytest>=9.0,<10", "pytest-asyncio>=1.5,<2"]

#: pytest warning filters the core's own pyproject.toml uses; a scaffolded plugin's tests use the same
#: (tests/core/test_cli.py checks the two lists agree)
WARNING_FILTERS = [
    "ignore::litestar.exceptions.LitestarDeprecationWarning",
    "ignore::DeprecationWarning:litestar.*",
]


def compatible_range(version: str) -> str:
    """The requirement a plugin written against ``version`` states: this minor version up to the next major."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return f"caseframe>={major}.{minor},<{major + 1}"


class ScaffoldError(ValueError):
    """The scaffold cannot be written; the message says why."""


def new_area(slug: str, parent: Path) -> Path:
    """Write ``caseframe-<slug>/`` under ``parent``; refuse to overwrite anything."""
    if not SLUG.fullmatch(slug):  # match() let "noise\n" through: $ also matches before a last newline
        raise ScaffoldError(
            f"{slug!r} is not a valid area name: use lower case letters, digits and underscores, "
            "starting with a letter (e.g. noise_nuisance)"
        )
    if not parent.is_dir():
        raise ScaffoldError(f"{parent} is not a folder")
    dash = slug.replace("_", "-")
    root = parent / f"caseframe-{dash}"
    if root.exists():
        raise ScaffoldError(f"{root} already exists; nothing was written")
    title = slug.replace("_", " ").capitalize()
    letters = re.sub(r"[^A-Z]", "", slug.upper())
    prefix = (letters[:3] if len(letters) >= 2 else "XX").ljust(2, "X")
    from caseframe.core import __version__

    values = {
        "slug": slug,
        "dash": dash,
        "title": title,
        "prefix": prefix,
        "requires": compatible_range(__version__),
        "filterwarnings": json.dumps(WARNING_FILTERS),
        "test_requirements": json.dumps(TEST_REQUIREMENTS),
    }
    package = root / f"caseframe_{slug}"
    files = {
        root / "pyproject.toml": PYPROJECT,
        root / "README.md": README,
        root / "conftest.py": CONFTEST,
        package / "__init__.py": INIT,
        package / "area" / "area.toml": AREA,
        package / "area" / "forms" / "report.schema.json": REPORT,
        package / "area" / "forms" / "review.schema.json": REVIEW,
        root / "tests" / f"test_{slug}.py": TEST,
    }
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
    return root
