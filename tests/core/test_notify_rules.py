"""A rule's `notify` action in area.toml: loaded as a notice (no referral), and a malformed one stops start-up with
the file, the JSON pointer and the reason."""

from __future__ import annotations

import pytest

from caseframe.core.areas import check_paths, load_area
from tests.core.test_area_loading import listing, load_problems, make_area

#: rule 2 of the noise fixture; each case below rewrites its target
THEN = 'then = { agency_type = "police", reason'


def test_a_notify_rule_loads_as_a_notice_not_a_referral(tmp_path):
    area = make_area(
        tmp_path,
        toml=[(THEN, 'then = { notify = { agency_type = "police", message = "For information" }, reason')],
    )
    rule = load_area(area).rules[2]
    assert rule.action == "notify" and rule.message == "For information"
    assert (rule.target.kind, rule.target.name) == ("agency_type", "police")
    assert check_paths([area]) == []
    named = make_area(
        tmp_path / "b",
        toml=[(THEN, 'then = { notify = { agency = "wealden-police", message = "FYI" }, reason')],
    )
    assert load_area(named).rules[2].target.kind == "agency"


@pytest.mark.parametrize(
    "then, pointer, reason",
    [
        (
            'then = { notify = { agency_type = "police" }, reason',
            "/rules/2/then/notify",
            "'message' is a required property",
        ),
        (
            'then = { notify = { agency_type = "police", panel = "ccp", message = "FYI" }, reason',
            "/rules/2/then/notify",
            "needs exactly one of: agency, agency_type, panel",
        ),
        (
            'then = { notify = { agency_typ = "police", message = "FYI" }, reason',
            "/rules/2/then/notify/agency_typ",
            "did you mean 'agency_type'?",
        ),
        (
            'then = { notify = { agency_type = "police", message = "   " }, reason',
            "/rules/2/then/notify/message",
            "'   ' must not be blank",
        ),
        (
            'then = { notify = { agency_type = "police", message = "' + "x" * 151 + '" }, reason',
            "/rules/2/then/notify/message",
            "is too long",
        ),
        (
            'then = { notify = { agency = "Not A Slug", message = "FYI" }, reason',
            "/rules/2/then/notify/agency",
            "'Not A Slug' must be lower-case letters, digits and hyphens",
        ),
        ('then = { notify = "police", reason', "/rules/2/then/notify", "is not of type 'object'"),
        (
            'then = { agency_type = "police", notify = { agency_type = "police", message = "FYI" }, reason',
            "/rules/2/then",
            "needs exactly one of",
        ),
    ],
    ids=[
        "no-message",
        "two-targets",
        "unknown-key",
        "blank-message",
        "long-message",
        "bad-slug",
        "not-a-table",
        "refer-and-notify",
    ],
)
def test_a_malformed_notify_stops_start_up_with_file_pointer_and_reason(tmp_path, then, pointer, reason):
    area = make_area(tmp_path, toml=[(THEN, then)])
    problems = load_problems(area)
    assert any(
        p.file.endswith("area.toml") and p.pointer == pointer and reason in p.reason for p in problems
    ), listing(problems)
    assert check_paths([area]) == problems


def test_a_notify_to_an_unknown_kind_of_agency_is_found_when_areas_are_checked(tmp_path):
    area = make_area(
        tmp_path, toml=[(THEN, 'then = { notify = { agency_type = "polis", message = "FYI" }, reason')]
    )
    load_area(area)  # fine on its own: the kinds of agency are known only with every plugin loaded
    problems = check_paths([area])
    assert [(p.pointer, "'polis' is not a known agency type" in p.reason) for p in problems] == [
        ("/rules/2/then/notify/agency_type", True)
    ], listing(problems)
