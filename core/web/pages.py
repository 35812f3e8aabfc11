"""Helpers every HTML page uses: the layout's context, redirects, submissions and error pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from litestar import Request, Response
from litestar.response import Redirect, Template

from caseframe.core import permissions
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.service import enabled_areas
from caseframe.core.db.engine import quick_reads
from caseframe.core.errors import REPEATED_FIELD, ValidationFailed
from caseframe.core.numbers import date_text, whole_number
from caseframe.core.web.dependencies import app_context, signed_in_actor

MARKING = "OFFICIAL-SENSITIVE"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def navigation(request: Request) -> list[dict[str, Any]]:
    # the layout is drawn for every handler, which Litestar injects nothing into: it reads the request
    ctx, actor = app_context(request), signed_in_actor(request)
    enabled = await enabled_areas(actor.agency_id, cached=True)
    areas = [a for a in ctx.areas if a.slug in enabled]
    links = [
        {"href": "/", "label": "My work"},
        {"href": "/persons", "label": "Persons"},
        {"href": "/referrals", "label": "Referrals"},
        {"href": "/panels", "label": "Panels"},
        {"href": "/search/national", "label": "National search"},
    ]
    links += [{"href": f"/areas/{a.slug}", "label": a.title} for a in areas]
    if ctx.pm.hook.menu_links.get_hookimpls():  # the areas' payloads cost more than the rest of the menu
        viewer = actor.as_dict()
        for extra in ctx.pm.hook.menu_links(actor=viewer, user=viewer, areas=[a.as_dict() for a in areas]):
            links.extend(extra or [])
    can = permissions.for_actor(actor)
    # each link only for those its page serves (the page's guard asks the same question)
    for action, href, label in (
        ("dashboard.read", "/dashboard", "Dashboard"),
        ("isa.list", "/sharing/agreements", "Agreements"),
        ("mou.publish", "/sharing/mou", "MoU"),
        ("agencies.manage", "/admin/agencies", "Agencies"),
        ("person.merge_undo", "/admin/person-merges", "Person merges"),
        ("audit.read", "/audit", "Audit"),
    ):
        if can(action):
            links.append({"href": href, "label": label})
    if can("agency.admin"):
        links.append({"href": "/admin", "label": "Admin"})
    elif can("mfa.configure"):  # a system admin who is not a local admin: the admin page they have
        links.append({"href": "/admin/mfa", "label": "Two-step verification"})
        if can("sar.handle"):
            links.append({"href": "/admin/sar", "label": "Subject access requests"})
    path = request.url.path
    matches = [
        link["href"]
        for link in links
        if link["href"] == path or (link["href"] != "/" and path.startswith(link["href"] + "/"))
    ]
    # the most specific link is the current one (/admin/agencies, not also /admin)
    current = max(matches, key=len) if matches else None
    for link in links:
        link["current"] = link["href"] == current
    return links


async def page(
    request: Request, template: str, *, status_code: int = 200, personal: bool = True, **context: Any
) -> Template:
    """Render a signed-in page; pages with personal data carry the protective marking and no-store."""
    from caseframe.core.notifications.service import unread_count

    actor = signed_in_actor(request)
    # the menu reads nothing but every ten seconds (the agency's areas are cached), so the bell's one indexed
    # statement is awaited after it: running the two as tasks together cost more CPU (45 us a page) than it overlapped
    with quick_reads():  # the menu's and the bell's lookups, on every page
        nav = await navigation(request)
        # the case page reads the bell's count with its own reads and gives it: not read again
        unread = context.pop("unread") if "unread" in context else await unread_count(actor)
    base = {
        "actor": actor,
        "can": permissions.for_actor(actor),
        "csrf_token": request.state.csrf_token,
        "nav": nav,
        "unread": unread,
        "marking": MARKING if personal else None,
        "flash": request.query_params.get("done"),
    }
    # the flash text is chosen from a fixed list so a crafted link cannot put words on the page
    base["flash"] = FLASHES.get(base["flash"] or "")
    if "restricted_cases" not in context and permissions.can(
        actor, "case.read_restricted", {"owning_agency": actor.agency_id}
    ):
        # the restricted cases a local admin still sees listed (their own agency's), for lists to mark "Restricted"
        from caseframe.core.retention.service import withheld_from

        with quick_reads():
            base["restricted_cases"] = (await withheld_from(actor)).marked
    return Template(
        template_name=template, context={**base, **context}, status_code=status_code, headers=NO_STORE
    )


FLASHES = {
    "person-created": "Person created",
    "person-saved": "Person’s details saved",
    "persons-merged": "Records merged: every case and referral of the other record is now on this one",
    "person-merged-here": "The record you opened was merged into this one",
    "merge-undone": "Merge undone: this record and the one it was merged into are two records again",
    "case-opened": "Case opened",
    "form-saved": "Answers saved",
    "moved": "Case updated",
    "note-added": "Note added",
    "task-added": "Task added",
    "task-done": "Task marked as done",
    "task-changed": "Task changed",
    "lead-changed": "Lead officer changed: they see the case in their My work",
    "cases-reassigned": "Cases reassigned: each case's timeline says so, and the new lead officer sees them in "
    "My work",
    "subject-added": "Person added to the case",
    "subject-removed": "Person removed from the case",
    "shared": "Case shared",
    "isa-created": "Agreement set up",
    "mou-published": "New version published",
    "access-requested": "Request sent",
    "access-granted": "Access granted: the records are shared",
    "access-refused": "Request refused",
    "isa-ended": "Agreement ended",
    "agency-created": "Agency set up: its local admin can now be added and its areas enabled",
    "agency-saved": "Agency saved",
    "agency-deactivated": "Agency deactivated: its users are signed out and cannot sign in",
    "agency-reactivated": "Agency reactivated: its users can sign in again",
    "share-ended": "Sharing stopped",
    "referral-declined": "Referral declined: the referring agency sees your reason",
    "referral-asked": "Question sent to the referring agency",
    "referral-answered": "Information sent",
    "referral-linked": "Referral accepted and linked to the case",
    "referral-on-panel": "Referral accepted: the case is on the panel's list for its next agenda",
    "referral-accepted": "Referral accepted: case opened",
    "referral-made": "Referral made",
    "panel-saved": "Panel saved",
    "panel-case-closed": "Taken off the panel's list",
    "meeting-scheduled": "Meeting scheduled: add attendees and build the agenda",
    "attendee-added": "Attendee added",
    "item-added": "Added to the agenda",
    "item-removed": "Taken off the agenda",
    "meeting-published": "Agenda published: members can now read the agenda cases",
    "meeting-in-progress": "Meeting started: write the minutes below",
    "meeting-closed": "Meeting closed: the minutes are on each case's timeline",
    "minute-added": "Added to the minutes",
    "referral-merged": "A referral for this person to the same place was already open: yours was added to it",
    "mfa-reset": "Two-step verification reset: the user sets it up again if their role needs it",
    "password-reset": "Temporary password set: give it to the user in person or by phone. They choose their own "
    "when they next sign in",
    "user-added": "User added: give them their temporary password in person or by phone",
    "user-deactivated": "User deactivated: they are signed out and cannot sign in",
    "user-reactivated": "User reactivated: they can sign in again",
    "roles-saved": "Roles saved",
    "read": "Marked as read",
    "all-read": "All your notifications are marked as read",
    "settings": "Notification settings saved",
    "document-added": "Document added",
    "document-removed": "Document removed",
}


def see_other(url: str) -> Redirect:
    return Redirect(path=url, status_code=303, headers=NO_STORE)


def safe_next(url: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not url:
        return "/"
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


#: a posted field (an id, a version) as a whole number, or None when it is empty or not one: ASCII digits only
form_int = whole_number


async def form_data(request: Request) -> dict[str, Any]:
    """Posted form fields; repeated names (checkboxes) become lists."""
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        values = [v for v in values if isinstance(v, str)]
        out[key] = values if len(values) > 1 else (values[0] if values else "")
    return out


#: a field the page sends once, sent more than once (a crafted form): refused, never stored as a list's text


def form_text(data: dict[str, Any], name: str, default: str = "") -> str:
    """A posted field's text, as :func:`form_data` read it. A field sent more than once (two values where the page
    sends one) is refused with a clear message, where ``str()`` made "['a', 'b']" of it and stored that."""
    value = data.get(name, default)
    if isinstance(value, list):
        raise ValidationFailed(
            REPEATED_FIELD, errors=[{"field": f"/{name}", "message": "Enter this only once"}]
        )
    return str(value)


def form_number(data: dict[str, Any], name: str) -> int | None:
    """A posted whole number (an id, a version) as :data:`form_int` reads it, or None when empty or not one. Sent
    twice it is refused as :func:`form_text` refuses a text, where reading the list as "no number" dropped it
    silently (a version sent twice skipped the check that nobody changed the record meanwhile)."""
    return form_int(form_text(data, name))


def form_date_parts(data: dict[str, Any], name: str) -> list[str]:
    """A date's ``name-year``, ``name-month`` and ``name-day`` boxes, stripped; each refused sent twice."""
    return [form_text(data, f"{name}-{part}").strip() for part in ("year", "month", "day")]


