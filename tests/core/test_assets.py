"""Front-end assets for a pip-installed deployment: carried by the wheel, or installed by ``caseframe assets`` from
the npm registry with their checksums checked; missing, start-up stops saying how to install them.

Nothing here goes to the network: downloads are replaced by tarballs made in the test (the wheel build copies
from the checkout's node_modules).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import pytest

from caseframe.core import assets
from caseframe.core.cli import main
from caseframe.core.testing import make_context, web_client

ROOT = Path(__file__).resolve().parents[2]


def npm_tarball(package: assets.Package, *, extra: dict[str, bytes] | None = None) -> bytes:
    """An npm package as the registry serves it (everything under package/), holding what Caseframe serves."""
    files = {
        "package.json": json.dumps({"name": package.name, "version": package.version}).encode(),
        "README.md": b"not served",
    }
    for keep in package.keep:
        if keep.endswith("/"):
            files[keep + "images/icon.svg"] = b"<svg/>"
        elif keep != "package.json":
            files[keep] = f"/* {package.name} {keep} */".encode()
    files.update(extra or {})
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(
                name if name.startswith("/") or name.startswith("..") else f"package/{name}"
            )
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def said(capsys) -> list[str]:
    """The command's lines on stderr (a log handler an earlier test left on a closed stream may add its own)."""
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("caseframe: ")]


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def registry(monkeypatch):
    """The npm registry, faked: pins whose checksums match tarballs made here; records what was asked for."""
    tarballs, pinned = {}, []
    for package in assets.PACKAGES:
        data = npm_tarball(package, extra={"../../escape.txt": b"x"} if package.name == "htmx.org" else None)
        package = dataclasses.replace(package, integrity=integrity(data))
        tarballs[package.tarball] = data
        pinned.append(package)
    asked: list[str] = []

    def download(url, timeout=60):
        asked.append(url)
        return tarballs[url]

    monkeypatch.setattr(assets, "PACKAGES", tuple(pinned))
    monkeypatch.setattr(assets, "download", download)
    return asked


def test_the_pins_are_package_lock_json_s():
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    for package in assets.PACKAGES:
        locked = lock[f"node_modules/{package.name}"]
        assert (package.version, package.integrity) == (locked["version"], locked["integrity"]), package.name
    served = {p.name for p in assets.PACKAGES}
    assert served == set(json.loads((ROOT / "package.json").read_text())["dependencies"])


def test_tarball_addresses_follow_the_registry_s_layout():
    by_name = {p.name: p.tarball for p in assets.PACKAGES}
    assert by_name["govuk-frontend"] == "https://registry.npmjs.org/govuk-frontend/-/govuk-frontend-6.6.0.tgz"
    assert (
        by_name["@ministryofjustice/frontend"]
        == "https://registry.npmjs.org/@ministryofjustice/frontend/-/frontend-11.1.0.tgz"
    )


def test_install_downloads_checks_and_keeps_only_what_is_served(tmp_path, registry):
    target = tmp_path / "assets"
    assert assets.install(target) == target
    assert registry == [p.tarball for p in assets.PACKAGES]
    assert assets.problems(target) == []
    assert (target / "govuk-frontend/dist/govuk/assets/images/icon.svg").is_file()
    assert not (target / "govuk-frontend/README.md").exists()  # only the files Caseframe serves
    assert not (tmp_path / "escape.txt").exists() and not (target / "escape.txt").exists()
    marker = json.loads((target / assets.MARKER).read_text())
    assert marker == {p.name: p.version for p in assets.PACKAGES}
    assert [p.name for p in tmp_path.iterdir()] == ["assets"]  # no staging folder left behind


