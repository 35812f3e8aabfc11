"""The front-end assets Caseframe serves (GOV.UK Frontend, MOJ Frontend, htmx and its SSE extension).

A checkout gets them from npm (``./dev`` runs ``npm ci``; they are served from ``node_modules``). A
pip-installed deployment has no npm: its wheel carries them (the build copies them in, see
caseframe_build.py), or ``caseframe assets`` downloads the pinned versions from the npm registry, checks each
against its pinned sha512 checksum and installs only the files served, into the package (or the folder
``CASEFRAME_ASSETS_DIR`` names). Start-up stops with a message saying so when they are missing.

This module uses the standard library only: the wheel build loads it by file, before Caseframe's own
dependencies are installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REGISTRY = "https://registry.npmjs.org"

#: where a built wheel carries them, and where ``caseframe assets`` puts them by default
PACKAGE_DIR = Path(__file__).resolve().parent / "web" / "static" / "vendor"
#: a checkout's npm packages (``./dev`` installs them)
CHECKOUT_NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
#: written beside the files: which versions were installed
MARKER = "caseframe-assets.json"


@dataclass(frozen=True)
class Package:
    name: str  # as npm names it
    version: str
    integrity: str  # npm's "sha512-<base64>", as package-lock.json records it
    keep: tuple[str, ...]  # paths inside the package that are served; a path ending in "/" keeps the folder

    @property
    def tarball(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"

    @property
    def files(self) -> tuple[str, ...]:
        """The single files that must be present (folders are checked by their first file below)."""
        return tuple(p for p in self.keep if not p.endswith("/"))


#: the versions package-lock.json pins (a test holds the two together), and what of each is served (package.json
#: too: it records the version and the terms of use)
PACKAGES = (
    Package(
        "govuk-frontend",
        "6.6.0",
        "sha512-xctkWrQvLnvQt7fyjQ3MGX9S0wz0x0RQuLxCeoXF+s8EjGICG81/DYQGKN5qgO+0KVT12UAaRwUsGY6fulRcRg==",
        (
            "package.json",
            "dist/govuk/govuk-frontend.min.css",
            "dist/govuk/govuk-frontend.min.js",
            "dist/govuk/assets/manifest.json",
            "dist/govuk/assets/",
        ),
    ),
    Package(
        "@ministryofjustice/frontend",
        "11.1.0",
        "sha512-1bkUbm2M4DpcpX/pOmumQRBsbJco9W2RwmJv5h/ZC/ZqrAOn2/FjpF+A7vS0gs7oMXBizr9O5huDrSYbLx73Nw==",
        ("package.json", "moj/moj-frontend.min.css", "moj/moj-frontend.min.js", "moj/assets/"),
    ),
    Package(
        "htmx.org",
        "2.0.8",
        "sha512-fm297iru0iWsNJlBrjvtN7V9zjaxd+69Oqjh4F/Vq9Wwi2kFisLcrLCiv5oBX0KLfOX/zG8AUo9ROMU5XUB44Q==",
        ("package.json", "dist/htmx.min.js"),
    ),
    Package(
        "htmx-ext-sse",
        "2.2.4",
        "sha512-LJmxVhykyflBWgh5PvbRidcyuqMHlgfajmmzumvKctv9puvsufeH6OaejSMZTNTnEI8O2wXXn4ZZtBdpEMqmEQ==",
        ("package.json", "dist/sse.min.js"),
    ),
)


class AssetsError(Exception):
    """The assets could not be installed or are not there; the message says what to do."""


def describe() -> str:
    return ", ".join(f"{p.name} {p.version}" for p in PACKAGES)


def problems(folder: Path) -> list[str]:
    """What is wrong with ``folder`` as a home of the assets (laid out as node_modules is); [] when complete."""
    if not folder.is_dir():
        return [f"{folder} does not exist"]
    out = []
    for package in PACKAGES:
        root = folder / package.name
        for name in package.files:
            if not (root / name).is_file():
                out.append(f"{root / name} is missing")
        if (root / "package.json").is_file():
            try:
                version = json.loads((root / "package.json").read_text(encoding="utf-8")).get("version")
            except (ValueError, OSError):
                version = None
            if version != package.version:
                out.append(f"{package.name} is version {version}, Caseframe needs {package.version}")
    return out


def candidates() -> list[Path]:
    """Where the web app looks, in order: ``CASEFRAME_ASSETS_DIR`` alone if set, else the package's own
    folder (a wheel's or ``caseframe assets``'s) and then a checkout's node_modules."""
    configured = os.environ.get("CASEFRAME_ASSETS_DIR")
    if configured:
        return [Path(configured)]
    return [PACKAGE_DIR, CHECKOUT_NODE_MODULES]


def find() -> Path | None:
    return next((c for c in candidates() if not problems(c)), None)


