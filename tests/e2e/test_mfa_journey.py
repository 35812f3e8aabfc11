"""Two-step verification in a real browser: set it up from the key on the page, sign out, sign in with a code."""

from __future__ import annotations

import time

import pyotp
import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import PASSWORD, check_page

pytestmark = pytest.mark.e2e

#: a demo user no other journey signs in as, since this one leaves two-step verification on
EMAIL = demo_email("northshire-police", "lee.hartley")


def _accept_mou_if_asked(page) -> None:
    if "/mou" in page.url:
        page.check("#accept")
        page.click("button:has-text('Accept and continue')")
        page.wait_for_url(lambda u: "/mou" not in u)


def _password(page) -> None:
    page.goto("/sign-in")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda u: not u.endswith("/sign-in"))


def test_set_up_two_step_verification_and_sign_in_with_a_code(new_page):
    page = new_page(1280)
    # demo users sign in with the password alone until they choose otherwise
    _password(page)
    _accept_mou_if_asked(page)
    assert "/sign-in" not in page.url
    page.goto("/account")
    page.click("a:has-text('Manage two-step verification')")
    page.click("button:has-text('Set up two-step verification')")  # a POST: it makes the key
    page.wait_for_url(lambda u: "/account/security/setup" in u)
    assert page.locator("img[alt*='QR code']").evaluate("img => img.naturalWidth") > 0
    check_page(page, "mfa-setup")
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    totp = pyotp.TOTP(key)
    page.fill("#code", totp.now())
    page.click("button:has-text('Turn on two-step verification')")
    # the answer shows the recovery codes, once
    page.wait_for_selector("h1:has-text('Your recovery codes')")
    assert "Two-step verification is on" in page.locator("main").inner_text()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    check_page(page, "mfa-recovery-codes")
    page.click("a:has-text('I have saved my codes, continue')")
    page.wait_for_url("**/account/security")
    assert "You have 10 recovery codes left" in page.locator("main").inner_text()
    check_page(page, "mfa-on")

    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/sign-in")
    _password(page)
    assert "/sign-in/mfa" in page.url
    page.goto("/")  # nothing else works yet
    assert "/sign-in/mfa" in page.url
    page.fill("#code", "000000" if totp.now() != "000000" else "111111")
    page.click("button:text-is('Continue')")
    assert "There is a problem" in page.locator(".govuk-error-summary").inner_text()
    check_page(page, "mfa-code-error")
    # the set-up used this 30-second step's code; the next step's code (a phone slightly ahead) is accepted
    page.fill("#code", totp.at(time.time() + 30))
    page.click("button:text-is('Continue')")
    page.wait_for_url(lambda u: "/sign-in" not in u)
    _accept_mou_if_asked(page)
    page.goto("/account")
    assert "On: you enter a code" in page.locator("main").inner_text()
    check_page(page, "mfa-signed-in")

    # a lost phone: a recovery code instead, once
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/sign-in")
    _password(page)
    page.click("summary:has-text('I cannot use my authenticator app')")
    page.fill("#recovery_code", codes[0])
    page.click("button:has-text('Continue with a recovery code')")
    page.wait_for_url(lambda u: "/sign-in" not in u)
    _accept_mou_if_asked(page)
    if "/account/security" not in page.url:
        page.goto("/account/security?changed=recovery-used")
    main = page.locator("main").inner_text()
    assert "You signed in with a recovery code" in main and "You have 9 recovery codes left" in main
    check_page(page, "mfa-recovery-used")