def test_the_command_installs_them_and_says_where(tmp_path, registry, monkeypatch, capsys):
    target = tmp_path / "assets"
    assert main(["assets", "--dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert "checksum matches" in out and f"Set CASEFRAME_ASSETS_DIR={target.resolve()}" in out
    monkeypatch.setenv("CASEFRAME_ASSETS_DIR", str(target))
    assert main(["assets", "--check"]) == 0
    assert f"are installed in {target}" in capsys.readouterr().out


# (no capsys beside the app: a log handler it sets up would keep the captured stream after the test)
async def test_the_app_serves_assets_installed_by_the_command(tmp_path, registry, monkeypatch, db):
    target = tmp_path / "assets"
    assert main(["assets", "--dir", str(target)]) == 0
    monkeypatch.setenv("CASEFRAME_ASSETS_DIR", str(target))
    async with web_client(make_context(builtins=True), db) as client:
        response = await client.get("/static/htmx/htmx.min.js")
        assert response.status_code == 200 and response.text == "/* htmx.org dist/htmx.min.js */"
        assert (await client.get("/assets/images/icon.svg")).text == "<svg/>"


def test_offline_says_so_and_installs_nothing(tmp_path, monkeypatch, capsys):
    def offline(url, timeout=60):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(assets, "download", offline)
    target = tmp_path / "assets"
    target.mkdir()
    (target / "kept.txt").write_text("as it was")
    assert main(["assets", "--dir", str(target)]) == 2
    err = said(capsys)
    assert len(err) == 1
    assert err[0].startswith(
        "caseframe: could not download govuk-frontend 6.6.0 from "
        "https://registry.npmjs.org/govuk-frontend/-/govuk-frontend-6.6.0.tgz "
        "([Errno -3] Temporary failure in name resolution)"
    )
    assert "nothing was installed" in err[0]
    assert sorted(p.name for p in target.iterdir()) == ["kept.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assets"]


def test_a_tarball_that_does_not_match_its_checksum_is_refused(tmp_path, monkeypatch, capsys):
    # the real pins, and a registry (or something in between) serving other bytes for the third package
    good = {}
    for package in assets.PACKAGES[:2]:
        data = npm_tarball(package)
        good[package.tarball] = data
    pinned = tuple(
        dataclasses.replace(p, integrity=integrity(good[p.tarball])) if p.tarball in good else p
        for p in assets.PACKAGES
    )
    monkeypatch.setattr(assets, "PACKAGES", pinned)
    monkeypatch.setattr(assets, "download", lambda url, timeout=60: good.get(url) or npm_tarball(pinned[2]))
    target = tmp_path / "assets"
    assert main(["assets", "--dir", str(target)]) == 2
    err = capsys.readouterr().err
    assert (
        "caseframe: htmx.org 2.0.8 from https://registry.npmjs.org/htmx.org/-/htmx.org-2.0.8.tgz does not "
        "match its pinned checksum (sha512-fm297" in err
    )
    assert "nothing was installed" in err
    assert not target.exists() or not any(target.iterdir())  # the two good ones were not installed either


def test_not_an_npm_package_is_refused(tmp_path, registry, monkeypatch):
    data = b"<html>captive portal</html>"
    pinned = tuple(dataclasses.replace(p, integrity=integrity(data)) for p in assets.PACKAGES)
    monkeypatch.setattr(assets, "PACKAGES", pinned)
    monkeypatch.setattr(assets, "download", lambda url, timeout=60: data)
    with pytest.raises(assets.AssetsError, match="govuk-frontend 6.6.0: the download is not an npm package"):
        assets.install(tmp_path / "assets")


def test_copying_from_node_modules_needs_the_pinned_versions(tmp_path):
    target = tmp_path / "assets"
    assets.install(target, node_modules=ROOT / "node_modules")
    assert assets.problems(target) == []
    with pytest.raises(
        assets.AssetsError, match=r"does not hold the pinned packages: .* does not exist; run npm ci"
    ):
        assets.install(tmp_path / "other", node_modules=tmp_path / "nowhere")
    (target / "htmx.org/package.json").write_text(json.dumps({"version": "1.9.0"}))
    assert assets.problems(target) == ["htmx.org is version 1.9.0, Caseframe needs 2.0.8"]


def test_missing_assets_stop_the_app_saying_how_to_install_them(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEFRAME_ASSETS_DIR", str(tmp_path / "empty"))
    with pytest.raises(assets.AssetsError) as stopped:
        from caseframe.core.settings import Settings
        from caseframe.core.web.app import create_app

        create_app(
            Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=make_context(builtins=True)
        )
    message = str(stopped.value)
    assert f"{tmp_path / 'empty'} does not exist" in message
    assert "Run 'caseframe assets'" in message and "CASEFRAME_ASSETS_DIR" in message


def test_missing_assets_stop_serve_saying_how_to_install_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CASEFRAME_ASSETS_DIR", str(tmp_path / "empty"))
    assert main(["assets", "--check"]) == 2  # the same message, one line, from the command
    assert said(capsys)[-1].startswith("caseframe: the front-end assets (govuk-frontend 6.6.0, ")
    assert main(["--database", f"sqlite:///{tmp_path / 'x.sqlite'}", "serve"]) == 2
    err = said(capsys)
    assert len(err) == 1 and "Run 'caseframe assets'" in err[0]
    assert not (tmp_path / "x.sqlite").exists()  # stopped before touching the database


def test_a_built_wheel_carries_the_assets(tmp_path):
    """``pip wheel .`` (as a deployment builds it) copies the assets in from the checkout's node_modules."""
    source = tmp_path / "src"
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    (source / "node_modules").symlink_to((ROOT / "node_modules").resolve())
    assert not (source / "core/web/static/vendor").exists()
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    # a folder of templates or forms that pyproject's `packages` does not list makes setuptools warn (and a
    # later setuptools drop it): ./dev's install would print pages of warnings
    ignored = re.findall(r"Package '([^']+)' is absent from the `packages` configuration", built.stderr)
    assert not ignored, f"add these to [tool.setuptools] packages in pyproject.toml: {sorted(set(ignored))}"
    wheel = next((tmp_path / "dist").glob("caseframe-*.whl"))
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert "caseframe/core/assets.py" in names and "caseframe_build.py" not in names
    assert assets.problems(unpacked / "caseframe/core/web/static/vendor") == []
    assert not any("node_modules" in n or n.endswith((".scss", ".map")) for n in names)
    assert wheel.stat().st_size < 3_000_000
    # one top-level package, caseframe: the core, the built-in areas and the meta-schemas are inside it
    assert {n.split("/")[0] for n in names if not n.startswith("caseframe-")} == {"caseframe"}
    assert {
        "caseframe/areas/asb/__init__.py",
        "caseframe/core/_schemas/area.schema.json",
        "caseframe/core/web/templates/layout.html",
    } <= set(names)
    # installed, it runs from where it was installed (not from this checkout), and the old names still work
    program = (
        "import warnings, caseframe.core.cli, caseframe.areas.asb as asb, caseframe.core.schemas as s; "
        "print(caseframe.core.cli.__file__); print(asb.__file__); print(s.schemas_dir())\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always'); import core.cli\n"
        "print(core.cli is caseframe.core.cli, w[0].category.__name__)"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(unpacked)},
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    lines = ran.stdout.splitlines()
    assert all(line.startswith(str(unpacked)) for line in lines[:3]), lines
    assert lines[3] == "True DeprecationWarning"
