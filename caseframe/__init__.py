"""Caseframe: plugin-based case management for multi-agency community safety partnerships.

Plugins import what they need from :mod:`caseframe.api` (and, in their tests, :mod:`caseframe.testing`);
everything under ``core`` is the framework's inside and may change between releases.
"""
from core import __version__

__all__ = ["__version__"]
