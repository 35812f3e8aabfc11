"""Load-time checks of date conditions, once and subject_roles: each broken area is refused with file, pointer
and reason, by start-up and by `caseframe areas check` alike. Each case is the notices fixture with one change."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from caseframe.core.areas import check_paths, load_area
from caseframe.core.cli import main
from caseframe.core.errors import AreaError

NOTICES = Path(__file__).resolve().parents[1] / "fixtures/areas/notices"
ENFORCE = 'days_since = { form = "notice", field = "/served_on" }, at_least = 7'
APPEAL = 'days_since = { form = "notice", field = "/served_on" }, at_most = 21'
RULE_DATE = 'dates = [{ days_since = { form = "notice", field = "/served_on" }, at_least = 14 }]'
G_ENFORCE = "/workflow/transitions/1/guards/0"
R_DATE = "/rules/0/dates/0"


def broken_area(where: Path, old: str, new: str) -> Path:
    area = where / "notices"
    shutil.copytree(NOTICES, area)
    text = (area / "area.toml").read_text(encoding="utf-8")
    assert old in text, f"the fixture no longer contains {old!r}"
    (area / "area.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return area


@dataclass
class Broken:
    id: str
    pointer: str
    reason: str
    old: str
    new: str


GALLERY = [
    # guards
    Broken(
        "guard date on an unknown form",
        f"{G_ENFORCE}/days_since/form",
        "'letter' is not a form of this area",
        ENFORCE,
        ENFORCE.replace('form = "notice"', 'form = "letter"'),
    ),
    Broken(
        "guard date on an unknown question",
        f"{G_ENFORCE}/days_since/field",
        "'/posted_on' is not a question of form 'notice'",
        ENFORCE,
        ENFORCE.replace("/served_on", "/posted_on"),
    ),
    Broken(
        "guard date on a text question",
        f"{G_ENFORCE}/days_since/field",
        "'/address' of form 'report' is not a date question",
        ENFORCE,
        ENFORCE.replace('form = "notice", field = "/served_on"', 'form = "report", field = "/address"'),
    ),
    Broken(
        "guard date on a number question",
        f"{G_ENFORCE}/days_since/field",
        "is not a date question",
        ENFORCE,
        ENFORCE.replace('form = "notice", field = "/served_on"', 'form = "report", field = "/seen_count"'),
    ),
    Broken(
        "guard date on a group, not a date",
        f"{G_ENFORCE}/days_since/field",
        "is not a date question",
        ENFORCE,
        ENFORCE.replace("/served_on", "/hearing"),
    ),
    Broken(
        "guard days written as a decimal",
        f"{G_ENFORCE}/at_least",
        "must be a whole number of days, e.g. 7",
        ENFORCE,
        ENFORCE.replace("at_least = 7", "at_least = 7.0"),
    ),
    Broken(
        "guard days a fraction",
        f"{G_ENFORCE}/at_least",
        "is not of type 'integer'",
        ENFORCE,
        ENFORCE.replace("at_least = 7", "at_least = 7.5"),
    ),
    Broken(
        "guard days negative",
        f"{G_ENFORCE}/at_least",
        "less than the minimum of 0",
        ENFORCE,
        ENFORCE.replace("at_least = 7", "at_least = -7"),
    ),
    Broken(
        "guard days beyond ten years",
        f"{G_ENFORCE}/at_least",
        "greater than the maximum of 3660",
        ENFORCE,
        ENFORCE.replace("at_least = 7", "at_least = 36500"),
    ),
    Broken(
        "guard days as text",
        f"{G_ENFORCE}/at_least",
        "is not of type 'integer'",
        ENFORCE,
        ENFORCE.replace("at_least = 7", 'at_least = "7"'),
    ),
    Broken(
        "guard window that can never hold",
        "/workflow/transitions/2/guards/0/at_most",
        "is less than at_least (30), so the condition could never hold",
        APPEAL,
        APPEAL + ", at_least = 30",
    ),
    Broken(
        "guard date with no number of days",
        G_ENFORCE,
        "days_since needs at_least or at_most",
        ENFORCE,
        ENFORCE.replace(", at_least = 7", ""),
    ),
    Broken(
        "guard days without a date",
        "/workflow/transitions/0/guards/0/at_least",
        "at_least only goes with days_since or days_until",
        '{ form = "notice", message',
        '{ form = "notice", at_least = 3, message',
    ),
    Broken(
        "guard date field not a JSON pointer",
        f"{G_ENFORCE}/days_since/field",
        "must be a JSON pointer to a question, starting with /",
        ENFORCE,
        ENFORCE.replace('"/served_on"', '"served_on"'),
    ),
    Broken(
        "guard date with no field",
        f"{G_ENFORCE}/days_since",
        "'field' is a required property",
        ENFORCE,
        ENFORCE.replace(', field = "/served_on"', ""),
    ),
    Broken(
        "guard days misspelt",
        f"{G_ENFORCE}/at_leats",
        "did you mean 'at_least'?",
        ENFORCE,
        ENFORCE.replace("at_least", "at_leats"),
    ),
    Broken(
        "guard both since and until",
        G_ENFORCE,
        "needs exactly one of: days_since, days_until, form, when",
        ENFORCE,
        ENFORCE + ', days_until = { form = "notice", field = "/served_on" }',
    ),
    Broken(
        "guard until on a text question",
        "/workflow/transitions/4/guards/0/days_until/field",
        "is not a date question",
        'days_until = { form = "notice", field = "/hearing/on" }',
        'days_until = { form = "report", field = "/address" }',
    ),
    Broken(
        "guard until with no number of days",
        "/workflow/transitions/4/guards/0",
        "days_until needs at_least or at_most",
        'field = "/hearing/on" }, at_least = 2',
        'field = "/hearing/on" }',
    ),
    # rules
    Broken(
        "rule date both since and until",
        R_DATE,
        "needs exactly one of: days_since, days_until",
        RULE_DATE,
        RULE_DATE.replace(
            "at_least = 14", 'at_least = 14, days_until = { form = "notice", field = "/served_on" }'
        ),
    ),
    Broken(
        "rule until on an unknown question",
        "/rules/3/dates/0/days_until/field",
        "'/hearing/at' is not a question of form 'notice'",
        'field = "/hearing/on" }, at_most = 7',
        'field = "/hearing/at" }, at_most = 7',
    ),
    Broken(
        "rule date on a form rules never see",
        f"{R_DATE}/days_since/form",
        '"x-fact": false',
        RULE_DATE,
        RULE_DATE.replace('form = "notice", field = "/served_on"', 'form = "private", field = "/noted_on"'),
    ),
    Broken(
        "rule date on a text question",
        f"{R_DATE}/days_since/field",
        "is not a date question",
        RULE_DATE,
        RULE_DATE.replace('form = "notice", field = "/served_on"', 'form = "report", field = "/address"'),
    ),
    Broken(
        "rule date on an unknown form",
        f"{R_DATE}/days_since/form",
        "'letter' is not a form of this area",
        RULE_DATE,
        RULE_DATE.replace('form = "notice"', 'form = "letter"'),
    ),
    Broken(
        "rule days as a decimal",
        f"{R_DATE}/at_least",
        "must be a whole number of days, e.g. 14",
        RULE_DATE,
        RULE_DATE.replace("at_least = 14", "at_least = 14.0"),
    ),
    Broken(
        "rule date with no number of days",
        R_DATE,
        "days_since needs at_least or at_most",
        RULE_DATE,
        RULE_DATE.replace(", at_least = 14", ""),
    ),
    Broken(
        "rule subject role not of the area",
        "/rules/1/subject_roles/0",
        "'tenant' is not a role of this area",
        'subject_roles = ["recipient"]',
        'subject_roles = ["tenant"]',
    ),
    Broken(
        "rule subject roles empty",
        "/rules/1/subject_roles",
        "should be non-empty",
        'subject_roles = ["recipient"]',
        "subject_roles = []",
    ),
    Broken(
        "rule once something else",
        "/rules/0/once",
        "'sometimes' is not one of ['person', 'case']",
        'once = "case"',
        'once = "sometimes"',
    ),
]


@pytest.mark.parametrize("case", GALLERY, ids=[c.id for c in GALLERY])
def test_broken_declaration_is_rejected_with_file_pointer_and_reason(tmp_path, case: Broken):
    area = broken_area(tmp_path, case.old, case.new)
    with pytest.raises(AreaError) as exc:
        load_area(area)
    problems = exc.value.problems
    listing = "\n".join(f"  {Path(p.file).name} {p.pointer!r}: {p.reason}" for p in problems)
    assert [(Path(p.file).name, p.pointer) for p in problems] == [("area.toml", case.pointer)], listing
    assert case.reason in problems[0].reason, listing
    assert check_paths([area]) == problems  # `caseframe areas check` says the same


def test_the_notices_fixture_itself_loads():
    area = load_area(NOTICES)
    assert [(r.id, r.once, sorted(r.subject_roles), len(r.dates)) for r in area.rules] == [
        ("period-over-to-police", "case", [], 1),
        ("recipient-support", "person", ["recipient"], 0),
        ("everyone-to-housing", "person", [], 0),
        ("hearing-soon", "case", [], 1),
    ]


def test_areas_check_on_the_command_line_names_the_file_pointer_and_reason(tmp_path, capsys):
    area = broken_area(tmp_path, ENFORCE, ENFORCE.replace("/served_on", "/hearing"))
    assert main(["areas", "check", str(area)]) != 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert (
        "area.toml" in text and f"{G_ENFORCE}/days_since/field" in text and "is not a date question" in text
    )
