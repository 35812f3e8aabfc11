"""The wheel carries the front-end assets, so a pip-installed Caseframe needs no npm when it runs.

setuptools runs this ``build_py`` (pyproject.toml's [tool.setuptools.cmdclass]) when it builds a wheel. Before
the package files are collected it fills core/web/static/vendor (git-ignored) with the files Caseframe serves:
copied from a checkout's node_modules when npm installed the pinned versions there (``./dev``, ``npm ci``),
else downloaded from the npm registry with their pinned checksums checked (core/assets.py, loaded by its file
path: Caseframe's own dependencies are not installed while it builds). Already there, nothing is done.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools.command.build_py import build_py as _build_py

ROOT = Path(__file__).resolve().parent


def _assets_module():
    spec = importlib.util.spec_from_file_location("_caseframe_assets", ROOT / "core" / "assets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def bundle_assets(log=print) -> Path:
    assets = _assets_module()
    target = ROOT / "core" / "web" / "static" / "vendor"
    if not assets.problems(target):
        return target
    node_modules = ROOT / "node_modules"
    source = node_modules if not assets.problems(node_modules) else None
    log(
        f"caseframe: bundling the front-end assets ({assets.describe()}) from "
        f"{source or 'the npm registry'} into {target}"
    )
    return assets.install(target, node_modules=source, progress=log)


class build_py(_build_py):
    def run(self):
        # an editable install (./dev) serves the checkout's node_modules, which npm fills after it
        if not getattr(self, "editable_mode", False):
            bundle_assets(lambda message: self.announce(message, level=2))
            # the folder exists only now: name it a package (of data files) so setuptools neither warns nor drops it
            vendor = "caseframe.core.web.static.vendor"
            if self.packages is not None and vendor not in self.packages:
                self.packages.append(vendor)
                self.package_dir.setdefault(vendor, str(Path("core", "web", "static", "vendor")))
        super().run()
