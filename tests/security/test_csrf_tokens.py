"""A CSRF token or pre-session cookie that is not ASCII is a wrong token (403), not a server error: ``compare_digest``
raises on a string with a character beyond ASCII, and anyone may send one, signed in or not (found by a
hostile-input sweep: each request below was a 500)."""

from __future__ import annotations

from urllib.parse import urlencode

from caseframe.core.auth.tables import Session
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseEvent
from caseframe.core.testing import (
    TEST_PASSWORD,
    make_agency,
    make_user,
    sign_in,
    web_client,
)

#: tokens beyond ASCII: a Latin-1 letter (a header may carry it as one byte), one as long as a real token, another script
FORM = "application/x-www-form-urlencoded"
NOT_ASCII = ("\xe9", "é" * 43, "токен")


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


async def test_a_signed_in_post_with_a_token_beyond_ascii_is_refused_as_a_wrong_token(db, ctx):
    agency = await make_agency(ctx, "ashdown-council")
    user = await make_user(agency)
    case = await cases.open_case(
        ctx, user, "noise", {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
    )
    async with web_client(ctx, db) as client:
        token = await sign_in(client, user)
        for bad in NOT_ASCII:
            form = await client.post(
                f"/cases/{case['id']}/notes",
                content=_form(text="x", csrf_token=bad),
                headers={"Content-Type": FORM},
            )
            assert form.status_code == 403, (bad, form.status_code)
            if bad == "\xe9":  # a header carries Latin-1 bytes only
                header = await client.post(
                    f"/cases/{case['id']}/notes",
                    data={"text": "x"},
                    headers={"X-CSRF-Token": bad.encode("latin-1"), "HX-Request": "true"},
                )
                assert header.status_code == 403, (bad, header.status_code)
            out = await client.post(
                "/sign-out", content=_form(csrf_token=bad), headers={"Content-Type": FORM}
            )
            assert out.status_code == 403, bad
        assert await CaseEvent.count().where(CaseEvent.kind == "note") == 0 and await Session.count() == 1
        # the right token still works
        assert (
            await client.post(f"/cases/{case['id']}/notes", data={"text": "x", "csrf_token": token})
        ).status_code in (
            200,
            303,
        )


async def test_an_anonymous_sign_in_with_a_token_or_cookie_beyond_ascii_is_refused_as_a_wrong_token(db, ctx):
    agency = await make_agency(ctx, "ashdown-council")
    user = await make_user(agency)
    async with web_client(ctx, db) as client:
        await client.get("/sign-in")  # its pre-session cookie, which each token below is checked against
        for bad in NOT_ASCII:
            r = await client.post(
                "/sign-in",
                content=_form(email=user.email, password=TEST_PASSWORD, csrf_token=bad),
                headers={"Content-Type": FORM},
            )
            assert r.status_code == 403, (bad, r.status_code)
        # the pre-session cookie the token is checked against, beyond ASCII: escaped, and as a raw Latin-1 byte
        for cookie in (b"caseframe_presession=%C3%A9", b"caseframe_presession=\xe9"):
            client.cookies.clear()
            r = await client.post(
                "/sign-in",
                content=f"email={user.email}&password={TEST_PASSWORD}&csrf_token=abc".encode(),
                headers={"Content-Type": FORM, "Cookie": cookie},
            )
            assert r.status_code == 403, cookie
    assert await Session.count() == 0
