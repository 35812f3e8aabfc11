"""Content-Security-Policy: a fresh nonce per response on the header and every script tag; no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from caseframe.core.testing import make_agency, make_context, make_user, sign_in, web_client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ctx():
    return make_context()


async def test_each_response_has_its_own_nonce_on_the_header_and_the_scripts(db, ctx):
    async with web_client(ctx, db) as client:
        await sign_in(client, await make_user(await make_agency(ctx, "ashdown-council")))
        nonces = []
        for path in ("/", "/", "/sign-in"):
            r = await client.get(path)
            header = r.headers["content-security-policy"]
            assert len(r.headers.get_list("content-security-policy")) == 1
            nonce = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{20,})'", header).group(1)
            tags = re.findall(r"<script\b[^>]*>", r.text)
            assert tags and all(f'nonce="{nonce}"' in t for t in tags), tags
            nonces.append(nonce)
        assert len(set(nonces)) == 3
        missing = await client.get("/no-such-page")
        assert "nonce-" in missing.headers["content-security-policy"]


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = []
    for folder in (ROOT / "core", ROOT / "plugins", ROOT / "examples"):
        for path in folder.rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            for tag in re.findall(r"<script\b[^>]*>", text):
                if "src=" not in tag:
                    offenders.append(f"{path.relative_to(ROOT)}: {tag}")
            for handler in re.findall(r"\son[a-z]+\s*=", text):
                offenders.append(f"{path.relative_to(ROOT)}: {handler.strip()}")
    assert not offenders, "inline script in templates:\n" + "\n".join(offenders)