def form_date(data: dict[str, Any], name: str) -> str:
    """:func:`caseframe.core.numbers.typed_date` of a posted form: a box sent twice is refused, not read as the
    text of a list."""
    parts = form_date_parts(data, name)
    return date_text(*parts) if any(parts) else ""


def form_list(data: dict[str, Any], name: str) -> list[str]:
    """A field the page may send many times (checkboxes): its values, one or none alike."""
    value = data.get(name, [])
    return list(value) if isinstance(value, list) else ([value] if value else [])


def html_error(
    request: Request, status: int, heading: str, detail: str, *, back: tuple[str, str] | None = None
) -> Response:
    """An error page in the product's style; ``back`` is where its one link goes, as (address, words): My work
    unless said."""
    actor = getattr(request.state, "actor", None)
    context = {
        "back_href": back[0] if back else "/",
        "back_label": back[1] if back else "Go to My work",
        "actor": actor,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": [],
        "status": status,
        "heading": heading,
        "detail": detail,
        "marking": None,
    }
    return Template(template_name="errors/error.html", context=context, status_code=status, headers=NO_STORE)


def sign_in_redirect(request: Request) -> Response:
    target = "/sign-in"
    if request.method == "GET" and request.url.path != "/":
        from urllib.parse import quote

        target += "?next=" + quote(request.url.path)
    if is_htmx(request):
        return Response(content="", status_code=401, headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


async def claim_submission(request: Request, actor: Actor, key: str) -> str | None:
    """Claim a form's one-time key. Returns None the first time; a repeat returns where the first went
    (``caseframe.core.cases.service.claim_submission``; a repeat that never learns it stays on this address)."""
    from caseframe.core.cases.service import claim_submission as claim

    return await claim(actor, key, request.url.path)


async def finish_submission(key: str, url: str) -> None:
    from caseframe.core.cases.service import finish_submission as finish

    await finish(key, url)


async def release_submission(key: str) -> None:
    """A submission that failed validation may be sent again with corrections."""
    from caseframe.core.cases.service import release_submission as release

    await release(key)
