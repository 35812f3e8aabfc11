"""Browser journeys: a real server with demo data, driven by Playwright on Debian's Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CASEFRAME_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests/e2e/screenshots"
AXE = ROOT / "node_modules/axe-core/axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PASSWORD = "demo-password-2026"
WIDTHS = {"phone": 375, "tablet": 768, "laptop": 1280}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(folder: Path, name: str, *, demo: bool) -> tuple[subprocess.Popen, str]:
    """``caseframe serve`` on a free port over ``folder``'s e2e.sqlite, as an operator starts it; its process and
    address once it answers (its log: ``folder``/``name``.log)."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CASEFRAME_LOCAL_DEMO": "1"}
    env.pop("CASEFRAME_DATABASE_URL", None)
    log_path = folder / f"{name}.log"
    log = open(log_path, "w")  # noqa: SIM115 (the server writes to it while it runs)
    argv = [sys.executable, "-m", "caseframe", "--database", f"sqlite:///{folder / 'e2e.sqlite'}", "serve"]
    proc = subprocess.Popen(
        [*argv, "--port", str(port), *(["--demo"] if demo else [])],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the server stopped: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
    proc.kill()
    pytest.fail("the server did not start within 120 s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


#: the folder of the session's server (its database and logs), for a second server on the same file
_SERVED: dict[str, Path] = {}


@pytest.fixture(scope="session")
def server():
    """A Caseframe server on a free port with a fresh SQLite database and the demo data."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's Chromium at {CHROMIUM}: run ./dev test, which installs it")
    folder = Path(tempfile.mkdtemp(prefix="caseframe-e2e-"))
    proc, url = _serve(folder, "server", demo=True)
    _SERVED["folder"] = folder
    yield url
    _stop(proc)


@pytest.fixture(scope="session")
def second_server(server):
    """Another ``caseframe serve`` process on the same SQLite file as ``server``: what one process writes, users of
    the other must see (as with several workers, but knowing which process each browser talks to)."""
    proc, url = _serve(_SERVED["folder"], "second-server", demo=False)
    yield url
    _stop(proc)


@pytest.fixture(scope="package")
def chromium():
    # package scope: Playwright's sync API keeps an event loop running while it is open, which
    # async tests elsewhere in the session must not meet
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, server):
    """Make pages at a given width; each gets its own context (cookies), closed after the test."""
    contexts = []

    def make(width: int = 1280, height: int = 900):
        # axe is injected as a script, which the app's Content-Security-Policy would block
        context = chromium.new_context(
            viewport={"width": width, "height": height}, base_url=server, bypass_csp=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page, email: str) -> None:
    page.goto("/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda u: "/sign-in" not in u)
    if "/mou" in page.url:
        page.check("#accept")
        page.click("button:has-text('Accept and continue')")
        page.wait_for_url(lambda u: "/mou" not in u)


def check_page(page, name: str) -> None:
    """Screenshot the page and run axe-core: no serious or critical accessibility violation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, json.dumps(
        [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:3]]} for v in bad],
        indent=1,
    )
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name} scrolls sideways by {overflow}px at {width}px wide"
