"""``python -m segstudio`` → :func:`segstudio.cli.main`."""

from __future__ import annotations

import sys

from segstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
