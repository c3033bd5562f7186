"""``python -m cls_core COMMAND ...``: the same command line as ``cls-explorer``."""

from __future__ import annotations

import sys

from cls_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
