"""A temporary password in a real browser: an admin adds a user, who must choose their own password at the first
sign-in before any other page opens; then the admin resets it, and the same happens again."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e

NEW_EMAIL = "robin.temporary@ashdown-council.example"
GIVEN = "violet kettle harbour 41"
CHOSEN = "lantern orchard pebble 7"


def _password_step(page, password: str) -> None:
    page.goto("/sign-in")
    page.fill("#email", NEW_EMAIL)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda u: "/sign-in" not in u)


def _choose(page, current: str, new: str, confirm: str) -> None:
    page.fill("#current_password", current)
    page.fill("#new_password", new)
    page.fill("#confirm_password", confirm)
    page.click("button:has-text('Save and continue')")


def test_a_temporary_password_is_changed_before_anything_else(new_page):
    admin = new_page(1280)
    sign_in(admin, demo_email("ashdown-council", "admin"))
    admin.goto("/admin/users")
    admin.fill("#name", "Robin Temporary")
    admin.fill("#email", NEW_EMAIL)
    admin.fill("#password", GIVEN)
    admin.check("#role-caseworker")
    admin.click("button:has-text('Add user')")
    admin.wait_for_selector("text=Robin Temporary")

    page = new_page(375)
    _password_step(page, GIVEN)
    assert "/account/password" in page.url
    page.goto("/persons")  # nothing else opens
    assert "/account/password" in page.url
    assert "set by an administrator" in page.locator("main").inner_text()
    check_page(page, "temporary-password")
    _choose(page, GIVEN, CHOSEN, "lantern orchard pebble 8")
    assert "do not match" in page.locator(".govuk-error-summary").inner_text()
    check_page(page, "temporary-password-error")
    _choose(page, GIVEN, CHOSEN, CHOSEN)
    page.wait_for_url(lambda u: "/account/password" not in u)
    if "/mou" in page.url:
        page.check("#accept")
        page.click("button:has-text('Accept and continue')")
        page.wait_for_url(lambda u: "/mou" not in u)
    assert page.url.endswith("/persons")

    # a forgotten password: the admin sets a new temporary one; the user is signed out and must change it again
    admin.goto("/admin/users")
    admin.click("a:has-text('Set a temporary password for Robin Temporary')")
    admin.fill("#password", GIVEN)
    check_page(admin, "temporary-password-reset")
    admin.click("button:has-text('Set temporary password')")
    assert "Temporary password set" in admin.locator("main").inner_text()
    page.goto("/")
    assert "/sign-in" in page.url
    _password_step(page, GIVEN)
    assert "/account/password" in page.url
