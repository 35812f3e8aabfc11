"""Caseframe core: persons, cases, agencies, users, referrals and panels; areas come from plugins."""
import os

import pluggy

# Piccolo finds its engine through this module; the URL in it can be rebound at run time.
os.environ.setdefault("PICCOLO_CONF", "core.db.piccolo_conf")

__version__ = "0.1.0"

PROJECT = "caseframe"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["hookimpl", "hookspec", "PROJECT", "__version__"]
