"""``python -m caseframe``: the ``caseframe`` command."""

import sys

from caseframe.core.cli import main

if __name__ == "__main__":
    sys.exit(main())
