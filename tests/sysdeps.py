"""System packages some tests need (Debian): installed once per session when missing.

The map tests need ``chromium`` (headless browser) and a CJK font (``fonts-wqy-microhei``).
On a fresh machine where the tests run as root with apt-get (CI, a container), the first
test that needs them installs both in one apt-get call; elsewhere those tests skip with
the command that would install them, which pytest's ``-ra`` summary prints.
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["SYSTEM_PACKAGES", "ensure_system_packages"]

#: Debian packages the test suite uses: browser tests and CJK figure labels.
SYSTEM_PACKAGES = ("chromium", "fonts-wqy-microhei")
_TRIED = False


def ensure_system_packages() -> str:
    """Install :data:`SYSTEM_PACKAGES` with apt-get once if root; return why not ('' if tried)."""
    global _TRIED
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"not root with apt-get: install them with apt-get install {' '.join(SYSTEM_PACKAGES)}"
    if not _TRIED:
        _TRIED = True
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *SYSTEM_PACKAGES],
                       env=env, capture_output=True, timeout=900)
    return ""
