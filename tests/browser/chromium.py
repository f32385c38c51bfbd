"""Where the system's Chromium is (Debian's `chromium`): Playwright drives it through `executable_path`,
since browsers cannot be downloaded here (`playwright install` is never run).

`python -m tests.browser.chromium` prints the path and exits 0, or exits 1 when there is none
(the Makefile's `test-browser` installs it then).
"""

from __future__ import annotations

import os
import shutil
import sys

# `make test-browser` sets this: there, a missing Chromium fails the browser tests instead of skipping them.
BROWSER_REQUIRED = os.environ.get("TUTORMAX_BROWSER_REQUIRED") == "1"
NO_CHROMIUM = ("no Chromium found (Debian's `chromium`, or TUTORMAX_CHROMIUM=path): "
               "`make test-browser` installs it as root and runs these tests")

# The real binary first: /usr/bin/chromium is Debian's wrapper script around it.
CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """TUTORMAX_CHROMIUM when set, else the first Chromium found; None when there is none."""
    chosen = os.environ.get("TUTORMAX_CHROMIUM")
    for candidate in (chosen,) if chosen else CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


if __name__ == "__main__":
    found = find_chromium()
    print(found or "no Chromium found")
    sys.exit(0 if found else 1)
