"""Caseframe: plugin-based case management for multi-agency community safety partnerships.

Plugins import what they need from :mod:`caseframe.api` (and, in their tests, :mod:`caseframe.testing`);
everything under ``caseframe.core`` is the framework's inside and may change between releases. The built-in
areas are ``caseframe.areas``.
"""

from caseframe import _packages

_packages.install()

from caseframe.core import __version__  # noqa: E402 - the finders above say where caseframe.core is

__all__ = ["__version__"]
