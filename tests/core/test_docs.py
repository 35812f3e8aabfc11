"""The generated reference pages match the code and schemas they come from."""

from caseframe.core import docs


def test_hook_reference_is_current():
    assert (docs.DOCS / "hooks.md").read_text(encoding="utf-8") == docs.hooks_markdown(), (
        "docs/hooks.md is out of date: run 'caseframe docs'"
    )


def test_area_reference_is_current():
    assert (docs.DOCS / "area-reference.md").read_text(encoding="utf-8") == docs.area_reference_markdown(), (
        "docs/area-reference.md is out of date: run 'caseframe docs'"
    )


def test_every_hook_is_in_the_reference():
    text = docs.hooks_markdown()
    for name in docs.hook_names():
        assert f"## `{name}(" in text


def test_api_reference_is_current():
    assert (docs.DOCS / "api.md").read_text(encoding="utf-8") == docs.api_markdown(), (
        "docs/api.md is out of date: run 'caseframe docs'"
    )


def test_permissions_reference_is_current():
    assert (docs.DOCS / "permissions.md").read_text(encoding="utf-8") == docs.permissions_markdown(), (
        "docs/permissions.md is out of date: run 'caseframe docs'"
    )


def test_every_action_is_in_the_permissions_reference():
    from caseframe.core import permissions

    text = docs.permissions_markdown()
    for name in permissions.ACTIONS:
        assert f"| `{name}` |" in text