def missing_message() -> str:
    looked = "; ".join(f"{c}: {(problems(c) or ['?'])[0]}" for c in candidates())
    return (
        f"the front-end assets ({describe()}) are not installed (looked in {looked}). "
        "Run 'caseframe assets' to download the pinned versions from the npm registry (their checksums are "
        "checked), or 'caseframe assets --dir DIR' and set CASEFRAME_ASSETS_DIR=DIR; in a checkout, './dev run' "
        "installs them with npm"
    )


def require() -> Path:
    """The folder holding the assets, or AssetsError saying how to install them."""
    found = find()
    if found is None:
        raise AssetsError(missing_message())
    return found


def default_target() -> Path:
    configured = os.environ.get("CASEFRAME_ASSETS_DIR")
    return Path(configured) if configured else PACKAGE_DIR


# -- installing --------------------------------------------------------------------------------------------


def download(url: str, timeout: float = 60) -> bytes:
    """The bytes at ``url`` (tests replace this; nothing else in Caseframe goes to the network)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a fixed https address)
        return response.read()


def check_integrity(package: Package, data: bytes) -> None:
    algorithm, _, expected = package.integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise AssetsError(
            f"{package.name} {package.version} from {package.tarball} does not match its pinned "
            f"checksum ({package.integrity}; got {algorithm}-{actual}): nothing was installed. "
            "Something between here and the npm registry changed it; try again, or from another network"
        )


def _kept(package: Package, inside: str) -> bool:
    return any(inside == k or (k.endswith("/") and inside.startswith(k)) for k in package.keep)


def _unpack(package: Package, data: bytes, into: Path) -> None:
    """Write the served files of one npm tarball under ``into/<name>``; nothing outside it, no links."""
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")  # noqa: SIM115 (in memory; read below)
    except (tarfile.TarError, OSError) as exc:
        raise AssetsError(
            f"{package.name} {package.version}: the download is not an npm package ({exc})"
        ) from None
    root = into / package.name
    with archive:
        for member in archive.getmembers():
            path = PurePosixPath(member.name)
            if not member.isfile() or len(path.parts) < 2 or ".." in path.parts or path.is_absolute():
                continue
            inside = "/".join(path.parts[1:])  # npm tarballs put everything under one folder, "package/"
            if not _kept(package, inside):
                continue
            target = root.joinpath(*path.parts[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())


def _copy_from_node_modules(package: Package, node_modules: Path, into: Path) -> None:
    source = node_modules / package.name
    for keep in package.keep:
        if keep.endswith("/"):
            shutil.copytree(source / keep, into / package.name / keep, dirs_exist_ok=True)
        elif (source / keep).is_file():
            (into / package.name / keep).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / keep, into / package.name / keep)


def install(target: Path | None = None, *, node_modules: Path | None = None, progress=lambda _: None) -> Path:
    """Put the served files of every pinned package in ``target`` (default: :func:`default_target`).

    From the npm registry, each tarball checked against its pinned checksum, or from an npm install's
    ``node_modules`` (already checked by npm) when given. Everything is fetched and checked before anything in
    ``target`` changes: a failure leaves it as it was.
    """
    target = Path(target) if target is not None else default_target()
    if node_modules is not None:
        wrong = problems(node_modules)
        if wrong:
            raise AssetsError(f"{node_modules} does not hold the pinned packages: {wrong[0]}; run npm ci")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".caseframe-assets-", dir=target.parent))
    except OSError as exc:
        raise AssetsError(f"cannot write to {target}: {exc.strerror or exc}") from None
    try:
        for package in PACKAGES:
            if node_modules is not None:
                _copy_from_node_modules(package, node_modules, staging)
                progress(f"{package.name} {package.version} copied from {node_modules}")
                continue
            try:
                data = download(package.tarball)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise AssetsError(
                    f"could not download {package.name} {package.version} from {package.tarball} "
                    f"({reason}): nothing was installed. Run this where the npm registry can be "
                    "reached (a proxy is taken from HTTPS_PROXY), or on a machine that can and copy "
                    "the folder over, setting CASEFRAME_ASSETS_DIR"
                ) from None
            check_integrity(package, data)
            _unpack(package, data, staging)
            progress(f"{package.name} {package.version} downloaded, checksum matches")
        wrong = problems(staging)
        if wrong:
            raise AssetsError(
                f"the packages did not hold what Caseframe serves: {wrong[0]}; nothing was installed"
            )
        (staging / MARKER).write_text(
            json.dumps({p.name: p.version for p in PACKAGES}, indent=2) + "\n", encoding="utf-8"
        )
        try:
            target.mkdir(parents=True, exist_ok=True)
            for entry in staging.iterdir():
                there = target / entry.name
                if there.is_dir():
                    shutil.rmtree(there)
                elif there.exists():
                    there.unlink()
                entry.rename(there)
        except OSError as exc:
            raise AssetsError(f"cannot write to {target}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
