"""``python -m uvdock``."""

from __future__ import annotations

from uvdock.cli.main import main

if __name__ == "__main__":
    main()
