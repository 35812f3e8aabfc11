"""Helpers for testing a Caseframe plugin: a database, a context, users, factories and the service calls.

The same helpers Caseframe's own tests use (they live in ``caseframe.core.testing``; import them from here)::

    from caseframe.testing import fresh_database, make_context, make_user

Every helper is described, with examples a test runs, in docs/testing.md. The fixtures built on them
(``database``, ``db``, ``ctx``, ``client``) come with the pytest plugin
:mod:`caseframe.testing.pytest_plugin`.
"""

from caseframe.core.testing import *  # noqa: F403 - this module is the public name of core.testing
from caseframe.core.testing import __all__ as _core_all

__all__ = list(_core_all)
