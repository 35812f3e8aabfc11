"""What a tester found in the browser, walked again: read-only cases, disabled areas, who holds a shared case,
self-referrals, user admin with confirmation steps, panel actions."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_a_partner_reads_who_holds_a_shared_case_and_gets_no_form_to_edit(new_page, width):
    partner = new_page(width)
    sign_in(partner, demo_email("northshire-police", "sam.okafor"))
    partner.goto("/")
    partner.locator("h2:has-text('Shared with your agency') + ul a").first.click()
    summary = partner.locator("main dl").first.inner_text()
    assert "Owning agency" in summary and "Ashdown District Council" in summary
    assert "Not set" not in summary
    assert partner.locator("main a[href^='mailto:']").count() >= 1
    assert partner.locator("main a[href*='/forms/']").count() == 0
    assert partner.locator("main form[action*='/transitions/']").count() == 0
    check_page(partner, "correctness-shared-case-holder")
    case_url = partner.url.split("?")[0]
    partner.goto(case_url + "/forms/report")
    main = partner.locator("main").inner_text()
    assert "Only its owning agency can change it" in main
    assert (
        partner.locator("main form").count() == 0
        and partner.locator("button:has-text('Save answers')").count() == 0
    )
    check_page(partner, "correctness-shared-case-form-refused")


def _set_area(page, title: str, enable: bool) -> None:
    page.goto("/admin/areas")
    row = page.locator("tr", has_text=title)
    button = row.locator("button", has_text="Enable" if enable else "Disable")
    if button.count():
        button.click()
        page.wait_for_load_state()


@pytest.mark.parametrize("width", [375, 1280])
def test_a_disabled_area_refuses_its_new_case_form(new_page, width):
    admin = new_page(width)
    sign_in(admin, demo_email("ashdown-council", "admin"))
    _set_area(admin, "Licensing", enable=False)
    try:
        worker = new_page(width)
        sign_in(worker, demo_email("ashdown-council", "casey.morgan"))
        worker.goto("/areas/licensing/new")
        main = worker.locator("main").inner_text()
        assert "not enabled for your agency" in main and "Its cases stay readable" in main
        assert worker.locator("main form").count() == 0
        check_page(worker, "correctness-disabled-area-new-case")
        worker.goto("/areas/licensing")
        assert worker.locator("a:has-text('Open a case')").count() == 0
    finally:
        _set_area(admin, "Licensing", enable=True)


@pytest.mark.parametrize("width", [375, 1280])
def test_the_referral_form_does_not_offer_the_referring_agency_itself(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "casey.morgan"))
    page.goto("/areas/asb")
    page.locator("main table a, main ul a").filter(has_text="-2026-").first.click()
    page.click("summary:has-text('Make a referral')")
    values = page.locator("#refer-target option").evaluate_all("options => options.map(o => o.value)")
    labels = page.locator("#refer-target option").all_inner_texts()
    assert "agency:northshire-police" in values and "agency:ashdown-council" not in values
    assert "Ashdown District Council" not in labels
    check_page(page, "correctness-referral-targets")


def _chair_runs_a_new_meeting(page, width: int) -> str:
    """The chair schedules a meeting of its own, puts one item on the agenda, publishes it and starts it."""
    page.goto("/panels")
    page.click("a:has-text('Ashdown Complex Case Panel')")
    page.click("summary:has-text('Schedule a meeting')")
    day = dt.date.today() + dt.timedelta(days=60 + width % 11)
    page.fill("#starts-day", str(day.day))
    page.fill("#starts-month", str(day.month))
    page.fill("#starts-year", str(day.year))
    page.fill("#starts-time", "09:30")
    page.fill("#meeting-location", "Ashdown Civic Centre, Committee Room 3")
    page.click("button:has-text('Schedule meeting')")
    page.wait_for_url("**/meetings/*")
    url = page.url.split("?")[0]
    options = page.locator("#agenda-item option").all_inner_texts()
    case_option = next(i for i, o in enumerate(options) if o.startswith(("Review:", "New referral:")))
    page.select_option("#agenda-item", index=case_option)
    page.click("button:has-text('Add item')")
    page.click("button:has-text('Publish the agenda to members')")
    page.wait_for_selector("text=Agenda published")
    page.click("button:has-text('Start the meeting')")
    page.wait_for_selector("text=Meeting started")
    return url


@pytest.mark.parametrize("width", [375, 1280])
def test_panel_actions_refuse_past_dates_follow_the_agency_and_closing_is_confirmed(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "priya.shah"))
    url = _chair_runs_a_new_meeting(page, width)
    page.select_option("#minute-item_id", index=0)
    page.check("#minute-kind-action")
    page.fill("#minute-text", "Joint warning visit with the housing officer")
    page.click("summary:has-text('For an action')")
    everyone = page.locator("#minute-assignee_id option").all_inner_texts()
    assert any("Northshire Police" in o for o in everyone) and any("Ashdown Homes" in o for o in everyone)
    page.select_option("#minute-owner_agency_id", label="Northshire Police")
    # htmx swaps in the police's people only
    page.wait_for_function(
        "() => ![...document.querySelectorAll('#minute-assignee_id option')]"
        ".some(o => o.textContent.includes('Ashdown Homes'))"
    )
    people = page.locator("#minute-assignee_id option").all_inner_texts()
    assert people[0] == "No one yet" and all("Northshire Police" in o for o in people[1:]) and len(people) > 1
    page.select_option("#minute-assignee_id", index=1)
    past = dt.date.today() - dt.timedelta(days=3)
    page.fill("#due-day", str(past.day))
    page.fill("#due-month", str(past.month))
    page.fill("#due-year", str(past.year))
    page.click("button:has-text('Add to the minutes')")
    page.wait_for_selector(".govuk-error-summary >> text=The due date must be today or in the future")
    assert page.locator("#minute-text").input_value() == "Joint warning visit with the housing officer"
    assert page.locator("#minute-owner_agency_id option:checked").inner_text() == "Northshire Police"
    assert "Northshire Police" in page.locator("#minute-assignee_id option:checked").inner_text()
    assert page.locator("#due-year").input_value() == str(past.year)
    check_page(page, "correctness-panel-action-past-date")
    due = dt.date.today() + dt.timedelta(days=14)
    page.fill("#due-day", str(due.day))
    page.fill("#due-month", str(due.month))
    page.fill("#due-year", str(due.year))
    page.click("button:has-text('Add to the minutes')")
    page.wait_for_selector("#minutes-list >> text=Joint warning visit with the housing officer")

    page.goto(url)
    page.click("button:has-text('Close the meeting')")
    page.wait_for_selector("h1:has-text('Close the meeting?')")
    assert "Closing is final" in page.locator(".govuk-warning-text").inner_text()
    check_page(page, "correctness-close-meeting-confirm")
    page.click("a:has-text('Cancel')")
    page.wait_for_url(url)
    assert "In progress" in page.locator("#meeting-status").inner_text()
    page.click("button:has-text('Close the meeting')")
    page.click("button:has-text('Close the meeting')")
    page.wait_for_selector("text=Meeting closed")


@pytest.mark.parametrize("width", [375, 1280])
def test_a_system_admin_adds_a_new_agencys_first_user_changes_roles_and_confirms_deactivation(
    new_page, width
):
    page = new_page(width)
    sign_in(page, demo_email("northshire-county", "sysadmin"))
    slug = f"wealden-fire-{width}"
    page.goto("/admin/agencies")
    page.fill("#name", f"Wealden Fire and Rescue {width}")
    page.fill("#slug", slug)
    page.select_option("#agency_type", index=1)
    page.fill("#contact_email", f"partnerships@{slug}.example")
    page.click("button:has-text('Set up agency')")
    page.wait_for_selector("text=Agency set up")
    page.locator("tr", has_text=f"Wealden Fire and Rescue {width}").locator("a:has-text('Users')").click()
    assert "has no users yet" in page.locator("main").inner_text()
    page.fill("#name", "Fay Fireofficer")
    page.fill("#email", f"fay@{slug}.example")
    page.fill("#password", "a long enough temporary password")
    page.click("button:has-text('Add user')")
    assert "Select at least one role" in page.locator(".govuk-error-summary").inner_text()
    assert page.locator("#name").input_value() == "Fay Fireofficer"
    page.fill("#password", "a long enough temporary password")
    page.check("#role-local_admin")
    page.click("button:has-text('Add user')")
    page.wait_for_selector("text=User added")
    page.fill("#name", "Finn Firefighter")
    page.fill("#email", f"finn@{slug}.example")
    page.fill("#password", "another long temporary password")
    page.check("#role-caseworker")
    page.click("button:has-text('Add user')")
    page.wait_for_selector("text=User added")
    check_page(page, "correctness-new-agency-users")

    # roles change on their own page, audited; the agency keeps a local admin
    page.click("a:has-text('Change roles of Fay Fireofficer')")
    page.uncheck("#role-local_admin")
    page.check("#role-caseworker")
    page.click("button:has-text('Save roles')")
    assert "last local admin" in page.locator(".govuk-error-summary").inner_text()
    assert page.locator("#role-caseworker").is_checked()
    check_page(page, "correctness-user-roles-refused")
    page.goto(page.url)
    page.click("a:has-text('Users')")
    page.click("a:has-text('Change roles of Finn Firefighter')")
    page.check("#role-supervisor")
    page.click("button:has-text('Save roles')")
    page.wait_for_selector("text=Roles saved")
    assert "caseworker, supervisor" in page.locator("tr", has_text="Finn Firefighter").inner_text().lower()

    # deactivating asks first, on a page of its own
    page.click("a:has-text('Deactivate Finn Firefighter')")
    page.wait_for_selector("h1:has-text('Deactivate Finn Firefighter?')")
    assert "signed out at once" in page.locator(".govuk-warning-text").inner_text()
    check_page(page, "correctness-deactivate-user-confirm")
    page.click("a:has-text('Cancel')")
    assert "Deactivated" not in page.locator("tr", has_text="Finn Firefighter").inner_text()
    page.click("a:has-text('Deactivate Finn Firefighter')")
    page.click("button:has-text('Deactivate user')")
    page.wait_for_selector("text=User deactivated")
    assert "Deactivated" in page.locator("tr", has_text="Finn Firefighter").inner_text()


def test_ending_an_agreement_asks_first(new_page):
    page = new_page(1280)
    sign_in(page, demo_email("northshire-county", "sysadmin"))
    page.goto("/sharing/agreements")
    form = page.locator("form[action$='/end']").first
    form.locator("input[name='reason']").fill("Replaced by next year's agreement")
    form.locator("button:has-text('End agreement')").click()
    page.wait_for_selector("h1:has-text('now?')")
    assert "lose access" in page.locator(".govuk-warning-text").inner_text()
    check_page(page, "correctness-end-isa-confirm")
    page.click("a:has-text('Cancel')")  # the demo's agreement stays live for the other journeys
    page.wait_for_url("**/sharing/agreements")
