"""Every demo user, every page a link leads to (three levels from My work): nothing the demo data holds
makes a page fail, including the pages no browser journey opens."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlparse

import httpx
import pytest

from caseframe.core.demo import DEMO_USERS, demo_email
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

#: addresses that are not pages: assets, downloads (the pack and CSV tests cover them), streams, sign-out
SKIP = re.compile(r"^/(static|assets|schema|sign-out)|/pack/|\.(pdf|csv)$|/events$")
PAGES_PER_USER = 150


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(server: str, email: str) -> httpx.Client | None:
    client = httpx.Client(base_url=server, follow_redirects=True, timeout=60)
    landed = client.post(
        "/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": _token(client.get("/sign-in").text)},
    )
    if "/sign-in/mfa" in str(landed.url):  # a journey turned two-step verification on for this user
        client.close()
        return None
    if "/mou" in str(landed.url):
        version = re.search(r'name="version" value="(\d+)"', landed.text).group(1)
        landed = client.post(
            "/mou", data={"accept": "yes", "version": version, "csrf_token": _token(landed.text)}
        )
    assert urlparse(str(landed.url)).path == "/", f"{email} did not reach My work: {landed.url}"
    return client


@pytest.mark.parametrize("agency,local", [(u[0], u[1]) for u in DEMO_USERS], ids=[u[1] for u in DEMO_USERS])
def test_every_linked_page_opens_for_every_demo_user(server, agency, local):
    client = _signed_in(server, demo_email(agency, local))
    if client is None:
        pytest.skip("this user now signs in with a code")
    host = urlparse(server).netloc
    seen: set[str] = set()
    failures: list[str] = []
    frontier = ["/"]
    try:
        for _ in range(3):
            following: list[str] = []
            for path in frontier:
                if path in seen or len(seen) >= PAGES_PER_USER:
                    continue
                seen.add(path)
                response = client.get(path)
                if (
                    response.status_code >= 500
                    or "Sorry, there is a problem with the service" in response.text
                ):
                    failures.append(f"{path} -> {response.status_code}")
                if "text/html" not in response.headers.get("content-type", ""):
                    continue
                for href in re.findall(r'href="([^"#]+)', response.text):
                    url = urlparse(urljoin(server + path, href))
                    target = url.path + (f"?{url.query}" if url.query else "")
                    if url.netloc == host and not SKIP.search(url.path):
                        following.append(target)
            frontier = following
    finally:
        client.close()
    assert len(seen) > 10, f"only {len(seen)} pages reached: is the demo data loaded?"
    assert not failures, f"{len(failures)} pages failed for {local}@{agency}: " + ", ".join(failures[:20])
