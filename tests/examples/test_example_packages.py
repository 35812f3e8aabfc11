"""The example areas are separate packages: their own tests pass, and installing or removing one needs no core change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from caseframe.core.cases import service as cases
from caseframe.core.testing import make_agency, make_context, make_user, sign_in, web_client

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    "fly_tipping": ROOT / "examples/caseframe-fly-tipping",
    "unauthorised_encampments": ROOT / "examples/caseframe-unauthorised-encampments",
}


def run(args: list[str], extra_path: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in [ROOT, *extra_path])}
    env.pop("CASEFRAME_DATABASE_URL", None)
    env.pop("CASEFRAME_TEST_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.mark.parametrize("slug", EXAMPLES)
@pytest.mark.own_sqlite
def test_example_package_passes_its_own_tests_and_checks(slug):
    package = EXAMPLES[slug]
    tests = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], [package], package)
    assert tests.returncode == 0, tests.stdout[-3000:]
    check = run(
        ["-m", "caseframe", "areas", "check", str(package / f"caseframe_{slug}" / "area")], [package], ROOT
    )
    assert check.returncode == 0, check.stdout


@pytest.mark.own_sqlite
def test_an_installed_package_appears_through_its_entry_point(tmp_path):
    # what `pip install` leaves behind: a dist-info with the entry point, and the package importable
    dist = tmp_path / "caseframe_fly_tipping-1.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: caseframe-fly-tipping\nVersion: 1.0.0\n")
    (dist / "entry_points.txt").write_text("[caseframe]\nfly_tipping = caseframe_fly_tipping\n")
    listed = run(["-m", "caseframe", "areas"], [tmp_path, EXAMPLES["fly_tipping"]], ROOT)
    assert listed.returncode == 0, listed.stderr
    assert "fly_tipping" in listed.stdout and "Fly tipping" in listed.stdout
    without = run(["-m", "caseframe", "areas"], [], ROOT)
    assert "fly_tipping" not in without.stdout


async def test_cases_stay_readable_when_their_area_is_uninstalled(db):
    sys.path.insert(0, str(EXAMPLES["fly_tipping"]))
    try:
        import caseframe_fly_tipping
    finally:
        sys.path.pop(0)
    installed = make_context(caseframe_fly_tipping)
    agency = await make_agency(installed, "readable-council")
    worker = await make_user(agency)
    report = caseframe_fly_tipping.CASES[3]["forms"]["report"]
    case = await cases.open_case(installed, worker, "fly_tipping", report)
    removed = make_context()  # the package is gone: no areas at all
    async with web_client(removed, db) as client:
        await sign_in(client, worker)
        page = await client.get(f"/cases/{case['id']}")
        assert page.status_code == 200
        assert "The business area ‘fly_tipping’ is not installed" in page.text
        assert case["reference"] in page.text and "Lay-by on Quarry Lane" in page.text
        assert "Record the clearance" not in page.text
