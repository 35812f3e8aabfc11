"""Caseframe core: persons, cases, agencies, users, referrals and panels; areas come from plugins.

Installed as ``caseframe.core`` (this directory keeps its place in the source tree: caseframe/_packages.py).
"""

import os

if __name__ == "core":  # the old top-level name, imported from a source checkout: it is caseframe.core now
    import caseframe._packages

    caseframe._packages.become(__name__)

import pluggy

# Piccolo finds its engine through this module; the URL in it can be rebound at run time.
os.environ.setdefault("PICCOLO_CONF", "caseframe.core.db.piccolo_conf")

__version__ = "0.1.0"

PROJECT = "caseframe"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["hookimpl", "hookspec", "PROJECT", "__version__"]
